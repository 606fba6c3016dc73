#include "exporters/metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <filesystem>

#include "exporters/metrics_internal.h"
#include "vocab/resource_key.h"

namespace driftwatch {
namespace {

using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Histogram;

using metrics_internal::kCategories;
using metrics_internal::kFindingKinds;
using metrics_internal::kKinds;
using metrics_internal::kSeverities;
constexpr std::string_view kOther = "other";
constexpr std::string_view kUnknown = "unknown";

// Event-time lag: CloudTrail delivers within ~5 minutes typically and up to ~15; Config items can
// be later. Replays of old events land in +Inf.
const Histogram::BucketBoundaries& LagBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {1,   5,   15,   30,   60,   120,   300,
                                                       600, 900, 1800, 3600, 7200, 21600, 86400};
  return kBuckets;
}
const Histogram::BucketBoundaries& BatchBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

int KindIndex(EventKind kind) {
  const int i = static_cast<int>(kind);
  return (i >= 0 && i < kKinds) ? i : 0;
}
// A finding's label set (category, severity, kind) as an index into an account's open gauges;
// times two (plus one for resolved) into findings_total.
int LabelSetIndex(Category c, Severity s, FindingKind k) {
  return (static_cast<int>(c) * kSeverities + static_cast<int>(s)) * kFindingKinds +
         static_cast<int>(k);
}
int LabelSetIndex(const Finding& f) { return LabelSetIndex(f.category, f.severity, f.kind); }
bool ValidFindingEnums(const Finding& f) {
  return static_cast<int>(f.category) < kCategories && static_cast<int>(f.severity) < kSeverities &&
         static_cast<int>(f.kind) < kFindingKinds;
}

}  // namespace

Status ValidateMetricsProbeOptions(const MetricsProbeOptions& o) {
  std::string problems;
  auto check = [&](const char* name, size_t value, size_t max) {
    if (value < 1 || value > max) {
      if (!problems.empty()) problems += "; ";
      problems += std::string(name) + " must be in 1.." + std::to_string(max) + ", got " +
                  std::to_string(value);
    }
  };
  check("max_accounts", o.max_accounts, 100000);
  check("max_sources", o.max_sources, 10000);
  check("max_reasons", o.max_reasons, 1000);
  check("max_resource_types", o.max_resource_types, 10000);
  check("max_partitions", o.max_partitions, 100000);
  if (!problems.empty()) return Status::Error("metrics: " + problems);
  return Status::Ok();
}

MetricsProbe::Impl::Impl(const MetricsProbeOptions& o) : options(o) {
  auto& reg = *registry;
  events_family = &prometheus::BuildCounter()
                       .Name("driftwatch_events_total")
                       .Help(
                           "Events decoded, by AWS eventSource and kind (api_call, config_item, "
                           "compliance_change); duplicates included")
                       .Register(reg);
  invalid_family = &prometheus::BuildCounter()
                        .Name("driftwatch_invalid_records_total")
                        .Help("Input records that could not be decoded, by reason")
                        .Register(reg);
  duplicates = &prometheus::BuildCounter()
                    .Name("driftwatch_duplicate_events_total")
                    .Help("Events already seen (same eventID) and skipped")
                    .Register(reg)
                    .Add({});
  auto& findings_family = prometheus::BuildCounter()
                              .Name("driftwatch_findings_total")
                              .Help(
                                  "Finding status changes (status=opened or resolved), by "
                                  "category, severity and kind (posture, event)")
                              .Register(reg);
  for (int c = 0; c < kCategories; ++c) {
    for (int s = 0; s < kSeverities; ++s) {
      for (int k = 0; k < kFindingKinds; ++k) {
        const auto cat = static_cast<Category>(c);
        const auto sev = static_cast<Severity>(s);
        const auto kind = static_cast<FindingKind>(k);
        for (int r = 0; r < 2; ++r) {
          findings_total[LabelSetIndex(cat, sev, kind) * 2 + r] =
              &findings_family.Add({{"category", std::string(CategoryName(cat))},
                                    {"severity", std::string(SeverityName(sev))},
                                    {"kind", std::string(FindingKindName(kind))},
                                    {"status", r == 0 ? "opened" : "resolved"}});
        }
      }
    }
  }
  open_family = &prometheus::BuildGauge()
                     .Name("driftwatch_findings_open")
                     .Help(
                         "Findings open now, by category, severity, kind (posture: drift that "
                         "stands; event: an act, open until it expires or is closed) and account")
                     .Register(reg);
  resources_family = &prometheus::BuildGauge()
                          .Name("driftwatch_resources")
                          .Help("Resources in state, by AWS Config resource type")
                          .Register(reg);
  event_lag = &prometheus::BuildHistogram()
                   .Name("driftwatch_event_lag_seconds")
                   .Help("Wall-clock time when the event's batch was done minus the event time")
                   .Register(reg)
                   .Add({}, LagBuckets());
  batch_duration = &prometheus::BuildHistogram()
                        .Name("driftwatch_batch_duration_seconds")
                        .Help("Time to decode, apply, evaluate, commit and emit one input batch")
                        .Register(reg)
                        .Add({}, BatchBuckets());
  kafka_lag_family = &prometheus::BuildGauge()
                          .Name("driftwatch_kafka_consumer_lag")
                          .Help("Messages between the consumer position and the high watermark")
                          .Register(reg);
  last_event_family = &prometheus::BuildGauge()
                           .Name("driftwatch_last_event_timestamp_seconds")
                           .Help("Event time of the newest event seen per account, Unix seconds")
                           .Register(reg);
  state_size = &prometheus::BuildGauge()
                    .Name("driftwatch_state_size_bytes")
                    .Help("Bytes the state store (RocksDB) occupies on disk")
                    .Register(reg)
                    .Add({});
  auto& changelog = prometheus::BuildCounter()
                        .Name("driftwatch_changelog_records_total")
                        .Help("State records produced to the changelog topic, and read back "
                              "from it on assignment (kafka.changelog_topic)")
                        .Register(reg);
  changelog_produced = &changelog.Add({{"direction", "produced"}});
  changelog_restored = &changelog.Add({{"direction", "restored"}});
  auto& retention = prometheus::BuildCounter()
                        .Name("driftwatch_retention_dropped_total")
                        .Help("History entries and indexed calls dropped because they are older "
                              "than the retention horizon (state.*_retention_days)")
                        .Register(reg);
  retention_history = &retention.Add({{"family", "history"}});
  retention_activity = &retention.Add({{"family", "activity"}});
  prometheus::BuildGauge()
      .Name("driftwatch_build_info")
      .Help("Always 1; the version that is running")
      .Register(reg)
      .Add({{"version", o.version}})
      .Set(1);
}

MetricsProbe::Impl::AccountSlot* MetricsProbe::Impl::SlotFor(std::string_view account) {
  if (account.empty()) account = kUnknown;
  auto it = accounts.find(account);
  if (it != accounts.end()) return it->second.get();
  if (accounts.size() < options.max_accounts) {
    auto slot = std::make_unique<AccountSlot>();
    slot->label = std::string(account);
    AccountSlot* raw = slot.get();
    accounts.emplace(std::string(account), std::move(slot));
    return raw;
  }
  if (!other_account) {
    other_account = std::make_unique<AccountSlot>();
    other_account->label = std::string(kOther);
  }
  return other_account.get();
}

Gauge* MetricsProbe::Impl::OpenGauge(const Finding& f) {
  AccountSlot* slot = SlotFor(f.resource.account);
  Gauge*& g = slot->open[LabelSetIndex(f)];
  if (g == nullptr) {
    g = &open_family->Add({{"category", std::string(CategoryName(f.category))},
                           {"severity", std::string(SeverityName(f.severity))},
                           {"kind", std::string(FindingKindName(f.kind))},
                           {"account", slot->label}});
  }
  return g;
}

void MetricsProbe::Impl::ResetOpen() {
  auto zero = [](AccountSlot& slot) {
    for (Gauge* g : slot.open) {
      if (g != nullptr) g->Set(0);
    }
  };
  for (auto& [name, slot] : accounts) zero(*slot);
  if (other_account) zero(*other_account);
  open_by_id.clear();
}

void MetricsProbe::Impl::Open(const Finding& f, bool count_transition) {
  Gauge* g = OpenGauge(f);
  auto [it, inserted] = open_by_id.try_emplace(f.finding_id, g);
  if (!inserted) {
    if (it->second == g) return;  // already open under the same labels
    it->second->Decrement();      // severity, kind (or account) changed while open
    it->second = g;
    g->Increment();
    return;
  }
  g->Increment();
  if (count_transition) findings_total[LabelSetIndex(f) * 2]->Increment();
}

MetricsProbe::MetricsProbe(const MetricsProbeOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}

MetricsProbe::~MetricsProbe() = default;

void MetricsProbe::OnEventDecoded(const Event& event, std::string_view /*source*/) {
  Impl& m = *impl_;
  std::string_view source = event.event_source.empty() ? kUnknown : event.event_source;
  std::array<Counter*, kKinds>* counters;
  auto it = m.events_by_source.find(source);
  if (it != m.events_by_source.end()) {
    counters = &it->second;
  } else if (m.events_by_source.size() < m.options.max_sources) {
    counters = &m.events_by_source.emplace(std::string(source), std::array<Counter*, kKinds>{})
                    .first->second;
  } else {
    counters = &m.events_other;
    source = kOther;
  }
  Counter*& c = (*counters)[KindIndex(event.kind)];
  if (c == nullptr) {
    c = &m.events_family->Add(
        {{"source", std::string(source)}, {"kind", std::string(EventKindName(event.kind))}});
  }
  c->Increment();

  if (event.time_ms > 0) {
    m.batch_event_times.push_back(event.time_ms);
    Impl::AccountSlot* slot = m.SlotFor(event.account);
    if (slot->last_event == nullptr) {
      slot->last_event = &m.last_event_family->Add({{"account", slot->label}});
    }
    if (event.time_ms > slot->last_event_ms) {
      slot->last_event_ms = event.time_ms;
      slot->last_event->Set(static_cast<double>(event.time_ms) / 1000.0);
    }
  }
}

void MetricsProbe::OnInvalidRecord(std::string_view reason) {
  Impl& m = *impl_;
  if (reason.empty()) reason = kUnknown;
  auto it = m.invalid_by_reason.find(reason);
  Counter* c;
  if (it != m.invalid_by_reason.end()) {
    c = it->second;
  } else if (m.invalid_by_reason.size() < m.options.max_reasons) {
    c = &m.invalid_family->Add({{"reason", std::string(reason)}});
    m.invalid_by_reason.emplace(std::string(reason), c);
  } else {
    if (m.invalid_other == nullptr) {
      m.invalid_other = &m.invalid_family->Add({{"reason", std::string(kOther)}});
    }
    c = m.invalid_other;
  }
  c->Increment();
}

void MetricsProbe::OnDuplicateEvent() { impl_->duplicates->Increment(); }

void MetricsProbe::OnFindingChanged(const Finding& f, bool opened) {
  Impl& m = *impl_;
  if (!ValidFindingEnums(f)) return;
  if (opened) {
    m.Open(f, /*count_transition=*/true);
    return;
  }
  m.findings_total[LabelSetIndex(f) * 2 + 1]->Increment();
  auto it = m.open_by_id.find(f.finding_id);
  if (it == m.open_by_id.end()) return;
  it->second->Decrement();
  m.open_by_id.erase(it);
}

void MetricsProbe::OnBatchDone(double seconds, int64_t now_ms) {
  Impl& m = *impl_;
  m.batch_duration->Observe(seconds);
  for (int64_t t : m.batch_event_times) {
    m.event_lag->Observe(std::max<double>(0.0, static_cast<double>(now_ms - t) / 1000.0));
  }
  m.batch_event_times.clear();
}

void MetricsProbe::OnResourceCounts(const std::vector<std::pair<std::string, int64_t>>& counts) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.side_mu);
  for (auto& [type, g] : m.resources_by_type) g->Set(0);
  double other = 0;
  for (const auto& [type, n] : counts) {
    std::string_view label = type.empty() ? kUnknown : std::string_view(type);
    auto it = m.resources_by_type.find(label);
    if (it == m.resources_by_type.end()) {
      if (m.resources_by_type.size() >= m.options.max_resource_types) {
        other += static_cast<double>(n);
        continue;
      }
      it =
          m.resources_by_type
              .emplace(std::string(label), &m.resources_family->Add({{"type", std::string(label)}}))
              .first;
    }
    it->second->Increment(static_cast<double>(n));
  }
  if (other > 0 && m.resources_other == nullptr) {
    m.resources_other = &m.resources_family->Add({{"type", std::string(kOther)}});
  }
  if (m.resources_other != nullptr) m.resources_other->Set(other);
}

void MetricsProbe::OnKafkaLag(std::string_view topic, int32_t partition, int64_t lag) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.side_mu);
  auto key = std::make_pair(std::string(topic), partition);
  auto it = m.kafka_lag.find(key);
  if (it == m.kafka_lag.end()) {
    if (m.kafka_lag.size() >= m.options.max_partitions) return;
    Gauge* g =
        &m.kafka_lag_family->Add({{"topic", key.first}, {"partition", std::to_string(partition)}});
    it = m.kafka_lag.emplace(std::move(key), g).first;
  }
  it->second->Set(static_cast<double>(std::max<int64_t>(0, lag)));
}

void MetricsProbe::OnChangelog(int64_t produced_total, int64_t restored_total) {
  std::lock_guard<std::mutex> lock(impl_->side_mu);
  Impl& m = *impl_;
  if (produced_total > m.changelog_produced_seen) {
    m.changelog_produced->Increment(static_cast<double>(produced_total - m.changelog_produced_seen));
    m.changelog_produced_seen = produced_total;
  }
  if (restored_total > m.changelog_restored_seen) {
    m.changelog_restored->Increment(static_cast<double>(restored_total - m.changelog_restored_seen));
    m.changelog_restored_seen = restored_total;
  }
}

void MetricsProbe::OnRetention(int64_t history_dropped, int64_t activity_dropped) {
  std::lock_guard<std::mutex> lock(impl_->side_mu);
  if (history_dropped > 0) {
    impl_->retention_history->Increment(static_cast<double>(history_dropped));
  }
  if (activity_dropped > 0) {
    impl_->retention_activity->Increment(static_cast<double>(activity_dropped));
  }
}

void MetricsProbe::OnStateSize(int64_t bytes) {
  impl_->state_size->Set(static_cast<double>(std::max<int64_t>(0, bytes)));
}

void MetricsProbe::InitOpenFindings(const std::vector<Finding>& findings) {
  Impl& m = *impl_;
  m.ResetOpen();
  for (const Finding& f : findings) {
    if (f.status != FindingStatus::kOpen || !ValidFindingEnums(f)) continue;
    m.Open(f, /*count_transition=*/false);
  }
}

Status MetricsProbe::LoadFromStore(StateStore& store) {
  std::vector<Finding> open;
  Status s = store.ScanFindings([&](const Finding& f) {
    if (f.status == FindingStatus::kOpen) open.push_back(f);
    return true;
  });
  if (!s.ok()) return Status::Error("metrics: reading open findings: " + s.message());
  std::map<std::string, int64_t, std::less<>> by_type;
  s = store.ScanResources([&](std::string_view key, std::string_view /*document*/) {
    ResourceKeyParts parts;
    const std::string_view type = ParseResourceKey(key, &parts) ? parts.type : std::string_view();
    auto it = by_type.find(type);
    if (it == by_type.end()) it = by_type.emplace(std::string(type), 0).first;
    ++it->second;
    return true;
  });
  if (!s.ok()) return Status::Error("metrics: counting resources: " + s.message());
  InitOpenFindings(open);
  OnResourceCounts(std::vector<std::pair<std::string, int64_t>>(by_type.begin(), by_type.end()));
  return Status::Ok();
}

std::string MetricsProbe::Serialize() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

int64_t DirectorySizeBytes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int64_t total = 0;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return 0;
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    std::error_code fec;
    if (it->is_regular_file(fec)) {
      const auto size = it->file_size(fec);
      if (!fec) total += static_cast<int64_t>(size);
    }
  }
  return total;
}

}  // namespace driftwatch
