#!/usr/bin/env bash
# Static validation of docker/ (no Docker engine on the build machines): the compose file parses
# and wires the services together, every file it or the Dockerfile references exists, the image
# is built by the same scripts/build.sh invocation as the README's commands and from the packages
# of scripts/install-deps.sh, the runtime stage carries every shared library the built binary
# needs, and the dashboard and alert rules only use metric names the exporter registers.
set -euo pipefail
root="${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
binary="${DW_BINARY:-$root/build/driftwatch}"
python3 -c 'import yaml' 2>/dev/null || { echo "docker_static: python3-yaml missing" >&2; exit 1; }
[ -x "$binary" ] || { echo "docker_static: built binary $binary missing" >&2; exit 1; }

# Packages providing each shared library the binary loads (resolved on this Debian 12 machine).
libpkgs="$(ldd "$binary" | awk '/=>/ {print $3}' | while read -r lib; do
  real="$(readlink -f "$lib")"
  dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || echo "UNKNOWN: $lib"
done | cut -d: -f1 | sort -u)"

DW_ROOT="$root" DW_LIBPKGS="$libpkgs" python3 - <<'PY'
import json, os, re, shlex, subprocess, sys
import yaml

root = os.environ["DW_ROOT"]
docker = os.path.join(root, "docker")
problems = []

def check(cond, msg):
    if not cond:
        problems.append(msg)

def load_yaml(rel):
    path = os.path.join(root, rel)
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except Exception as e:  # a parse error is a finding, reported with the rest
        problems.append(f"{rel}: does not parse: {e}")
        return {}

# --- compose ----------------------------------------------------------------------------------
compose = load_yaml("docker/compose.yml")
services = compose.get("services", {})
for name in ["kafka", "driftwatch", "prometheus", "alertmanager", "grafana"]:
    check(name in services, f"compose: service {name} missing")
check("zookeeper" not in json.dumps(compose).lower(), "compose: Kafka must run in KRaft mode, without ZooKeeper")
kenv = services.get("kafka", {}).get("environment", {})
check("controller" in str(kenv.get("KAFKA_CFG_PROCESS_ROLES", "")), "compose: kafka is not a KRaft controller")
check("CONTROLLER_QUORUM_VOTERS" in " ".join(kenv), "compose: kafka has no KRaft quorum voters")
named_volumes = set((compose.get("volumes") or {}).keys())

mounts = {}  # (service, container path) -> host path
for sname, svc in services.items():
    for p in svc.get("ports", []):
        check(str(p).startswith("127.0.0.1:"), f"compose: {sname} publishes {p} beyond loopback")
    for v in svc.get("volumes", []):
        src, dst = v.split(":")[0], v.split(":")[1]
        if src.startswith("."):
            host = os.path.normpath(os.path.join(docker, src))
            check(os.path.exists(host), f"compose: {sname} mounts {src}, which does not exist")
            mounts[(sname, dst)] = host
        else:
            check(src in named_volumes, f"compose: {sname} uses undeclared volume {src}")
    for dep in (svc.get("depends_on") or []):
        check(dep in services, f"compose: {sname} depends on unknown service {dep}")
    for key, value in (svc.get("environment") or {}).items():
        check(not re.search(r"(?i)password|secret", key) or str(value).startswith("${"),
              f"compose: {sname} has a literal secret in {key}")

build = services.get("driftwatch", {}).get("build", {})
context = os.path.normpath(os.path.join(docker, build.get("context", ".")))
check(context == os.path.normpath(root), "compose: driftwatch must build from the repository root")
dockerfile_path = os.path.join(context, build.get("dockerfile", "Dockerfile"))
check(os.path.isfile(dockerfile_path), f"compose: Dockerfile {dockerfile_path} missing")

# --- Dockerfile -------------------------------------------------------------------------------
with open(os.path.join(docker, "Dockerfile")) as f:
    text = f.read()
logical = re.sub(r"\\\n", " ", text)
lines = [l.strip() for l in logical.splitlines() if l.strip() and not l.strip().startswith("#")]
froms = [l.split()[1] for l in lines if l.upper().startswith("FROM ")]
check(len(froms) >= 2, "Dockerfile: not multi-stage")
check(all(f == "debian:12-slim" for f in froms), f"Dockerfile: stages must be debian:12-slim, got {froms}")
users = [l.split()[1] for l in lines if l.upper().startswith("USER ")]
check(users and users[-1].split(":")[0] not in ("root", "0"), "Dockerfile: final user is root")
runs = [l[4:] for l in lines if l.upper().startswith("RUN ")]
check(any(re.search(r"(^|&& *)scripts/install-deps\.sh\b", r) for r in runs),
      "Dockerfile: dependencies are not installed with scripts/install-deps.sh")
for l in lines:
    if l.upper().startswith("COPY ") and "--from=" not in l:
        for src in shlex.split(l)[1:-1]:
            check(os.path.exists(os.path.join(root, src)), f"Dockerfile: COPY source {src} missing")

def build_invocations(s):
    # "scripts/build.sh DIR [cmake args...]" -> the cmake arguments after DIR.
    out = []
    for m in re.finditer(r'(?:\$root/|\./)?scripts/build\.sh\b([^\n&|;]*)', s):
        args = shlex.split(m.group(1).replace('"', ""))
        out.append(args[1:])
    return out

docker_builds = build_invocations("\n".join(runs))
check(len(docker_builds) == 1, f"Dockerfile: expected one scripts/build.sh call, found {len(docker_builds)}")
# The README builds with `scripts/quickstart.sh`, which calls scripts/build.sh.
with open(os.path.join(root, "README.md")) as f:
    readme = f.read()
check("scripts/quickstart.sh" in readme, "README: no scripts/quickstart.sh build command")
with open(os.path.join(root, "scripts/quickstart.sh")) as f:
    readme_builds = build_invocations(f.read())
check(len(readme_builds) >= 1, "scripts/quickstart.sh does not call scripts/build.sh")
if docker_builds and readme_builds:
    check(docker_builds[0] == readme_builds[0],
          f"Dockerfile builds with cmake args {docker_builds[0]}, the README's build with {readme_builds[0]}")
check(os.access(os.path.join(root, "scripts/build.sh"), os.X_OK), "scripts/build.sh not executable")

# Runtime packages: real Debian 12 packages, and together (with what they pull in and the base
# image) they provide every library the binary loads.
apt_lines = [r for r in runs if "apt-get install" in r]
check(len(apt_lines) == 1, "Dockerfile: expected one apt-get install in the runtime stage")
runtime = set()
if apt_lines:
    words = apt_lines[0].split("apt-get install", 1)[1].split("&&")[0].split()
    runtime = {w for w in words if not w.startswith("-")}

def depends(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Depends} ${Pre-Depends}", pkg],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return {re.split(r"[ (:]", d.strip())[0] for alt in r.stdout.split(",") for d in alt.split("|") if d.strip()}

closure, todo = set(), list(runtime)
for p in runtime:
    check(depends(p) is not None, f"Dockerfile: runtime package {p} is not a package of this Debian")
while todo:
    p = todo.pop()
    if p in closure:
        continue
    closure.add(p)
    todo.extend(depends(p) or [])
base = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g", "libbz2-1.0", "liblzma5", "libzstd1"}
# A sanitizer build of the test suite links the sanitizer runtimes; the image's build does not.
base |= {"libasan8", "libubsan1", "liblsan0", "libtsan2"}
for pkg in os.environ["DW_LIBPKGS"].split():
    check(pkg in closure or pkg in base,
          f"Dockerfile: the binary needs a library from {pkg}, which the runtime stage does not install")

# --- Prometheus, Alertmanager, Grafana --------------------------------------------------------
prom = load_yaml("docker/prometheus/prometheus.yml")
prom_mounts = {dst: src for (s, dst), src in mounts.items() if s == "prometheus"}
for rf in prom.get("rule_files", []):
    check(f"/etc/prometheus/{rf}" in prom_mounts, f"compose: rule file {rf} not mounted next to prometheus.yml")
targets = [t for sc in prom.get("scrape_configs", []) if sc.get("job_name") == "driftwatch"
           for s in sc.get("static_configs", []) for t in s.get("targets", [])]
dwconf = load_yaml("docker/driftwatch/driftwatch.yaml")
listen = dwconf.get("metrics", {}).get("listen", "")
check(bool(targets), "prometheus.yml: no driftwatch scrape job")
for t in targets:
    host, port = t.rsplit(":", 1)
    check(host in services, f"prometheus.yml: target host {host} is not a compose service")
    check(listen.endswith(":" + port), f"prometheus.yml scrapes port {port}, driftwatch listens on {listen}")
check(not listen.startswith("127.") and listen != "", "driftwatch.yaml: metrics must listen beyond loopback inside the container network")
for b in dwconf.get("kafka", {}).get("brokers", []):
    check(b.rsplit(":", 1)[0] in services, f"driftwatch.yaml: broker {b} is not a compose service")
for am in prom.get("alerting", {}).get("alertmanagers", []):
    for s in am.get("static_configs", []):
        for t in s.get("targets", []):
            check(t.rsplit(":", 1)[0] in services, f"prometheus.yml: alertmanager {t} is not a compose service")

am = load_yaml("docker/alertmanager/alertmanager.yml")
receivers = {r["name"] for r in am.get("receivers", [])}
def routes(r):
    yield r
    for c in r.get("routes", []) or []:
        yield from routes(c)
for r in routes(am.get("route", {})):
    if "receiver" in r:
        check(r["receiver"] in receivers, f"alertmanager.yml: route to unknown receiver {r['receiver']}")

ds = load_yaml("docker/grafana/provisioning/datasources/prometheus.yml")
for d in ds.get("datasources", []):
    host = re.sub(r"^https?://", "", d.get("url", "")).split(":")[0]
    check(host in services, f"grafana datasource url host {host} is not a compose service")
prov = load_yaml("docker/grafana/provisioning/dashboards/driftwatch.yml")
graf_mounts = {dst: src for (s, dst), src in mounts.items() if s == "grafana"}
for p in prov.get("providers", []):
    path = p.get("options", {}).get("path", "")
    check(path in graf_mounts, f"grafana provider path {path} is not a mounted directory")
    if path in graf_mounts:
        dashboards = [f for f in os.listdir(graf_mounts[path]) if f.endswith(".json")]
        check(bool(dashboards), f"no dashboard JSON in {graf_mounts[path]}")

# Metric names used by the dashboard and the alerts exist in the exporter.
with open(os.path.join(root, "exporters/metrics.cc")) as f:
    registered = set(re.findall(r'\.Name\("(driftwatch_[a-z_]+)"\)', f.read()))
check(len(registered) >= 12, f"exporters/metrics.cc registers only {sorted(registered)}")
with open(os.path.join(root, "exporters/README.md")) as f:
    documented = f.read()
for name in registered:
    check(name in documented, f"exporters/README.md does not document {name}")
used_text = ""
for rel in ["docker/grafana/dashboards/driftwatch.json", "docker/prometheus/alerts.yml"]:
    with open(os.path.join(root, rel)) as f:
        used_text += f.read()
dash = json.load(open(os.path.join(root, "docker/grafana/dashboards/driftwatch.json")))
check(len([p for p in dash.get("panels", []) if p.get("type") != "row"]) >= 10, "dashboard has few panels")
used = set(re.findall(r"driftwatch_[a-z_]+", used_text))
for name in used:
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    check(name in registered or base in registered, f"{name} is used by docker/ but not exported")

with open(os.path.join(docker, "README.md")) as f:
    check("not started" in f.read().lower(), "docker/README.md must say the stack was not started here")

if problems:
    print("docker_static: %d problem(s):" % len(problems))
    for p in problems:
        print("  " + p)
    sys.exit(1)
print("docker_static: ok (%d services, %d metric names used, all exported)" % (len(services), len(used)))
PY
