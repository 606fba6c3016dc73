#!/usr/bin/env bash
# The alert loop, for real: Debian's Prometheus and Alertmanager, run on loopback with the
# project's own docker/prometheus/prometheus.yml + alerts.yml and docker/alertmanager/
# alertmanager.yml (copies rewritten only where a test needs it: targets on loopback ports,
# scrape and evaluation every second, a short group_wait), scrape a running `driftwatch run` on
# its embedded broker. A CloudTrail StopLogging record for a trail pages: Alertmanager holds
# DriftwatchCriticalDriftOpen. StartLogging for the same trail undoes the drift: the page leaves
# Prometheus, and no critical page (drift or event) is left for the account. Meanwhile every
# query of the Grafana dashboard (each `expr` in docker/grafana/dashboards/driftwatch.json, its
# variables substituted) is evaluated against that Prometheus and must not fail.
#
# Needs the packages prometheus and prometheus-alertmanager (scripts/install-deps.sh), kcat and
# python3 with yaml; installs nothing. Every server listens on 127.0.0.1 only and is stopped on
# exit; every wait is bounded.
set -euo pipefail
root="${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${DW_BINARY:-$root/build/driftwatch}"
for tool in /usr/bin/prometheus /usr/bin/prometheus-alertmanager kcat python3; do
  command -v "$tool" >/dev/null ||
    { echo "alert_loop: $tool missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || { echo "alert_loop: python3-yaml missing" >&2; exit 1; }
[ -x "$bin" ] || { echo "alert_loop: driftwatch binary $bin missing" >&2; exit 1; }

account=111122223333
trail="arn:aws:cloudtrail:us-east-1:$account:trail/alert-loop"

work="$(mktemp -d)"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    # Bounded: a server that ignores SIGTERM for 10 s is killed.
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "alert_loop: FAIL: $*" >&2
  for f in driftwatch.err prometheus.log alertmanager.log; do
    echo "--- $f (last lines) ---" >&2
    tail -n 15 "$work/$f" >&2 2>/dev/null || true
  done
  echo "--- findings driftwatch reported ---" >&2
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    print("  %s kind=%s severity=%s status=%s resolution=%s" % (d.get("rule_id"), d.get("kind"),
          d.get("severity"), d.get("status"), d.get("resolution")))
' "$work/findings.ndjson" >&2 2>/dev/null || true
  exit 1
}

# GET (or query) an HTTP URL on loopback; prints the body. Exit 1 on any error.
http_get() {
  python3 - "$@" <<'PY'
import sys, urllib.parse, urllib.request
url = sys.argv[1]
if len(sys.argv) > 2:
    url += "?" + urllib.parse.urlencode([tuple(a.split("=", 1)) for a in sys.argv[2:]])
with urllib.request.urlopen(url, timeout=5) as r:
    sys.stdout.write(r.read().decode())
PY
}
free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# Waits are bounded twice: at most N turns and at most S seconds (bash's SECONDS).
# wait_ready URL NAME PID: up to 30 s for URL to answer 200.
wait_ready() {
  local deadline=$((SECONDS + 30))
  for _ in $(seq 1 150); do
    http_get "$1" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || fail "$2 exited at start"
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.2
  done
  fail "$2 not ready at $1 after 30 s"
}

# --- driftwatch run, embedded broker ----------------------------------------------------------
# --exit-when-idle bounds its life if this script is killed without its trap.
"$bin" run --config "$root/config/samples/policy.yaml" --state "$work/state" \
  --metrics-listen 127.0.0.1:0 --exit-when-idle 300 >"$work/findings.ndjson" 2>"$work/driftwatch.err" &
dw_pid=$!
pids+=("$dw_pid")
dw_port="" broker="" deadline=$((SECONDS + 30))
for _ in $(seq 1 150); do
  dw_port="$(sed -n 's/^metrics-port: \([0-9]*\)$/\1/p' "$work/driftwatch.err" | head -n1)"
  broker="$(sed -n 's/^embedded-broker: \(.*\)$/\1/p' "$work/driftwatch.err" | head -n1)"
  [ -n "$dw_port" ] && [ -n "$broker" ] && break
  kill -0 "$dw_pid" 2>/dev/null || fail "driftwatch run exited early"
  [ "$SECONDS" -lt "$deadline" ] || break
  sleep 0.2
done
[ -n "$dw_port" ] && [ -n "$broker" ] || fail "no metrics-port / embedded-broker line from driftwatch"
wait_ready "http://127.0.0.1:$dw_port/readyz" "driftwatch" "$dw_pid"

# --- the project's Prometheus and Alertmanager configs, rewritten for loopback ------------------
prom_port="$(free_port)"
am_port="$(free_port)"
while [ "$am_port" = "$prom_port" ]; do am_port="$(free_port)"; done
mkdir -p "$work/etc" "$work/prom-data" "$work/am-data"
cp "$root/docker/prometheus/alerts.yml" "$work/etc/alerts.yml"  # the rules as they are
DW_ROOT="$root" DW_ETC="$work/etc" DW_PORT="$dw_port" PROM_PORT="$prom_port" AM_PORT="$am_port" \
  python3 - <<'PY' || fail "cannot rewrite the docker/ configs (did their targets change?)"
import os, sys, yaml
root, etc = os.environ["DW_ROOT"], os.environ["DW_ETC"]
dw, prom, am = (os.environ[k] for k in ("DW_PORT", "PROM_PORT", "AM_PORT"))

with open(os.path.join(root, "docker/prometheus/prometheus.yml")) as f:
    p = yaml.safe_load(f)
p["global"]["scrape_interval"] = "1s"
p["global"]["evaluation_interval"] = "1s"
targets = {"driftwatch:9464": "127.0.0.1:" + dw, "localhost:9090": "127.0.0.1:" + prom}
for job in p["scrape_configs"]:
    for sc in job.get("static_configs", []):
        for i, t in enumerate(sc["targets"]):
            if t not in targets:
                sys.exit("prometheus.yml: unexpected target " + t)
            sc["targets"][i] = targets[t]
for a in p["alerting"]["alertmanagers"]:
    for sc in a["static_configs"]:
        if sc["targets"] != ["alertmanager:9093"]:
            sys.exit("prometheus.yml: unexpected alertmanager targets %s" % sc["targets"])
        sc["targets"] = ["127.0.0.1:" + am]
if p.get("rule_files") != ["alerts.yml"]:
    sys.exit("prometheus.yml: rule_files is not [alerts.yml]")
with open(os.path.join(etc, "prometheus.yml"), "w") as f:
    yaml.safe_dump(p, f, sort_keys=False)

with open(os.path.join(root, "docker/alertmanager/alertmanager.yml")) as f:
    a = yaml.safe_load(f)
a["route"]["group_wait"] = "1s"
a["route"]["group_interval"] = "1s"
with open(os.path.join(etc, "alertmanager.yml"), "w") as f:
    yaml.safe_dump(a, f, sort_keys=False)
PY

/usr/bin/prometheus-alertmanager --config.file="$work/etc/alertmanager.yml" \
  --storage.path="$work/am-data" --web.listen-address="127.0.0.1:$am_port" \
  --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
am_pid=$!
pids+=("$am_pid")
/usr/bin/prometheus --config.file="$work/etc/prometheus.yml" \
  --storage.tsdb.path="$work/prom-data" --web.listen-address="127.0.0.1:$prom_port" \
  >"$work/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
am="http://127.0.0.1:$am_port"
prom="http://127.0.0.1:$prom_port"
wait_ready "$am/-/ready" "alertmanager" "$am_pid"
wait_ready "$prom/-/ready" "prometheus" "$prom_pid"

# Prometheus scrapes driftwatch (up == 1) before anything is produced.
promql() { http_get "$prom/api/v1/query" "query=$1"; }
# scalar_of QUERY: the value of a one-sample instant query, "none" when it returns nothing.
scalar_of() {
  promql "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
r = d["data"]["result"]
print("none" if not r else r[0]["value"][1])'
}
up="" deadline=$((SECONDS + 30))
for _ in $(seq 1 100); do
  up="$(scalar_of 'up{job="driftwatch"}' 2>/dev/null || true)"
  [ "$up" = 1 ] || [ "$SECONDS" -ge "$deadline" ] && break
  sleep 0.3
done
[ "$up" = 1 ] || fail "Prometheus does not scrape driftwatch (up=$up)"
echo "alert_loop: driftwatch :$dw_port, Prometheus :$prom_port, Alertmanager :$am_port, broker $broker"

# --- CloudTrail records, keyed by account, produced into the running broker ---------------------
produce() {  # produce EVENT_NAME USER: one record, event time now, a fresh eventID
  python3 - "$1" "$2" "$account" "$trail" >"$work/record.tsv" <<'PY'
import datetime, json, sys, uuid
name, user, account, trail = sys.argv[1:5]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
record = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEALERTLOOP",
                     "arn": "arn:aws:iam::%s:user/%s" % (account, user), "accountId": account,
                     "accessKeyId": "AKIAEXAMPLEALERTLOOP", "userName": user},
    "eventTime": now, "eventSource": "cloudtrail.amazonaws.com", "eventName": name,
    "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
    "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
    "requestParameters": {"name": trail}, "responseElements": None,
    "requestID": str(uuid.uuid4()), "eventID": str(uuid.uuid4()), "readOnly": False,
    "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
    "eventCategory": "Management",
    "resources": [{"type": "AWS::CloudTrail::Trail", "ARN": trail}],
}
print(account + "\t" + json.dumps(record, separators=(",", ":")))
PY
  kcat -P -b "$broker" -t cloudtrail -K $'\t' <"$work/record.tsv" || fail "kcat could not produce $1"
}

# active_alerts NAME: "state account category" lines of Prometheus's active alerts named NAME
# (pending and firing; resolved alerts are not listed).
active_alerts() {
  http_get "$prom/api/v1/alerts" | python3 -c 'import json, sys
for a in json.load(sys.stdin)["data"]["alerts"]:
    l = a["labels"]
    if l.get("alertname") == sys.argv[1]:
        print(a["state"], l.get("account", "-"), l.get("category", "-"))' "$1"
}
# am_alerts NAME: "account category" lines of the alerts Alertmanager holds (active) named NAME.
am_alerts() {
  http_get "$am/api/v2/alerts" "filter=alertname=\"$1\"" | python3 -c 'import json, sys
for a in json.load(sys.stdin):
    if a["status"]["state"] == "active":
        print(a["labels"].get("account", "-"), a["labels"].get("category", "-"))'
}

# 1. StopLogging: the trail is not logging, critical drift. Alertmanager holds the page.
produce StopLogging ci-deploy
# Up to 60 s: scrape 1 s, evaluate 1 s, Prometheus discovers its Alertmanager within ~5 s.
held="" deadline=$((SECONDS + 60))
for _ in $(seq 1 120); do
  held="$(am_alerts DriftwatchCriticalDriftOpen 2>/dev/null || true)"
  grep -qx "$account logging" <<<"$held" && break
  kill -0 "$dw_pid" 2>/dev/null || fail "driftwatch run exited"
  [ "$SECONDS" -lt "$deadline" ] || break
  sleep 0.5
done
if ! grep -qx "$account logging" <<<"$held"; then
  open_now="$(scalar_of 'sum(driftwatch_findings_open{severity="critical",kind="posture"})' || true)"
  fail "Alertmanager does not hold DriftwatchCriticalDriftOpen for $account/logging after" \
    "StopLogging (it holds: '$held'; critical posture findings open: $open_now)"
fi
echo "alert_loop: StopLogging pages: Alertmanager holds DriftwatchCriticalDriftOpen ($account, logging)"

# 2. Every dashboard query evaluates against this Prometheus (instant, and range for the
# panels Grafana draws over time), with Grafana's variables substituted; the account variable's
# own query (label_values) lists the account.
DW_ROOT="$root" PROM="$prom" ACCOUNT="$account" python3 - <<'PY' || fail "a dashboard query fails"
import json, os, re, sys, time, urllib.parse, urllib.request
prom = os.environ["PROM"]
dash = json.load(open(os.path.join(os.environ["DW_ROOT"], "docker/grafana/dashboards/driftwatch.json")))

def get(path, **params):
    url = prom + path + "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)

targets = []  # (panel title, target)
def walk(node, title):
    if isinstance(node, dict):
        title = node.get("title", title)
        if "expr" in node:
            targets.append((title, node))
        for v in node.values():
            walk(v, title)
    elif isinstance(node, list):
        for v in node:
            walk(v, title)
walk(dash.get("panels", []), "?")

# Grafana's variables: $account is "All" (its allValue), the interval variables a minute.
subs = {"$__rate_interval": "1m", "${__rate_interval}": "1m", "$__interval": "15s",
        "${__interval}": "15s", "$__range": "1h", "${__range}": "1h",
        "${account}": ".*", "$account": ".*"}
problems, with_data = [], 0
now = time.time()
for title, t in targets:
    expr = t["expr"]
    for k in sorted(subs, key=len, reverse=True):
        expr = expr.replace(k, subs[k])
    if "$" in expr:
        problems.append("%s: unsubstituted variable in %s" % (title, expr))
        continue
    r = get("/api/v1/query", query=expr)
    if r.get("status") != "success":
        problems.append("%s: %s: %s" % (title, expr, r.get("error")))
        continue
    with_data += bool(r["data"]["result"])
    if not t.get("instant"):
        r = get("/api/v1/query_range", query=expr, start=now - 120, end=now, step=5)
        if r.get("status") != "success":
            problems.append("%s (range): %s: %s" % (title, expr, r.get("error")))

# The account variable: label_values(driftwatch_findings_open, account).
for v in dash["templating"]["list"]:
    m = re.fullmatch(r"label_values\((\w+), *(\w+)\)", v.get("definition", ""))
    if v.get("type") == "query":
        if not m:
            problems.append("variable %s: query %r not checked" % (v["name"], v.get("definition")))
            continue
        r = get("/api/v1/label/%s/values" % m.group(2), **{"match[]": m.group(1)})
        if r.get("status") != "success":
            problems.append("variable %s: %s" % (v["name"], r.get("error")))
        elif os.environ["ACCOUNT"] not in r["data"]:
            problems.append("variable %s lists %s, not %s" % (v["name"], r["data"], os.environ["ACCOUNT"]))

if not targets:
    problems.append("no expr in the dashboard")
for p in problems:
    print("alert_loop: dashboard: " + p, file=sys.stderr)
if problems:
    sys.exit(1)
print("alert_loop: dashboard: %d queries evaluate (%d with data now)" % (len(targets), with_data))
PY

# 3. StartLogging for the same trail: the drift is undone. The page leaves Prometheus, and no
# critical page of either kind is left for the account (StopLogging opens one posture finding;
# an event finding about it would keep paging for a day after the trail logs again).
produce StartLogging ops
left_drift="" left_event="" deadline=$((SECONDS + 30))
for _ in $(seq 1 60); do
  left_drift="$(active_alerts DriftwatchCriticalDriftOpen 2>/dev/null |
    awk -v a="$account" '$2 == a && $3 == "logging"' || true)"
  left_event="$(active_alerts DriftwatchCriticalEventOpen 2>/dev/null | awk -v a="$account" '$2 == a' || true)"
  [ -z "$left_drift" ] && [ -z "$left_event" ] && break
  kill -0 "$dw_pid" 2>/dev/null || fail "driftwatch run exited"
  [ "$SECONDS" -lt "$deadline" ] || break
  sleep 0.5
done
[ -z "$left_drift" ] ||
  fail "DriftwatchCriticalDriftOpen still active in Prometheus after StartLogging ($left_drift)"
[ -z "$left_event" ] ||
  fail "after StartLogging the trail logs, but a critical event finding still pages" \
    "(DriftwatchCriticalEventOpen: $left_event)"
echo "alert_loop: StartLogging clears it: no critical page left in Prometheus for $account"

# Alertmanager gets the resolution too (Prometheus sends resolved alerts; Alertmanager stops
# listing an alert once its end time has passed).
held="x" deadline=$((SECONDS + 30))
for _ in $(seq 1 60); do
  held="$(am_alerts DriftwatchCriticalDriftOpen 2>/dev/null | grep -x "$account logging" || true)"
  [ -z "$held" ] || [ "$SECONDS" -ge "$deadline" ] && break
  sleep 0.5
done
[ -z "$held" ] || fail "Alertmanager still holds DriftwatchCriticalDriftOpen after it resolved"
echo "alert_loop: ok"
