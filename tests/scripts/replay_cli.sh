#!/usr/bin/env bash
# `driftwatch replay` as a user runs it: inputs of every kind, output formats, stats, state kept or
# thrown away, and the errors for bad options and unreadable inputs.
set -euo pipefail
bin="${DW_BINARY:?DW_BINARY must name the driftwatch binary}"
src="${DW_SOURCE_DIR:?DW_SOURCE_DIR must name the source tree}"
incident="$src/config/samples/incident.ndjson"
policy="$src/config/samples/policy.yaml"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d$2)" "$1"; }

# NDJSON findings: every line a finding in the documented format.
"$bin" replay --quiet --format ndjson --config "$policy" --stats "$work/stats.json" "$incident" \
  > "$work/findings.ndjson"
python3 - "$work/findings.ndjson" <<'PY'
import json, sys
keys = {"finding_id", "rule_id", "title", "category", "severity", "status", "resource", "actor",
        "event_ids", "first_seen", "last_seen", "resolved_at", "evidence"}
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows, "no findings"
for r in rows:
    missing = keys - r.keys()
    assert not missing, f"missing {missing} in {r}"
    assert r["status"] in ("open", "resolved")
    assert r["category"] in ("identity", "network", "data-protection", "logging", "inventory",
                             "patching")
statuses = {(r["rule_id"], r["resource"]["id"], r["status"]) for r in rows}
assert ("network-sg-open-to-world", "sg-0badc0ffee1234567", "open") in statuses, statuses
assert ("network-sg-open-to-world", "sg-0badc0ffee1234567", "resolved") in statuses, statuses
PY
[ "$(json "$work/stats.json" "['records']")" = 19 ] || fail "stats records"
[ "$(json "$work/stats.json" "['events']")" = 19 ] || fail "stats events"
[ "$(json "$work/stats.json" "['invalid']")" = 0 ] || fail "stats invalid"
opened="$(json "$work/stats.json" "['findings_opened']")"
resolved="$(json "$work/stats.json" "['findings_resolved']")"
[ "$(wc -l < "$work/findings.ndjson")" -eq $((opened + resolved)) ] || fail "one line per change"

# stdin, gzip and a CloudTrail log file give the same findings as the NDJSON file.
"$bin" replay --quiet --format ndjson --config "$policy" - < "$incident" > "$work/stdin.ndjson"
cmp -s "$work/findings.ndjson" "$work/stdin.ndjson" || fail "stdin differs"
gzip -c "$incident" > "$work/incident.json.gz"
"$bin" replay --quiet --format ndjson --config "$policy" "$work/incident.json.gz" > "$work/gz.ndjson"
cmp -s "$work/findings.ndjson" "$work/gz.ndjson" || fail "gzip differs"
python3 - "$incident" "$work/log.json" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
json.dump({"Records": recs}, open(sys.argv[2], "w"), indent=2)
PY
"$bin" replay --quiet --format ndjson --config "$policy" "$work/log.json" > "$work/log.ndjson"
cmp -s "$work/findings.ndjson" "$work/log.ndjson" || fail "log file differs"

# Bad records are counted and dead-lettered; the good ones around them still count.
{ head -3 "$incident"; echo '{"truncated": '; echo 'not json at all'; tail -2 "$incident"; } \
  > "$work/mixed.ndjson"
"$bin" replay --quiet --format ndjson --dead-letter "$work/dlq.ndjson" --stats "$work/s2.json" \
  "$work/mixed.ndjson" > /dev/null
[ "$(json "$work/s2.json" "['invalid']")" = 2 ] || fail "invalid count"
[ "$(json "$work/s2.json" "['events']")" = 5 ] || fail "good events around bad ones"
[ "$(wc -l < "$work/dlq.ndjson")" = 2 ] || fail "dead letters"

# The default output is a table with a header.
"$bin" replay --quiet --config "$policy" "$incident" | head -1 | grep -q "STATUS" || fail "table"

# --state keeps the state; replaying the same file again into it changes nothing.
"$bin" replay --quiet --format ndjson --state "$work/state" "$incident" > /dev/null
[ -d "$work/state" ] || fail "state dir not kept"
"$bin" replay --quiet --format ndjson --state "$work/state" --stats "$work/s3.json" "$incident" \
  > "$work/again.ndjson"
[ ! -s "$work/again.ndjson" ] || fail "second replay into the same state emitted findings"

# Retention: the incident a year earlier, then again; with --state and 30/10 days kept, the
# earlier year's history and calls go, and a question about it exits 3 naming the horizon.
python3 - "$incident" "$work/year-ago.ndjson" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        r["eventTime"] = r["eventTime"].replace("2026-", "2025-", 1)
        r["eventID"] = "year-ago-" + r["eventID"]
        out.write(json.dumps(r) + "\n")
PY
"$bin" replay --format ndjson --state "$work/kept" --history-retention-days 30 \
  --activity-retention-days 10 "$work/year-ago.ndjson" "$incident" > /dev/null 2> "$work/ret.err"
grep -Eq "retention dropped [1-9][0-9]* history entr(y|ies) and [1-9][0-9]* call" "$work/ret.err" ||
  fail "replay retention dropped nothing: $(cat "$work/ret.err")"
set +e
err="$("$bin" state --state "$work/kept" --at 2025-11-02T12:00:00Z 2>&1 >/dev/null)"; code=$?
set -e
[ "$code" = 3 ] || fail "state --at before the horizon: exit $code"
printf '%s' "$err" | grep -q "before the history horizon 2026-10-03T00:00:00Z" ||
  fail "the horizon is not named: $err"
"$bin" state --state "$work/kept" --at 2026-11-02T23:59:59Z > /dev/null || fail "state --at after"
"$bin" history --state "$work/kept" --all > /dev/null 2> "$work/hist.err"
grep -q "were dropped by retention" "$work/hist.err" || fail "history does not say so"

# Errors: exit 2 and one line naming the culprit.
set +e
err="$("$bin" replay "$work/missing.json" 2>&1 >/dev/null)"; code=$?
set -e
[ "$code" = 2 ] || fail "missing input exit $code"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "missing input: more than one line: $err"
printf '%s' "$err" | grep -q "missing.json" || fail "missing input not named: $err"
set +e
err="$("$bin" replay --frobnicate "$incident" 2>&1 >/dev/null)"; code=$?
set -e
[ "$code" = 2 ] || fail "bad option exit $code"
printf '%s' "$err" | grep -q -- "--frobnicate" || fail "bad option not named: $err"
set +e
"$bin" replay --format xml "$incident" >/dev/null 2>&1; code=$?
set -e
[ "$code" = 2 ] || fail "bad format exit $code"
echo "replay_cli: ok"
