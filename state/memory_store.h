#pragma once
// In-memory StateStore with the same semantics as RocksDbStore (ordering, seen-id time to live,
// tombstone keys hidden from scans, all-or-nothing commits). For tests and for tools that do not
// need a state directory. Single writer; not thread-safe.

#include <cstdint>
#include <map>
#include <string>

#include "state/state_store.h"

namespace driftwatch {

class MemoryStore : public StateStore {
 public:
  // seen_ttl_days: how long (in event time, behind the newest committed event) an event id stays
  // seen; same default and meaning as RocksDbStoreOptions::seen_ttl_days.
  explicit MemoryStore(int seen_ttl_days = 14);

  Status GetResource(std::string_view key, std::string* document) override;
  Status HasSeenEvent(std::string_view event_id, bool* seen) override;
  Status GetFinding(std::string_view finding_id, Finding* finding) override;
  Status GetPosition(std::string_view source, int64_t* next_offset) override;
  Status Commit(const WriteSet& batch) override;
  Status ScanResources(
      const std::function<bool(std::string_view key, std::string_view document)>& fn) override;
  Status ScanHistory(std::string_view resource_key,
                     const std::function<bool(const HistoryEntry&)>& fn) override;
  Status ScanFindings(const std::function<bool(const Finding&)>& fn) override;
  Status ScanActivity(ActivityIndex index, std::string_view value, int64_t from_ms, int64_t to_ms,
                      const std::function<bool(const ActivityRecord&)>& fn) override;
  Status ScanActivityRuns(const std::function<bool(const ActivityRun&)>& fn) override;
  Status ScanActivityCalls(int64_t from_ms, int64_t before_ms,
                           const std::function<bool(const ActivityRecord&)>& fn) override;

  // Error injection: the next Commit fails with `message` and changes nothing.
  void FailNextCommit(std::string message) { fail_next_commit_ = std::move(message); }
  int64_t commits() const { return commits_; }

 private:
  int64_t ttl_ms_;
  int64_t watermark_ms_ = INT64_MIN;
  std::map<std::string, std::string, std::less<>> resources_;
  std::map<std::string, HistoryEntry, std::less<>> history_;  // by state_format::HistoryKey
  std::map<std::string, int64_t, std::less<>> seen_;
  std::map<std::string, Finding, std::less<>> findings_;
  std::map<std::string, int64_t, std::less<>> positions_;
  std::map<std::string, std::string, std::less<>> activity_;  // activity_format keys and values
  std::string fail_next_commit_;
  int64_t commits_ = 0;
};

}  // namespace driftwatch
