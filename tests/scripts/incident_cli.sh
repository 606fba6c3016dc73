#!/usr/bin/env bash
# driftwatch incident / timeline end to end with the binary: replay the incident scenario into a
# state directory, then check the checklist names exactly what was left behind, the formats,
# the missing-index note and the usage errors.
set -euo pipefail
BIN=${DW_BINARY:?DW_BINARY must point at the driftwatch binary}
SRC=${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA="$SRC/tests/data/incident/scenario.ndjson"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN" replay --quiet --config "$SRC/config/samples/policy.yaml" --state "$TMP/s" "$DATA" >/dev/null
WIN=(--from 2026-11-02T00:00:00Z --to 2026-11-03T00:00:00Z)

"$BIN" incident --state "$TMP/s" --access-key AKIAEXAMPLELEAKED007 "${WIN[@]}" \
  --format checklist >"$TMP/check.txt"
cat >"$TMP/want.txt" <<'WANT'
- [ ] deactivate access key AKIAEXAMPLEBACKUP007 (user backup-svc)
- [ ] delete the login profile of user backup-svc
- [ ] detach arn:aws:iam::aws:policy/AdministratorAccess from user backup-svc
- [ ] delete 111122223333|ap-southeast-1|AWS::EC2::Instance|i-0miner0000000007 (created by RunInstances)
- [ ] delete 111122223333|global|AWS::IAM::User|backup-svc (created by CreateUser)
- [ ] delete 111122223333|us-east-1|AWS::EC2::SecurityGroup|sg-0attack000000001 (created by CreateSecurityGroup)
- [ ] delete 111122223333|us-east-1|AWS::S3::Bucket|exfil-drop-2026 (created by CreateBucket)
- [ ] revert 111122223333|global|AWS::IAM::Role|ops-admin (UpdateAssumeRolePolicy)
- [ ] revert 111122223333|us-east-1|AWS::S3::Bucket|acme-reports (DeleteBucketPublicAccessBlock)
WANT
diff -u "$TMP/want.txt" "$TMP/check.txt" || fail "checklist differs"

"$BIN" incident --state "$TMP/s" --access-key AKIAEXAMPLELEAKED007 "${WIN[@]}" >"$TMP/report.md"
grep -q 'Call index: complete' "$TMP/report.md" || fail "coverage line"
grep -q 'DeleteDetector | AccessDenied' "$TMP/report.md" || fail "failed call missing"
grep -q 'ASIAEXAMPLETEMP00001' "$TMP/report.md" || fail "assumed-role session not followed"
grep -q '^| AKIAEXAMPLEBACKUP007 | backup-svc | created ([^)]*), used | Active |$' "$TMP/report.md" \
  || fail "created key row"
grep -q '^| AKIAEXAMPLELEAKED007 | ci-build | used | Inactive |$' "$TMP/report.md" \
  || fail "used key row"
grep -q '^- user backup-svc: created at ' "$TMP/report.md" || fail "login profile row"

"$BIN" incident --state "$TMP/s" --session sync "${WIN[@]}" --format ndjson >"$TMP/r.ndjson"
python3 - "$TMP/r.ndjson" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
calls = [r for r in rows if r["kind"] == "call"]
assert len(calls) == 5, len(calls)
assert all(r["sessionName"] == "sync" for r in calls)
assert rows[0]["kind"] == "query" and rows[0]["coverage"] == "complete"
PY

# Keys and login profiles deleted or deactivated in the window: the scenario's own cleanup
# (user admin) deactivated the leaked key; the report of that principal says so, and the key is
# not in its checklist.
"$BIN" incident --state "$TMP/s" --principal arn:aws:iam::111122223333:user/admin \
  --from 2026-11-02T09:00:00Z --to 2026-11-03T00:00:00Z --format ndjson >"$TMP/admin.ndjson"
python3 - "$TMP/admin.ndjson" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = {r["accessKeyId"]: r for r in rows if r["kind"] == "access_key"}
k = keys["AKIAEXAMPLELEAKED007"]
assert k["deactivated"] and k["deactivatedEventId"] and not k["deleted"], k
assert k["statusNow"] == "Inactive", k
undo = [r["target"] for r in rows if r["kind"] == "undo"]
assert "AKIAEXAMPLELEAKED007" not in undo, undo
PY

# Same report twice (a fresh process, same state): byte for byte.
"$BIN" incident --state "$TMP/s" --access-key AKIAEXAMPLELEAKED007 "${WIN[@]}" | cmp - "$TMP/report.md"

# Without the index the report says so.
"$BIN" replay --quiet --no-activity --config "$SRC/config/samples/policy.yaml" --state "$TMP/n" \
  "$DATA" >/dev/null
"$BIN" incident --state "$TMP/n" --access-key AKIAEXAMPLELEAKED007 "${WIN[@]}" \
  | grep -q 'no activity index covers this window' || fail "missing-index note"

# Timeline: event-time order, filters.
"$BIN" timeline --state "$TMP/s" "${WIN[@]}" --resource sg-0attack000000001 >"$TMP/tl.txt"
# create, authorize, and the one finding that drift opened
[ "$(wc -l <"$TMP/tl.txt")" -eq 3 ] || fail "timeline for one group: $(cat "$TMP/tl.txt")"
head -1 "$TMP/tl.txt" | grep -q CreateSecurityGroup || fail "timeline order"
"$BIN" timeline --state "$TMP/s" "${WIN[@]}" --format ndjson | python3 -c '
import json, sys
t = [json.loads(l)["time"] for l in sys.stdin]
assert t and t == sorted(t), "not in time order"'

# Usage errors exit 2.
set +e
"$BIN" incident --state "$TMP/s" "${WIN[@]}" 2>/dev/null; [ $? -eq 2 ] || fail "no selector"
"$BIN" incident --state "$TMP/missing" --principal x 2>/dev/null; [ $? -eq 2 ] || fail "no state"
"$BIN" timeline --state "$TMP/s" --from nope --to x 2>/dev/null; [ $? -eq 2 ] || fail "bad time"
set -e
echo "incident_cli: ok"
