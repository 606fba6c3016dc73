#!/usr/bin/env bash
# The /metrics of a running `driftwatch run` (embedded broker, the sample incident fed in) passes
# Prometheus's own linter, `promtool check metrics`, and carries every documented metric name;
# /healthz answers 200 and /readyz 200 once the broker is reachable.
set -euo pipefail
root="${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${DW_BINARY:-$root/build/driftwatch}"
incident="$root/config/samples/incident.ndjson"
command -v promtool >/dev/null || { echo "promtool missing: run scripts/install-deps.sh" >&2; exit 1; }

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "promtool_metrics: FAIL: $*" >&2
  tail -n 40 "$work/stderr" >&2 || true
  exit 1
}
get() {  # prints the HTTP status of GET $1, and the body into $work/body
  python3 - "$1" "$work/body" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
except OSError:
    code, body = 0, b""
open(sys.argv[2], "wb").write(body)
print(code)
PY
}

# The incident plus one record that is JSON but no AWS envelope: an invalid record.
cp "$incident" "$work/feed.ndjson"
echo '{"recipientAccountId":"111122223333","hello":"not an AWS event"}' >>"$work/feed.ndjson"

"$bin" run --config "$root/config/samples/policy.yaml" --feed "$work/feed.ndjson" \
  --metrics-listen 127.0.0.1:0 --exit-when-idle 60 >/dev/null 2>"$work/stderr" &
pid=$!
port=""
for _ in $(seq 1 150); do
  port="$(sed -n 's/^metrics-port: \([0-9]*\)$/\1/p' "$work/stderr" | head -n1)"
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || fail "driftwatch run exited early"
  sleep 0.2
done
[ -n "$port" ] || fail "no metrics-port line on stderr"
base="http://127.0.0.1:$port"

[ "$(get "$base/healthz")" = 200 ] || fail "/healthz not 200"
want=$(grep -c . "$incident")
ready=""
for _ in $(seq 1 150); do
  [ -z "$ready" ] && [ "$(get "$base/readyz")" = 200 ] && ready=1
  [ "$(get "$base/metrics")" = 200 ] || fail "/metrics not 200"
  events=$(awk '/^driftwatch_events_total/ {s += $2} END {print s + 0}' "$work/body")
  invalid=$(awk '/^driftwatch_invalid_records_total/ {s += $2} END {print s + 0}' "$work/body")
  [ -n "$ready" ] && [ "$events" = "$want" ] && [ "$invalid" = 1 ] && break
  sleep 0.2
done
[ -n "$ready" ] || fail "/readyz never 200"
[ "$events" = "$want" ] || fail "driftwatch_events_total sums to $events, fed $want"

promtool check metrics <"$work/body" || fail "promtool check metrics rejects /metrics"
for name in driftwatch_events_total driftwatch_invalid_records_total driftwatch_findings_total \
    driftwatch_findings_open driftwatch_event_lag_seconds \
    driftwatch_batch_duration_seconds driftwatch_kafka_consumer_lag \
    driftwatch_last_event_timestamp_seconds driftwatch_build_info driftwatch_state_size_bytes \
    driftwatch_duplicate_events_total driftwatch_changelog_records_total \
    driftwatch_retention_dropped_total; do
  grep -q "^# TYPE $name " "$work/body" || fail "$name missing from /metrics"
done
# driftwatch_resources appears with the first resource census (every 30 s in `driftwatch run`);
# the exporter's own test checks it.
[ "$(awk '/^driftwatch_invalid_records_total/ {s += $2} END {print s + 0}' "$work/body")" = 1 ] ||
  fail "the invalid record is not counted"

kill "$pid"
wait "$pid" || fail "driftwatch run did not exit 0 on SIGTERM"
pid=""
echo "promtool_metrics: ok ($events events, $(grep -c '^driftwatch_' "$work/body") series)"
