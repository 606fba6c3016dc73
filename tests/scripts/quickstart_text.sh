#!/usr/bin/env bash
# The quickstart speaks to people: scripts/quickstart.sh's own `driftwatch run` command (the
# embedded broker fed with the sample incident, `--print text`), run with the built binary and a
# short idle exit. Its stdout must be one readable line per finding status change — the same
# changes, in the same order, as `replay --format ndjson` reports — and end with a summary of
# what is still open, by category and kind, in which the owner's clean-up (StartLogging,
# RevokeSecurityGroupIngress, PutBucketPublicAccessBlock, DeleteBucketPolicy) has resolved what it
# undid. findings.format {stdout: text} in a config file prints the same; text for the file or
# Kafka sink is refused at start.
set -euo pipefail
bin="${DW_BINARY:?DW_BINARY must name the driftwatch binary}"
src="${DW_SOURCE_DIR:?DW_SOURCE_DIR must name the source tree}"
incident="$src/config/samples/incident.ndjson"
policy="$src/config/samples/policy.yaml"
work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in quickstart.out quickstart.err config.out config.err; do
    [ -f "$work/$f" ] && { echo "--- $f ---" >&2; cat "$work/$f" >&2; }
  done
  exit 1
}

# The same through the config file, in the background while the quickstart runs.
{ cat "$policy"; printf 'findings:\n  format: {stdout: text}\nmetrics:\n  listen: 127.0.0.1:0\n'; } \
  > "$work/text.yaml"
TMPDIR="$work" "$bin" run --config "$work/text.yaml" --feed "$incident" --exit-when-idle 3 \
  > "$work/config.out" 2> "$work/config.err" &
pid=$!

# The quickstart, as a user runs it, without installing or building (DW_QUICKSTART_BINARY); the
# metrics port is left to the system so that parallel tests do not collide on 9464.
set +e
DW_QUICKSTART_BINARY="$bin" DW_IDLE_SECONDS=3 TMPDIR="$work" \
  bash "$src/scripts/quickstart.sh" --metrics-listen 127.0.0.1:0 \
  > "$work/quickstart.out" 2> "$work/quickstart.err"
code=$?
set -e
[ "$code" = 0 ] || fail "quickstart exited $code"
set +e
wait "$pid"
code=$?
set -e
pid=""
[ "$code" = 0 ] || fail "run with findings.format {stdout: text} exited $code"

"$bin" replay --quiet --format ndjson --config "$policy" "$incident" > "$work/replay.ndjson"

python3 - "$work/quickstart.out" "$work/replay.ndjson" <<'PY' || fail "quickstart output"
import json, re, sys

out = open(sys.argv[1]).read().splitlines()
replay = [json.loads(l) for l in open(sys.argv[2])]

# The banner, then the header, then one line per status change, a blank line, the summary.
assert out[0] == "", out[:2]
assert out[1].startswith("=== driftwatch run (embedded broker)"), out[1]
header = out[2].split()
assert header == ["EVENT", "TIME", "STATUS", "SEVERITY", "KIND", "CATEGORY", "RULE", "RESOURCE",
                  "ACTOR"], out[2]
blank = out.index("", 3)
lines, summary = out[3:blank], out[blank + 1:]
assert not any(l.lstrip().startswith("{") for l in out), "JSON on stdout"

line_re = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) +"
    r"(?P<status>OPEN|RESOLVED \((?:state|expired|closed)\)) +"
    r"(?P<severity>critical|high|medium|low|info) +(?P<kind>posture|event) +"
    r"(?P<category>identity|network|data-protection|logging|inventory|patching) +"
    r"(?P<rule>[a-z0-9-]+) +(?P<type>[A-Za-z]+) (?P<id>\S+) +(?P<actor>\S+)"
    r"(?: +\((?P<detail>[^)]*)\))?$")
seen = []
for l in lines:
    m = line_re.match(l)
    assert m, f"not a finding line: {l!r}"
    seen.append(m.groupdict())

# Same status changes, same order, as the replay of the same file.
def short_type(t):
    return t.rsplit(":", 1)[-1]
want = [("OPEN" if r["status"] == "open" else f"RESOLVED ({r['resolution']})", r["rule_id"],
         short_type(r["resource"]["type"]), r["resource"]["id"], r["severity"], r["kind"],
         r["category"]) for r in replay]
got = [(s["status"], s["rule"], s["type"], s["id"], s["severity"], s["kind"], s["category"])
       for s in seen]
assert got == want, f"\n got {got}\nwant {want}"
times = {(r["rule_id"], r["status"]): (r["resolved_at"] or r["last_seen"]) for r in replay}
for s in seen:
    key = (s["rule"], "open" if s["status"] == "OPEN" else "resolved")
    assert times[key] == s["time"], (s, times[key])

# The leaked key's acts, with who did them, and the owner's clean-up, with what undid each.
opened = {s["rule"]: s for s in seen if s["status"] == "OPEN"}
assert opened["network-sg-open-to-world"]["actor"] == "user/ci-deploy", opened
assert opened["identity-root-activity"]["actor"] == "root", opened
undone = {s["rule"]: s["detail"] for s in seen if s["status"] != "OPEN"}
assert undone == {
    "logging-trail-not-logging": "undone by StartLogging",
    "network-sg-open-to-world": "undone by RevokeSecurityGroupIngress",
    "data-s3-public-access-block-removed": "undone by PutBucketPublicAccessBlock",
    "data-s3-bucket-public-by-policy": "undone by DeleteBucketPolicy",
}, undone
assert all(s["detail"] is None for s in seen if s["status"] == "OPEN")

# The summary: what is still open, by category and kind, agrees with the lines above.
still = {}
for r in replay:
    still[r["finding_id"]] = r
open_now = [r for r in still.values() if r["status"] == "open"]
posture = sum(r["kind"] == "posture" for r in open_now)
assert summary[0] == (f"still open: {len(open_now)} of {len(still)} finding(s) "
                      f"({posture} posture, {len(open_now) - posture} event), "
                      "by category and kind:"), summary[0]
groups = {}
for r in open_now:
    groups.setdefault((r["category"], r["kind"]), []).append(r["rule_id"])
rows = [l.split() for l in summary[1:] if l.startswith("  ")]
assert {(w[0], w[1]): int(w[2]) for w in rows} == {k: len(v) for k, v in groups.items()}, rows
for w in rows:
    listed = {x.rstrip(",") for x in w[3:]}
    assert listed == set(groups[(w[0], w[1])]), (w, groups)
# What the clean-up undid is no longer open: no network, logging or data-protection row.
assert {w[0] for w in rows} == {"identity", "inventory"}, rows
resolved = [l for l in summary if l.startswith("resolved: ")]
assert resolved == ["resolved: 4 (network 1, data-protection 2, logging 1); resolution: state 4"], \
    resolved
assert summary[-2] == "posture findings resolve when the state goes back", summary
assert "driftwatch findings close ID --reason TEXT" in summary[-1], summary
PY

# findings.format {stdout: text} prints exactly what --print text does (the banner aside).
tail -n +3 "$work/quickstart.out" | cmp -s - "$work/config.out" ||
  fail "findings.format {stdout: text} differs from --print text"
# The quickstart's log still goes to stderr, with the metrics port it picked.
grep -q "^metrics-port: [0-9]" "$work/quickstart.err" || fail "no metrics port on stderr"

# text is for people on stdout: refused for the file and Kafka sinks, before anything starts.
{ cat "$policy"; printf 'findings:\n  format: text\n'; } > "$work/bad.yaml"
set +e
"$bin" run --config "$work/bad.yaml" > /dev/null 2> "$work/bad.err"
code=$?
set -e
[ "$code" = 2 ] || fail "findings.format: text exit $code"
grep -q "findings.format: text is for people on stdout only: use format: {stdout: text}" \
  "$work/bad.err" || fail "findings.format: text not explained: $(cat "$work/bad.err")"
set +e
"$bin" run --print table > /dev/null 2> "$work/bad.err"
code=$?
set -e
[ "$code" = 2 ] || fail "--print table exit $code"
echo "quickstart_text: ok"
