#!/usr/bin/env bash
# End to end: a running `driftwatch run` (embedded broker) is scraped over HTTP while the sample
# incident streams in, in two parts. After the first part (the attack) the scrape counts its
# events and shows findings open; after the second (the owner's clean-up, produced with kcat
# into the running broker) it counts all events and the open-findings gauge is back down by
# exactly the findings driftwatch itself reported resolved on stdout. Every scrape passes
# `promtool check metrics`.
set -euo pipefail
root="${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${DW_BINARY:-$root/build/driftwatch}"
incident="$root/config/samples/incident.ndjson"
for tool in promtool kcat python3; do
  command -v "$tool" >/dev/null || { echo "metrics_e2e: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "metrics_e2e: FAIL: $*" >&2
  echo "--- driftwatch stderr ---" >&2
  tail -n 40 "$work/stderr" >&2 || true
  exit 1
}

total=$(grep -c . "$incident")
first=13  # lines 1-13: the attack; 14-19: a root login and the clean-up
head -n "$first" "$incident" >"$work/part1.ndjson"
tail -n +"$((first + 1))" "$incident" >"$work/part2.ndjson"

"$bin" run --config "$root/config/samples/policy.yaml" --state "$work/state" --feed "$work/part1.ndjson" \
  --metrics-listen 127.0.0.1:0 --exit-when-idle 60 >"$work/findings.ndjson" 2>"$work/stderr" &
pid=$!

port="" broker=""
for _ in $(seq 1 150); do
  port="$(sed -n 's/^metrics-port: \([0-9]*\)$/\1/p' "$work/stderr" | head -n1)"
  broker="$(sed -n 's/^embedded-broker: \(.*\)$/\1/p' "$work/stderr" | head -n1)"
  [ -n "$port" ] && [ -n "$broker" ] && break
  kill -0 "$pid" 2>/dev/null || fail "driftwatch run exited early"
  sleep 0.2
done
[ -n "$port" ] && [ -n "$broker" ] || fail "no metrics-port / embedded-broker line"

scrape() {
  python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:$port/metrics" >"$work/scrape.txt" 2>/dev/null
}
# Sum of every series of metric $1 whose labels contain all of $2 (e.g. 'status="opened"').
sum_of() {
  python3 - "$work/scrape.txt" "$1" "${2:-}" <<'PY'
import re, sys
text, name, want = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
total = 0.0
for line in text.splitlines():
    m = re.match(r'^([a-z_]+)(\{[^}]*\})? (\S+)$', line)
    if m and m.group(1) == name and all(w in (m.group(2) or "") for w in want.split(",") if w):
        total += float(m.group(3))
print(int(total) if total == int(total) else total)
PY
}
wait_events() {  # waits until driftwatch_events_total sums to $1
  for _ in $(seq 1 150); do
    if scrape && [ "$(sum_of driftwatch_events_total)" = "$1" ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || fail "driftwatch run exited while waiting for $1 events"
    sleep 0.2
  done
  fail "driftwatch_events_total never reached $1 (last: $(sum_of driftwatch_events_total))"
}
# Findings go to stdout after their batch is durable; metrics are updated just before.
count_findings() { grep -c "\"status\":\"$1\"" "$work/findings.ndjson" || true; }

# Per category, the open gauge equals what driftwatch reported on stdout: opened minus resolved.
check_by_category() {
  for c in identity network data-protection logging inventory patching; do
    local o r g
    o=$(grep -c "\"category\":\"$c\".*\"status\":\"open\"" "$work/findings.ndjson" || true)
    r=$(grep -c "\"category\":\"$c\".*\"status\":\"resolved\"" "$work/findings.ndjson" || true)
    g="$(sum_of driftwatch_findings_open "category=\"$c\"")"
    [ "$g" = "$((o - r))" ] || fail "$c: open gauge $g, stdout says $o opened - $r resolved"
  done
}

wait_events "$first"
promtool check metrics <"$work/scrape.txt" || fail "promtool rejects the scrape"
sleep 0.5  # the batch's findings reach stdout right after the metrics
scrape
opened1="$(sum_of driftwatch_findings_total 'status="opened"')"
open1="$(sum_of driftwatch_findings_open)"
[ "$(sum_of driftwatch_events_total 'kind="api_call"')" = "$first" ] || fail "api_call events != $first"
[ "$open1" -ge 1 ] || fail "no finding open after the attack"
[ "$open1" = "$opened1" ] || fail "open gauge $open1 != opened $opened1 with nothing resolved yet"
[ "$opened1" = "$(count_findings open)" ] || fail "opened $opened1 != $(count_findings open) open findings on stdout"
check_by_category
net_open1="$(sum_of driftwatch_findings_open 'category="network"')"
[ "$net_open1" -ge 1 ] || fail "no network finding open after the attack"
echo "metrics_e2e: after the attack: $first events, $open1 findings open ($net_open1 network)"

# The clean-up, into the running broker, keyed by account as producers should.
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.strip():
        d = json.loads(line)
        key = d.get("recipientAccountId") or d["userIdentity"]["accountId"]
        print(key + "\t" + line.strip())
' "$work/part2.ndjson" | kcat -P -b "$broker" -t cloudtrail -K $'\t' || fail "kcat could not produce"

wait_events "$total"
promtool check metrics <"$work/scrape.txt" || fail "promtool rejects the scrape"
sleep 0.5
scrape
resolved2="$(sum_of driftwatch_findings_total 'status="resolved"')"
opened2="$(sum_of driftwatch_findings_total 'status="opened"')"
open2="$(sum_of driftwatch_findings_open)"
[ "$resolved2" -ge 1 ] || fail "the clean-up resolved nothing"
[ "$open2" -lt "$open1" ] || [ "$opened2" -gt "$opened1" ] || fail "open gauge did not go down ($open1 -> $open2)"
[ "$open2" = "$((opened2 - resolved2))" ] || fail "open gauge $open2 != opened $opened2 - resolved $resolved2"
[ "$resolved2" = "$(count_findings resolved)" ] || fail "resolved $resolved2 != $(count_findings resolved) on stdout"
# The SSH-to-the-world state finding opened in part 1 and was resolved by the revoke in part 2.
[ "$(sum_of driftwatch_findings_open 'category="network"')" -lt "$net_open1" ] ||
  fail "network open gauge did not go down after the revoke ($net_open1 before)"
check_by_category
[ "$(sum_of driftwatch_last_event_timestamp_seconds 'account="111122223333"')" != "0" ] || fail "no last-event time"
echo "metrics_e2e: after the clean-up: $total events, opened $opened2, resolved $resolved2, open $open2"

kill "$pid"
wait "$pid" || fail "driftwatch run did not exit 0 on SIGTERM"
pid=""
echo "metrics_e2e: ok"
