#!/usr/bin/env bash
# The first command (README): installs what is missing, builds, and runs the service on the
# embedded default — an in-process Kafka broker on loopback — fed with the bundled sample
# incident. Findings print as NDJSON as they open and resolve; metrics are served on
# http://127.0.0.1:9464/metrics. The service exits after DW_IDLE_SECONDS (default 20) without a
# new record; while it runs, produce more records with the kcat command it prints.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build" -DDW_TESTS=OFF
echo
echo "=== driftwatch run (embedded broker), fed config/samples/incident.ndjson"
exec "$root/build/driftwatch" run --config "$root/config/samples/policy.yaml" \
  --feed "$root/config/samples/incident.ndjson" --exit-when-idle "${DW_IDLE_SECONDS:-20}"
