#!/usr/bin/env bash
# Installs the Debian 12 packages driftwatch builds, tests and runs with. Idempotent: packages
# already installed are not fetched again. Needs root (apt-get).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev            # libFuzzer and the sanitizer runtimes
  libsimdjson-dev                     # JSON decoding (On-Demand)
  librdkafka-dev                      # Kafka consumer/producer and the mock cluster
  librocksdb-dev                      # resource state
  prometheus-cpp-dev libcivetweb-dev  # /metrics exposer
  libyaml-cpp-dev                     # config and rule files
  nlohmann-json3-dev                  # mutable JSON for resource documents and findings
  libre2-dev                          # non-backtracking regular expressions in rules
  zlib1g-dev                          # .json.gz inputs
  libjemalloc-dev                     # the allocator the binary links (DW_JEMALLOC)
  libgtest-dev libgmock-dev           # tests
  prometheus                          # promtool, for metric and alert-rule tests
  prometheus-alertmanager             # the alert-loop test (tests/scripts/alert_loop.sh)
  python3 python3-confluent-kafka     # the naive-consumer peer in the Kafka benchmark
  python3-jsonschema                  # validating OCSF output against ../shared/ocsf (tests)
  kcat                                # producing to the embedded broker by hand
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
