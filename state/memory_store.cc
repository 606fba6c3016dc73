#include "state/memory_store.h"

#include "state/activity_format.h"
#include "state/state_format.h"

namespace driftwatch {

namespace {
constexpr int64_t kDayMs = 24LL * 3600 * 1000;
}  // namespace

MemoryStore::MemoryStore(int seen_ttl_days) : ttl_ms_(seen_ttl_days * kDayMs) {}

Status MemoryStore::GetResource(std::string_view key, std::string* document) {
  auto it = resources_.find(key);
  if (it == resources_.end()) return Status::NotFound();
  *document = it->second;
  return Status::Ok();
}

Status MemoryStore::HasSeenEvent(std::string_view event_id, bool* seen) {
  auto it = seen_.find(event_id);
  *seen =
      it != seen_.end() && (watermark_ms_ == INT64_MIN || it->second >= watermark_ms_ - ttl_ms_);
  return Status::Ok();
}

Status MemoryStore::GetFinding(std::string_view finding_id, Finding* finding) {
  auto it = findings_.find(finding_id);
  if (it == findings_.end()) return Status::NotFound();
  *finding = it->second;
  return Status::Ok();
}

Status MemoryStore::GetPosition(std::string_view source, int64_t* next_offset) {
  auto it = positions_.find(source);
  if (it == positions_.end()) return Status::NotFound();
  *next_offset = it->second;
  return Status::Ok();
}

Status MemoryStore::Commit(const WriteSet& batch) {
  if (!fail_next_commit_.empty()) {
    std::string message = std::move(fail_next_commit_);
    fail_next_commit_.clear();
    return Status::Error(message);
  }
  for (const auto& [key, doc] : batch.put_resources) resources_[key] = doc;
  for (const std::string& key : batch.delete_resources) resources_.erase(key);
  for (const HistoryEntry& e : batch.history) {
    history_[state_format::HistoryKey(e.resource_key, e.time_ms, e.event_id)] = e;
  }
  for (const auto& [id, time_ms] : batch.seen_event_ids) {
    seen_[id] = time_ms;
    if (time_ms > watermark_ms_) watermark_ms_ = time_ms;
  }
  for (const Finding& f : batch.findings) findings_[f.finding_id] = f;
  for (const ActivityRecord& r : batch.activity) {
    activity_[activity_format::CallKey(r.time_ms, r.event_id)] = activity_format::EncodeCall(r);
    activity_format::IndexValue values[activity_format::kIndexCount];
    activity_format::IndexValues(r, values);
    for (const auto& v : values) {
      if (!v.value.empty()) {
        activity_[activity_format::EntryKey(v.index, v.value, r.time_ms, r.event_id)].clear();
      }
    }
  }
  for (const ActivityRun& run : batch.activity_runs) {
    activity_[activity_format::RunKey(run.run_id)] = activity_format::EncodeRun(run);
  }
  // Retention, after the puts (as RocksDbStore does).
  for (const HistoryRef& h : batch.delete_history) {
    history_.erase(state_format::HistoryKey(h.resource_key, h.time_ms, h.event_id));
  }
  for (const ActivityRef& ref : batch.delete_activity) {
    const std::string call_key = activity_format::CallKey(ref.time_ms, ref.event_id);
    auto call = activity_.find(call_key);
    ActivityRecord record;
    if (call == activity_.end() || !activity_format::DecodeCall(call_key, call->second, &record)) {
      continue;
    }
    activity_format::IndexValue values[activity_format::kIndexCount];
    activity_format::IndexValues(record, values);
    for (const auto& v : values) {
      if (!v.value.empty()) {
        activity_.erase(activity_format::EntryKey(v.index, v.value, ref.time_ms, ref.event_id));
      }
    }
    activity_.erase(call);
  }
  for (const SourcePosition& p : batch.positions) {
    positions_[p.source] = p.next_offset;
    if (p.source == kWatermarkPosition && p.next_offset > watermark_ms_) {
      watermark_ms_ = p.next_offset;
    }
  }
  // Same effect as the RocksDB compaction filter, done eagerly.
  if (watermark_ms_ != INT64_MIN) {
    for (auto it = seen_.begin(); it != seen_.end();) {
      it = it->second < watermark_ms_ - ttl_ms_ ? seen_.erase(it) : std::next(it);
    }
  }
  ++commits_;
  return Status::Ok();
}

Status MemoryStore::ScanResources(
    const std::function<bool(std::string_view key, std::string_view document)>& fn) {
  for (const auto& [key, doc] : resources_) {
    if (!key.empty() && key[0] == state_format::kInternalKeyPrefix) continue;
    if (!fn(key, doc)) break;
  }
  return Status::Ok();
}

Status MemoryStore::ScanHistory(std::string_view resource_key,
                                const std::function<bool(const HistoryEntry&)>& fn) {
  auto it = resource_key.empty() ? history_.begin()
                                 : history_.lower_bound(state_format::HistoryPrefix(resource_key));
  const std::string prefix =
      resource_key.empty() ? std::string() : state_format::HistoryPrefix(resource_key);
  for (; it != history_.end(); ++it) {
    if (!prefix.empty() && it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (!fn(it->second)) break;
  }
  return Status::Ok();
}

Status MemoryStore::ScanFindings(const std::function<bool(const Finding&)>& fn) {
  for (const auto& [id, f] : findings_) {
    if (!fn(f)) break;
  }
  return Status::Ok();
}

Status MemoryStore::ScanActivity(ActivityIndex index, std::string_view value, int64_t from_ms,
                                 int64_t to_ms,
                                 const std::function<bool(const ActivityRecord&)>& fn) {
  const std::string prefix = activity_format::EntryPrefix(index, value);
  ActivityRecord record;
  for (auto it = activity_.lower_bound(activity_format::EntrySeek(index, value, from_ms));
       it != activity_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    int64_t time_ms = 0;
    if (!activity_format::EntryTime(it->first, prefix.size(), &time_ms)) {
      return Status::Corruption("state: unreadable activity key");
    }
    if (time_ms > to_ms) break;
    const std::string call_key = activity_format::CallKeyOfEntry(it->first, prefix.size());
    auto call = activity_.find(call_key);
    if (call == activity_.end() ||
        !activity_format::DecodeCall(call_key, call->second, &record)) {
      return Status::Corruption("state: unreadable activity record");
    }
    if (!fn(record)) break;
  }
  return Status::Ok();
}

Status MemoryStore::ScanActivityRuns(const std::function<bool(const ActivityRun&)>& fn) {
  ActivityRun run;
  const std::string prefix(1, activity_format::kRunPrefix);
  for (auto it = activity_.lower_bound(prefix);
       it != activity_.end() && it->first.compare(0, 1, prefix) == 0; ++it) {
    if (!activity_format::DecodeRun(it->first, it->second, &run)) {
      return Status::Corruption("state: unreadable activity run");
    }
    if (!fn(run)) break;
  }
  return Status::Ok();
}

Status MemoryStore::ScanActivityCalls(int64_t from_ms, int64_t before_ms,
                                      const std::function<bool(const ActivityRecord&)>& fn) {
  const std::string end = activity_format::CallKey(before_ms, "");
  ActivityRecord record;
  for (auto it = activity_.lower_bound(activity_format::CallKey(from_ms, ""));
       it != activity_.end() && it->first < end; ++it) {
    if (!activity_format::DecodeCall(it->first, it->second, &record)) {
      return Status::Corruption("state: unreadable activity record");
    }
    if (!fn(record)) break;
  }
  return Status::Ok();
}

}  // namespace driftwatch
