#!/usr/bin/env bash
# Findings in OCSF 1.8.0, validated against the OCSF JSON Schemas of the shared folder
# ($root/../shared/ocsf/schema, never copied here) with Debian's python3-jsonschema: every object
# the built-in pack emits on the sample incident, the incident scenario, the decoder's test
# inputs, every rule's samples (tests/data/rules) and the shared corpus (../shared/corpus), from
# `replay --format ocsf`, `findings --format ocsf` and a running `driftwatch run` writing OCSF to
# a file and to the Kafka findings topic (read back with kcat). tests/scripts/ocsf_validate.py
# says what is checked; doc/ocsf_mapping.md is the mapping. A missing schema folder fails.
set -euo pipefail
root="${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${DW_BINARY:-$root/build/driftwatch}"
shared="$root/../shared"
schema_dir="$shared/ocsf/schema"
corpus="${DW_CORPUS_DIR:-$shared/corpus}"
policy="$root/config/samples/policy.yaml"
incident="$root/config/samples/incident.ndjson"
py=/usr/bin/python3  # Debian's, with python3-jsonschema (scripts/install-deps.sh)
validate() { "$py" "$root/tests/scripts/ocsf_validate.py" "$schema_dir" "$@"; }

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "ocsf_schema: FAIL: $*" >&2; exit 1; }

for class in compliance_finding detection_finding; do
  [ -f "$schema_dir/$class.schema.json" ] || fail "OCSF schema $schema_dir/$class.schema.json \
not found: the shared folder beside the repository (../shared/ocsf, see its README.md) holds the \
OCSF 1.8.0 JSON Schemas this test validates against; they are not part of the repository"
done
[ -x "$py" ] && "$py" -c 'import jsonschema' 2>/dev/null ||
  fail "Debian's python3-jsonschema is not installed for $py (scripts/install-deps.sh installs it)"
command -v kcat >/dev/null || fail "kcat missing (scripts/install-deps.sh)"

# 1. The sample incident: one valid OCSF object per status change, the same changes as the
#    driftwatch format in the same order, and every class and activity driftwatch writes.
"$bin" replay --quiet --format ocsf --config "$policy" --stats "$work/stats.json" "$incident" \
  >"$work/incident.ocsf"
"$bin" replay --quiet --format ndjson --config "$policy" "$incident" >"$work/incident.ndjson"
validate --pair "$work/incident.ndjson" "$work/incident.ocsf" || fail "sample incident"
changes="$("$py" -c 'import json,sys; s=json.load(open(sys.argv[1]))
print(s["findings_opened"] + s["findings_resolved"])' "$work/stats.json")"
[ "$(wc -l <"$work/incident.ocsf")" -eq "$changes" ] || fail "not one object per status change"
for want in '"type_uid":200301' '"type_uid":200303' '"type_uid":200401'; do
  grep -q "$want" "$work/incident.ocsf" || fail "sample incident: no object with $want"
done

# 1b. Every resolution: the incident, then one posture and one event finding closed by hand
#     (CloseFinding control records) and a call two days later, by which the event findings left
#     open have expired. status_detail says state, closed and expired.
"$py" - "$work/incident.ndjson" "$incident" "$work/resolutions.ndjson" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    f = json.loads(line)
    last[f["finding_id"]] = f
open_ = [f for f in last.values() if f["status"] == "open"]
posture = next(f for f in open_ if f["kind"] == "posture")
event = next(f for f in open_ if f["kind"] == "event")
who = {"type": "driftwatch", "arn": "arn:aws:iam::111122223333:user/on-call"}
records = [line.rstrip("\n") for line in open(sys.argv[2])]
for n, f in enumerate((posture, event), 1):
    records.append(json.dumps({
        "eventVersion": "1.08", "eventSource": "driftwatch.control", "eventName": "CloseFinding",
        "eventID": f"close-{n}", "eventTime": f"2026-11-02T10:00:0{n}Z",
        "awsRegion": "us-east-1", "recipientAccountId": "111122223333", "userIdentity": who,
        "requestParameters": {"findingId": f["finding_id"], "reason": "accepted risk"}}))
records.append(json.dumps({
    "eventVersion": "1.08", "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
    "readOnly": True, "eventType": "AwsApiCall", "eventID": "two-days-later",
    "eventTime": "2026-11-05T10:00:00Z", "awsRegion": "us-east-1",
    "recipientAccountId": "111122223333", "sourceIPAddress": "192.0.2.1",
    "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/ops",
                     "accountId": "111122223333"}, "requestParameters": {}}))
open(sys.argv[3], "w").write("\n".join(records) + "\n")
PY
"$bin" replay --quiet --format ocsf --config "$policy" "$work/resolutions.ndjson" \
  >"$work/resolutions.ocsf"
"$bin" replay --quiet --format ndjson --config "$policy" "$work/resolutions.ndjson" \
  >"$work/resolutions.native"
validate --pair "$work/resolutions.native" "$work/resolutions.ocsf" || fail "resolutions"
for want in '"status_detail":"state"' '"status_detail":"closed"' '"status_detail":"expired"'; do
  grep -q "$want" "$work/resolutions.ocsf" || fail "resolutions: no object with $want"
done

# 2. `findings --format ocsf`: every finding kept in a state, as of its current status.
"$bin" replay --quiet --config "$policy" --state "$work/state" "$incident" >/dev/null
"$bin" findings --state "$work/state" --format ocsf >"$work/findings.ocsf"
"$bin" findings --state "$work/state" --format ndjson >"$work/findings.ndjson"
validate --pair "$work/findings.ndjson" "$work/findings.ocsf" || fail "findings --format ocsf"
[ -s "$work/findings.ocsf" ] || fail "findings --format ocsf printed nothing"

# 3. The scenario tests' inputs: the incident scenario and the decoder's envelopes.
"$bin" replay --quiet --format ocsf --config "$policy" "$root/tests/data/incident/scenario.ndjson" \
  >"$work/scenario.ocsf"
"$bin" replay --quiet --format ndjson --config "$policy" \
  "$root/tests/data/incident/scenario.ndjson" >"$work/scenario.ndjson"
validate --pair "$work/scenario.ndjson" "$work/scenario.ocsf" || fail "incident scenario"
"$bin" replay --quiet --format ocsf --config "$policy" "$root"/tests/data/decoder/*.json \
  >"$work/decoder.ocsf"
validate "$work/decoder.ocsf" || fail "decoder inputs"

# 4. Every rule's samples (tests/data/rules/<rule>.json, as tests/engine/pack_test.cc feeds them,
#    with its policy): per rule file the lifecycle, then the positives and negatives, one record a
#    batch into one fresh state. Each file's samples open a finding, each lifecycle closes its rule's.
mkdir -p "$work/rules"
cat >"$work/rules/policy.yaml" <<'YAML'
policy:
  approved_regions: [us-east-1, us-west-2]
  approved_resource_types: [AWS::EC2::SecurityGroup, AWS::EC2::Instance, AWS::EC2::NetworkAcl,
    AWS::EC2::RouteTable, AWS::S3::Bucket, AWS::IAM::User, AWS::IAM::Role,
    AWS::IAM::AccountPasswordPolicy, AWS::CloudTrail::Trail, AWS::KMS::Key, AWS::RDS::DBInstance,
    AWS::RDS::DBSnapshot, AWS::EC2::Snapshot, AWS::EC2::Image, AWS::EC2::EbsEncryptionByDefault,
    AWS::Config::ConfigurationRecorder]
  trusted_accounts: ["222233334444"]
  trusted_ami_owners: [amazon, self]
  trusted_amis: [ami-0a1b2c3d4e5f60718]
  public_ports: [80, 443]
  access_key_max_age_days: 90
  iam_admin_principals: ["arn:aws:iam::111122223333:role/iam-admin*"]
YAML
"$py" - "$root/tests/data/rules" "$work/rules" <<'PY'
import json, sys
from datetime import datetime, timezone
from pathlib import Path
ACCOUNT = "111122223333"
BASE_MS = 1717200000000  # 2024-06-01T00:00:00Z, as pack_test.cc

def make(r, n):
    t = datetime.fromtimestamp((BASE_MS + n * 60000) / 1000, timezone.utc)
    time = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if "config_item" in r:
        item = dict(r["config_item"])
        for k, v in [("configurationItemVersion", "1.3"), ("awsAccountId", ACCOUNT),
                     ("awsRegion", "us-east-1"), ("configurationItemCaptureTime", time),
                     ("configurationItemStatus", "OK"), ("configurationStateId", str(1000 + n)),
                     ("configuration", {}), ("supplementaryConfiguration", {}), ("tags", {}),
                     ("relationships", [])]:
            item.setdefault(k, v)
        return {"configurationItemDiff": None, "configurationItem": item,
                "notificationCreationTime": time,
                "messageType": "ConfigurationItemChangeNotification", "recordVersion": "1.3"}
    if "compliance" in r:
        c = r["compliance"]
        rule = c.get("configRuleName", "required-patches")
        q = {"configRuleName": rule, "resourceType": c["resourceType"],
             "resourceId": c["resourceId"]}
        return {"awsAccountId": ACCOUNT, "configRuleName": rule,
                "configRuleARN": "arn:aws:config:us-east-1:111122223333:config-rule/r",
                "resourceType": c["resourceType"], "resourceId": c["resourceId"],
                "awsRegion": "us-east-1",
                "newEvaluationResult": {
                    "evaluationResultIdentifier": {"evaluationResultQualifier": q,
                                                   "orderingTimestamp": time},
                    "complianceType": c["complianceType"], "resultRecordedTime": time,
                    "configRuleInvokedTime": time},
                "oldEvaluationResult": None, "notificationCreationTime": time,
                "messageType": "ComplianceChangeNotification", "recordVersion": "1.0"}
    r = dict(r)
    for k, v in [("eventVersion", "1.08"), ("eventTime", time), ("eventID", f"sample-{n}"),
                 ("awsRegion", "us-east-1"), ("recipientAccountId", ACCOUNT),
                 ("sourceIPAddress", "198.51.100.7"), ("userAgent", "aws-cli/2.15.0"),
                 ("eventType", "AwsApiCall"), ("requestParameters", {}),
                 ("userIdentity", {"type": "IAMUser", "principalId": "AIDAEXAMPLE",
                                   "arn": "arn:aws:iam::111122223333:user/alice",
                                   "accountId": ACCOUNT, "accessKeyId": "AKIAEXAMPLEALICE",
                                   "userName": "alice"})]:
        r.setdefault(k, v)
    return r

def records(sample):
    return sample["records"] if isinstance(sample, dict) and "records" in sample else [sample]

expect = {}
for path in sorted(Path(sys.argv[1]).glob("*.json")):
    s = json.loads(path.read_text())
    seq = []
    life = s.get("lifecycle")
    if life:
        seq += life.get("open", []) + life.get("resolve", [])
    for sample in s.get("positive", []) + s.get("negative", []):
        seq += records(sample)
    with open(Path(sys.argv[2]) / (path.stem + ".ndjson"), "w") as out:
        for n, r in enumerate(seq, 1):
            out.write(json.dumps(make(r, n)) + "\n")
    expect[path.stem] = {"create": bool(s.get("positive")), "close": bool(life)}
json.dump(expect, open(Path(sys.argv[2]) / "expect.json", "w"))
PY
for input in "$work"/rules/*.ndjson; do
  "$bin" replay --quiet --format ocsf --batch-size 1 --config "$work/rules/policy.yaml" "$input" \
    >"${input%.ndjson}.ocsf" || fail "replay of $(basename "$input")"
done
validate "$work"/rules/*.ocsf || fail "rule samples"
"$py" - "$work/rules" <<'PY' || fail "rule samples: a rule's finding is missing"
import json, sys
from pathlib import Path
d = Path(sys.argv[1])
expect = json.load(open(d / "expect.json"))
missing = []
for rule, want in expect.items():
    objs = [json.loads(l) for l in open(d / f"{rule}.ocsf")]
    # An event rule whose drift a posture rule stands for adds its event to that finding, so a
    # file's Create may be another rule's; a lifecycle closes the rule's own finding.
    if want["create"] and not any(o["activity_id"] == 1 for o in objs):
        missing.append(f"{rule}: its samples opened nothing")
    own = {o["activity_id"] for o in objs if o["finding_info"]["types"][0] == rule}
    if want["close"] and 3 not in own:
        missing.append(f"{rule}: its lifecycle did not close it")
if missing:
    sys.exit("\n".join(missing))
print(f"rule samples: {len(expect)} rule files, each opened a finding (and closed its own where "
      "it has a lifecycle)")
PY

# 5. The shared corpus: the streams and Config items as they are, the labelled cases' events.
if [ -d "$corpus" ]; then
  n=0
  for input in "$corpus"/streams/*.ndjson "$corpus"/config/*.ndjson; do
    [ -f "$input" ] || continue
    n=$((n + 1))
    "$bin" replay --quiet --format ocsf --config "$policy" "$input" >"$work/corpus-$n.ocsf" ||
      fail "replay of $input"
  done
  for input in "$corpus"/labelled/*.ndjson; do
    [ -f "$input" ] || continue
    n=$((n + 1))
    "$py" -c 'import json, sys
for line in open(sys.argv[1]):
    print(json.dumps(json.loads(line)["event"]))' "$input" >"$work/labelled-$n.ndjson"
    "$bin" replay --quiet --format ocsf --config "$policy" "$work/labelled-$n.ndjson" \
      >"$work/corpus-$n.ocsf" || fail "replay of $input's events"
  done
  [ "$n" -gt 0 ] || fail "no .ndjson under $corpus"
  validate "$work"/corpus-*.ocsf || fail "shared corpus"
  [ "$(cat "$work"/corpus-*.ocsf | wc -l)" -gt 0 ] || fail "the shared corpus gave no finding"
else
  echo "ocsf_schema: shared corpus not found at $corpus: that part skipped"
fi

# 6. The service: findings.format per sink. stdout stays in driftwatch's format; the file and the
#    Kafka findings topic (embedded broker, read back with kcat) carry OCSF.
cat >"$work/run.yaml" <<YAML
kafka:
  findings_topic: findings
state:
  path: $work/run-state
metrics:
  listen: 127.0.0.1:0
findings:
  path: $work/run.ocsf
  format: {stdout: driftwatch, file: ocsf, kafka: ocsf}
YAML
sed -n '/^policy:/,$p' "$policy" >>"$work/run.yaml"
"$bin" run --config "$work/run.yaml" --feed "$incident" --exit-when-idle 60 \
  >"$work/run.ndjson" 2>"$work/run.err" &
pid=$!
broker=""
for _ in $(seq 1 300); do
  broker="$(sed -n 's/^embedded-broker: \(.*\)$/\1/p' "$work/run.err" | head -n1)"
  [ -n "$broker" ] && [ "$(wc -l <"$work/run.ndjson")" -ge "$changes" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/run.err" >&2; fail "driftwatch run exited early"; }
  sleep 0.2
done
[ "$(wc -l <"$work/run.ndjson")" -eq "$changes" ] ||
  { tail -20 "$work/run.err" >&2; fail "run wrote $(wc -l <"$work/run.ndjson") of $changes changes"; }
# The topic is produced to asynchronously: wait for as many messages as stdout has lines.
timeout 60 kcat -C -b "$broker" -t findings -o beginning -q -c "$changes" -f '%k\t%s\n' \
  >"$work/kafka.tsv" 2>"$work/kcat.err" ||
  { cat "$work/kcat.err" >&2; fail "kcat read $(wc -l <"$work/kafka.tsv") of $changes messages"; }
kill "$pid"
wait "$pid" || fail "driftwatch run did not stop cleanly on SIGTERM"
pid=""
cut -f2- "$work/kafka.tsv" >"$work/kafka.ocsf"
validate --pair "$work/run.ndjson" "$work/run.ocsf" || fail "findings.path in OCSF"
validate "$work/kafka.ocsf" || fail "Kafka findings topic in OCSF"
"$py" - "$work/run.ndjson" "$work/kafka.tsv" <<'PY' || fail "Kafka findings topic"
import json, sys
native = sorted((json.loads(l)["finding_id"], json.loads(l)["status"]) for l in open(sys.argv[1]))
got = []
for line in open(sys.argv[2]):
    key, value = line.rstrip("\n").split("\t", 1)
    o = json.loads(value)
    assert key == o["finding_info"]["uid"], f"key {key} is not finding_info.uid"
    got.append((key, "open" if o["activity_id"] == 1 else "resolved"))
assert sorted(got) == native, f"topic {sorted(got)} != stdout {native}"
print(f"kafka: {len(got)} OCSF objects keyed by finding id, the status changes on stdout")
PY
echo "ocsf_schema: ok"
