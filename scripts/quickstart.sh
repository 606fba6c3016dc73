#!/usr/bin/env bash
# The first command (README): installs what is missing, builds, and runs the service on the
# embedded default — an in-process Kafka broker on loopback — fed with the bundled sample
# incident. Findings print as readable lines as they open and resolve (`--print text`), and at
# exit a summary of what is still open, by category and kind; metrics are served on
# http://127.0.0.1:9464/metrics. The service exits after DW_IDLE_SECONDS (default 20) without a
# new record; while it runs, produce more records with the kcat command it prints.
#
# Arguments are passed on to `driftwatch run` (e.g. --metrics-listen 127.0.0.1:0 when 9464 is
# taken, --print driftwatch for NDJSON). DW_QUICKSTART_BINARY=PATH skips installing and building
# and runs that binary (tests/scripts/quickstart_text.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${DW_QUICKSTART_BINARY:-}"
if [ -z "$bin" ]; then
  "$root/scripts/install-deps.sh"
  "$root/scripts/build.sh" "$root/build" -DDW_TESTS=OFF
  bin="$root/build/driftwatch"
fi
echo
echo "=== driftwatch run (embedded broker), fed config/samples/incident.ndjson"
exec "$bin" run --config "$root/config/samples/policy.yaml" --print text \
  --feed "$root/config/samples/incident.ndjson" --exit-when-idle "${DW_IDLE_SECONDS:-20}" "$@"
