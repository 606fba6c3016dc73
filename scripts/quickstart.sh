#!/usr/bin/env bash
# The first command (README): installs what is missing, builds, and runs the main job on the
# embedded default — a replay of the bundled sample incident that prints its findings.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
echo
echo "=== driftwatch replay config/samples/incident.ndjson (policy: config/samples/policy.yaml)"
exec "$root/build/driftwatch" replay --config "$root/config/samples/policy.yaml" \
  "$root/config/samples/incident.ndjson"
