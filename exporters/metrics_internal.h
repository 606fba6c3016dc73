#pragma once
// Inside exporters/ only: the probe's metric handles, shared by metrics.cc (the hooks) and
// metrics_server.cc (which exposes the registry).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "exporters/metrics.h"

namespace driftwatch {
namespace metrics_internal {

constexpr int kCategories = 6;
constexpr int kSeverities = 5;
constexpr int kKinds = 3;         // EventKind: api_call, config_item, compliance_change
constexpr int kFindingKinds = 2;  // FindingKind: posture, event

template <typename T>
using StringMap = std::map<std::string, T, std::less<>>;

}  // namespace metrics_internal

struct MetricsProbe::Impl {
  using Counter = prometheus::Counter;
  using Gauge = prometheus::Gauge;
  using Histogram = prometheus::Histogram;
  template <typename T>
  using Family = prometheus::Family<T>;
  template <typename T>
  using StringMap = metrics_internal::StringMap<T>;
  static constexpr int kCategories = metrics_internal::kCategories;
  static constexpr int kSeverities = metrics_internal::kSeverities;
  static constexpr int kKinds = metrics_internal::kKinds;
  static constexpr int kFindingKinds = metrics_internal::kFindingKinds;
  // Index of a finding's (category, severity, kind) in the open gauges of an account and,
  // times two, in findings_total.
  static constexpr int kFindingLabelSets = kCategories * kSeverities * kFindingKinds;

  explicit Impl(const MetricsProbeOptions& o);

  struct AccountSlot {
    std::string label;
    Gauge* last_event = nullptr;  // created on the account's first event, never at 0
    int64_t last_event_ms = 0;
    std::array<Gauge*, kFindingLabelSets> open{};  // created on first use
  };

  AccountSlot* SlotFor(std::string_view account);
  Gauge* OpenGauge(const Finding& f);
  void ResetOpen();
  void Open(const Finding& f, bool count_transition);

  MetricsProbeOptions options;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  Family<Counter>* events_family = nullptr;
  Family<Counter>* invalid_family = nullptr;
  Family<Gauge>* open_family = nullptr;
  Family<Gauge>* last_event_family = nullptr;
  Family<Gauge>* resources_family = nullptr;
  Family<Gauge>* kafka_lag_family = nullptr;

  // Pipeline-side state: one thread at a time (see the class comment).
  StringMap<std::array<Counter*, kKinds>> events_by_source;
  std::array<Counter*, kKinds> events_other{};
  StringMap<Counter*> invalid_by_reason;
  Counter* invalid_other = nullptr;
  Counter* duplicates = nullptr;
  Histogram* event_lag = nullptr;
  Histogram* batch_duration = nullptr;
  std::vector<int64_t> batch_event_times;
  std::array<Counter*, kFindingLabelSets * 2> findings_total{};  // [.. * 2 + resolved]
  StringMap<std::unique_ptr<AccountSlot>> accounts;
  std::unique_ptr<AccountSlot> other_account;
  std::unordered_map<std::string, Gauge*> open_by_id;

  // Side state: any thread, under side_mu.
  std::mutex side_mu;
  StringMap<Gauge*> resources_by_type;
  Gauge* resources_other = nullptr;
  std::map<std::pair<std::string, int32_t>, Gauge*, std::less<>> kafka_lag;
  Gauge* state_size = nullptr;
  Counter* changelog_produced = nullptr;
  Counter* changelog_restored = nullptr;
  int64_t changelog_produced_seen = 0;  // totals already counted
  int64_t changelog_restored_seen = 0;
  Counter* retention_history = nullptr;
  Counter* retention_activity = nullptr;
};

}  // namespace driftwatch
