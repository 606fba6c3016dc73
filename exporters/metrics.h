#pragma once
// Prometheus metrics for the pipeline: a PipelineProbe that owns its metric handles, and the HTTP
// server that exposes them (/metrics, /healthz, /readyz). prometheus-cpp and civetweb types stay
// inside exporters/. Metric names and labels are documented in exporters/README.md: dashboards
// and alert rules (docker/) are written against them, so they do not change.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/probe.h"
#include "state/state_store.h"
#include "vocab/event.h"
#include "vocab/finding.h"
#include "vocab/status.h"

namespace driftwatch {

// Label cardinality bounds. A value first seen after its label is full is exported under "other"
// (accounts, event sources, invalid-record reasons, resource types) or not at all (Kafka
// partitions: a lag summed over partitions would mislead). Bounds must be >= 1.
struct MetricsProbeOptions {
  std::string version = "unknown";  // driftwatch_build_info{version}
  size_t max_accounts = 200;        // default 200, bounds 1..100000
  size_t max_sources = 128;         // eventSource values; default 128, bounds 1..10000
  size_t max_reasons = 32;          // invalid-record reasons; default 32, bounds 1..1000
  size_t max_resource_types = 600;  // default 600 (AWS Config knows ~450), bounds 1..10000
  size_t max_partitions = 1024;     // Kafka topic-partitions; default 1024, bounds 1..100000
};

// Checks the bounds above; every problem in one message.
Status ValidateMetricsProbeOptions(const MetricsProbeOptions& options);

class MetricsServer;

// Threading: the per-record hooks (OnRecord, OnEventDecoded, OnInvalidRecord, OnDuplicateEvent,
// OnBatchDone) come from one pipeline thread, as Pipeline calls them. Every other hook and method
// may be called from any thread. Scrapes read the metrics concurrently from server threads.
// Hooks never throw and never allocate once their label value has been seen.
class MetricsProbe final : public PipelineProbe {
 public:
  explicit MetricsProbe(const MetricsProbeOptions& options = {});
  ~MetricsProbe() override;
  MetricsProbe(const MetricsProbe&) = delete;
  MetricsProbe& operator=(const MetricsProbe&) = delete;

  void OnEventDecoded(const Event& event, std::string_view source) override;
  void OnInvalidRecord(std::string_view reason) override;
  void OnDuplicateEvent() override;
  // Counts status changes only: an open finding emitted again moves between label sets if its
  // severity or kind changed and is not counted as opened twice; resolving a finding the probe
  // does not know as open counts as resolved but leaves the gauge alone (it never goes negative).
  // Both finding metrics carry the finding's kind (posture, event): alerts page on standing
  // drift and on acts separately, since only posture findings resolve when the state goes back.
  void OnFindingChanged(const Finding& finding, bool opened) override;
  // Observes the event-time lag (now_ms minus event time) of every event of the batch, so the lag
  // is measured when the batch's findings are out, and the batch duration.
  void OnBatchDone(double seconds, int64_t now_ms) override;
  void OnResourceCounts(const std::vector<std::pair<std::string, int64_t>>& counts) override;
  void OnKafkaLag(std::string_view topic, int32_t partition, int64_t lag) override;
  void OnStateSize(int64_t bytes) override;
  // driftwatch_changelog_records_total: the changelog's running totals (ChangelogStats), counted
  // by how much they grew since the last call.
  void OnChangelog(int64_t produced_total, int64_t restored_total);
  // driftwatch_retention_dropped_total: history entries and indexed calls one retention sweep
  // dropped (state/retention.h), added as they are.
  void OnRetention(int64_t history_dropped, int64_t activity_dropped);

  // Replaces the open-findings gauge with exactly these findings (those with status open), each
  // under its stored category, severity, kind and account, so a restarted service exports the
  // posture it stored. Call before the pipeline starts.
  void InitOpenFindings(const std::vector<Finding>& findings);
  // Reads the open findings and the resource census from `store` and initialises both gauges.
  // Reads only: call from the pipeline thread or before it starts (StateStore's threading rule).
  Status LoadFromStore(StateStore& store);

  // The metrics as Prometheus text exposition format (what /metrics serves).
  std::string Serialize() const;

 private:
  friend class MetricsServer;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Bytes under `dir` (recursive, regular files only); 0 when it cannot be read. For
// driftwatch_state_size_bytes: RocksDB's on-disk size is its directory's size.
int64_t DirectorySizeBytes(const std::string& dir);

struct MetricsServerOptions {
  // "host:port"; host an IPv4 address or a bracketed IPv6 address, port 0..65535 (0: any free
  // port, see port()). Default loopback only: exposing the metrics is an explicit choice.
  std::string listen = "127.0.0.1:9464";
  // Basic auth on /metrics when non-empty. The password is read from the environment variable
  // named below at Start (never from the config file, never logged); Start fails when the
  // variable is unset or empty. /healthz and /readyz stay open for orchestrator probes.
  std::string basic_auth_user;
  std::string basic_auth_password_env = "DRIFTWATCH_METRICS_PASSWORD";
  int threads = 2;  // default 2, bounds 1..16
};

// Serves GET /metrics (the probe's registry), /healthz (200 while the process runs) and /readyz
// (200 once SetReady(true), 503 before and after SetReady(false)). Stops on destruction; the
// probe must outlive the server.
class MetricsServer {
 public:
  static Status Start(const MetricsServerOptions& options, MetricsProbe* probe,
                      std::unique_ptr<MetricsServer>* out);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void SetReady(bool ready);
  int port() const;  // the port actually bound

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace driftwatch
