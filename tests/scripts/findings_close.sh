#!/usr/bin/env bash
# Closing findings by hand, as a user would: `driftwatch findings close ID --reason TEXT`.
#  1. On a stopped state directory (a replay's): the finding is resolved with resolution "closed",
#     who and why recorded; unknown and already resolved ids are refused with exit 2.
#  2. Against a running service on its embedded broker: the close goes through the input topic,
#     the service applies it once and emits the status change on its findings output, and a
#     replay of the topic reproduces it.
# Every wait is bounded; the service is stopped on exit.
set -euo pipefail
root="${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${DW_BINARY:-$root/build/driftwatch}"
[ -x "$bin" ] || { echo "findings_close: driftwatch binary $bin missing" >&2; exit 1; }
work="$(mktemp -d)"
svc=""
cleanup() {
  if [ -n "$svc" ]; then
    kill "$svc" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$svc" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$svc" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "findings_close: FAIL: $*" >&2
  tail -n 20 "$work/run.err" >&2 2>/dev/null || true
  exit 1
}
policy="$root/config/samples/policy.yaml"
sample="$root/config/samples/incident.ndjson"

# The id of the open root-activity finding in NDJSON findings on stdin.
root_finding() {
  python3 -c '
import json, sys
for line in sys.stdin:
    try:
        f = json.loads(line)
    except ValueError:
        continue
    if f.get("rule_id") == "identity-root-activity" and f.get("status") == "open":
        print(f["finding_id"]); break'
}
# Whether NDJSON on stdin has the finding closed by hand by $2 for reason $3.
closed_line() {
  python3 -c '
import json, sys
fid, by, reason = sys.argv[1:4]
n = 0
for line in sys.stdin:
    try:
        f = json.loads(line)
    except ValueError:
        continue
    if f.get("finding_id") == fid and f.get("status") == "resolved":
        d = f.get("resolution_detail") or {}
        assert f.get("resolution") == "closed", f
        assert d.get("by") == by and d.get("reason") == reason, d
        assert d.get("event_id", "").startswith("close-"), d
        n += 1
sys.exit(0 if n == 1 else 1)' "$@"
}

# --- 1. a stopped state directory ----------------------------------------------------------------
"$bin" replay --quiet --format ndjson --config "$policy" --state "$work/s" "$sample" >"$work/replay.ndjson"
id="$(root_finding <"$work/replay.ndjson")"
[ -n "$id" ] || fail "no open root-activity finding in the sample replay"
"$bin" findings close "$id" --state "$work/s" --by carol --reason "break-glass test" \
  >"$work/closed.ndjson" || fail "close on a stopped state"
closed_line "$id" carol "break-glass test" <"$work/closed.ndjson" || fail "close not emitted"
"$bin" findings --state "$work/s" --format ndjson | closed_line "$id" carol "break-glass test" ||
  fail "close not stored"
set +e
"$bin" findings close "$id" --state "$work/s" --reason again 2>"$work/err"; rc=$?
[ $rc -eq 2 ] && grep -q "already resolved" "$work/err" || fail "second close: rc $rc $(cat "$work/err")"
"$bin" findings close 0123456789abcdef --state "$work/s" --reason x 2>"$work/err"; rc=$?
[ $rc -eq 2 ] && grep -q "no finding '0123456789abcdef'" "$work/err" || fail "unknown id: rc $rc"
"$bin" findings close "$id" --state "$work/s" 2>/dev/null; rc=$?
[ $rc -eq 2 ] || fail "no --reason: rc $rc"
set -e

# --- 2. a running service ------------------------------------------------------------------------
"$bin" run --config "$policy" --state "$work/live" --metrics-listen "" --feed "$sample" \
  --exit-when-idle 120 >"$work/run.ndjson" 2>"$work/run.err" &
svc=$!
broker="" id="" deadline=$((SECONDS + 60))
for _ in $(seq 1 300); do
  broker="$(sed -n 's/^embedded-broker: \(.*\)$/\1/p' "$work/run.err" | head -n1)"
  id="$(root_finding <"$work/run.ndjson")"
  [ -n "$broker" ] && [ -n "$id" ] && break
  kill -0 "$svc" 2>/dev/null || fail "driftwatch run exited early"
  [ "$SECONDS" -lt "$deadline" ] || break
  sleep 0.2
done
[ -n "$broker" ] && [ -n "$id" ] || fail "the service did not open the root-activity finding"
"$bin" findings close "$id" --state "$work/live" --brokers "$broker" --by dana \
  --reason "owner's own login" >"$work/sent.txt" 2>"$work/close.err" ||
  fail "close through Kafka: $(cat "$work/close.err")"
grep -q "sent to cloudtrail" "$work/sent.txt" || fail "no confirmation: $(cat "$work/sent.txt")"
deadline=$((SECONDS + 60))
for _ in $(seq 1 300); do
  closed_line "$id" dana "owner's own login" <"$work/run.ndjson" 2>/dev/null && break
  [ "$SECONDS" -lt "$deadline" ] || break
  sleep 0.2
done
closed_line "$id" dana "owner's own login" <"$work/run.ndjson" ||
  fail "the service did not emit the close once"

# The topic holds the close: a replay of it reproduces it, into a state of its own.
"$bin" replay --quiet --format ndjson --config "$policy" --state "$work/r" \
  "kafka://$broker/cloudtrail?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z" \
  >"$work/topic.ndjson" 2>"$work/replay.err" || fail "replay of the topic: $(cat "$work/replay.err")"
closed_line "$id" dana "owner's own login" <"$work/topic.ndjson" ||
  fail "the replay of the topic does not close the finding"
echo "findings_close: closed on a stopped state and through a running service; replay agrees"
