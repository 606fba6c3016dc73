#!/usr/bin/env bash
# The alert rules are valid (`promtool check rules`) and behave as their unit tests say
# (`promtool test rules docker/prometheus/alerts_test.yml`); the Prometheus config that loads them
# is valid too (`promtool check config`).
set -euo pipefail
root="${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
command -v promtool >/dev/null || { echo "promtool missing: run scripts/install-deps.sh" >&2; exit 1; }

promtool check rules "$root/docker/prometheus/alerts.yml"
# promtool resolves rule_files relative to the test file.
promtool test rules "$root/docker/prometheus/alerts_test.yml"
# check config also checks the rule files it names (relative to the config file) exist and parse.
promtool check config "$root/docker/prometheus/prometheus.yml"
echo "promtool_rules: ok"
