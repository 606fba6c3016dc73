#!/usr/bin/env bash
# Crash safety of the state (issue 3): replay a generated stream into a state directory, kill the
# process with SIGKILL at several random moments, resume each time, and require the final
# resources and history to equal an uninterrupted run's, byte for byte in a canonical dump.
set -euo pipefail

BIN=${DW_BINARY:?DW_BINARY must name the driftwatch binary}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dw-crash-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RECORDS=${DW_CRASH_RECORDS:-30000}
KILLS=${DW_CRASH_KILLS:-5}

# The stream: CloudTrail records, ~80% read-only, writes on a few hundred resources, with
# duplicates and out-of-order delivery. Deterministic (seeded).
python3 - "$RECORDS" > "$WORK/stream.ndjson" <<'PY'
import json, random, sys
n = int(sys.argv[1]); rnd = random.Random(7)
base = 1717236000  # 2024-06-01T10:00:00Z
def rec(i, name, source, params, resp=None, t=None):
    t = base + i if t is None else t
    return {"eventVersion": "1.08", "eventTime": "%sZ" % __import__("datetime").datetime.utcfromtimestamp(t).isoformat(),
            "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/u%d" % (i % 7),
                             "accountId": "111122223333", "accessKeyId": "AKIA%d" % (i % 7), "userName": "u%d" % (i % 7)},
            "sourceIPAddress": "198.51.100.%d" % (i % 250), "requestParameters": params,
            "responseElements": resp, "eventID": "ev-%d" % i, "readOnly": name.startswith(("Describe", "Get", "List")),
            "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}
out = []
for i in range(n):
    r = rnd.random()
    if r < 0.8:
        out.append(rec(i, rnd.choice(["DescribeInstances", "GetBucketPolicy", "ListUsers"]), "ec2.amazonaws.com", {}))
        continue
    k = rnd.randrange(300)
    w = rnd.randrange(6)
    if w == 0:
        out.append(rec(i, rnd.choice(["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"]), "ec2.amazonaws.com",
                       {"groupId": "sg-%d" % k, "ipProtocol": "tcp", "fromPort": k % 50, "toPort": k % 50,
                        "cidrIp": rnd.choice(["0.0.0.0/0", "10.0.0.0/8"])}, {"_return": True}))
    elif w == 1:
        out.append(rec(i, rnd.choice(["StartLogging", "StopLogging"]), "cloudtrail.amazonaws.com", {"name": "trail-%d" % (k % 20)}))
    elif w == 2:
        out.append(rec(i, "CreateAccessKey", "iam.amazonaws.com", {"userName": "user-%d" % (k % 50)},
                       {"accessKey": {"accessKeyId": "AKIAK%d" % i, "status": "Active", "userName": "user-%d" % (k % 50),
                                      "createDate": "Jun 1, 2024 10:00:00 AM"}}))
    elif w == 3:
        out.append(rec(i, "PutBucketPolicy", "s3.amazonaws.com", {"bucketName": "b-%d" % k,
                       "bucketPolicy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Sid": str(i)}]}}))
    elif w == 4:
        out.append(rec(i, "RunInstances", "ec2.amazonaws.com", {"imageId": "ami-%d" % (k % 9)},
                       {"instancesSet": {"items": [{"instanceId": "i-%d" % i, "imageId": "ami-%d" % (k % 9)}]}}))
    else:
        # late (older) delivery of a change to a trail
        out.append(rec(i, "StartLogging", "cloudtrail.amazonaws.com", {"name": "trail-%d" % (k % 20)}, t=base + i - 600))
    if rnd.random() < 0.05:
        out.append(out[-1])  # duplicate delivery
for r in out:
    print(json.dumps(r, separators=(",", ":")))
PY

dump() {
  "$BIN" state --state "$1" --format ndjson > "$2"
  "$BIN" history --state "$1" --all --documents --format ndjson >> "$2"
}

replay() {
  "$BIN" replay --state "$1" --batch-size 100 --quiet --format ndjson "$WORK/stream.ndjson" > /dev/null
}

replay "$WORK/straight"
dump "$WORK/straight" "$WORK/straight.dump"

kills=0
for attempt in $(seq 1 "$KILLS"); do
  "$BIN" replay --state "$WORK/crashy" --batch-size 100 --quiet --format ndjson \
      "$WORK/stream.ndjson" > /dev/null 2>&1 &
  pid=$!
  sleep "0.$(( (RANDOM % 8) + 1 ))"
  if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2> /dev/null || true
done
replay "$WORK/crashy"
dump "$WORK/crashy" "$WORK/crashy.dump"

lines=$(wc -l < "$WORK/straight.dump")
if [ "$lines" -lt 1000 ]; then
  echo "FAIL: the uninterrupted run left only $lines lines of state and history" >&2
  exit 1
fi
if ! cmp -s "$WORK/straight.dump" "$WORK/crashy.dump"; then
  echo "FAIL: state after $kills SIGKILLs differs from the uninterrupted run" >&2
  diff "$WORK/straight.dump" "$WORK/crashy.dump" | head -20 >&2
  exit 1
fi
echo "ok: $kills SIGKILLs, state and history identical ($lines lines)"
