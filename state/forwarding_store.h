#pragma once
// A StateStore that passes every call to another one: the base of stores that add something to
// one call (the changelog adds producing to Commit) and of test stores that inject failures.
// The wrapped store must outlive this one; threading is the wrapped store's.

#include "state/state_store.h"

namespace driftwatch {

class ForwardingStateStore : public StateStore {
 public:
  explicit ForwardingStateStore(StateStore* inner) : inner_(inner) {}

  Status GetResource(std::string_view key, std::string* document) override {
    return inner_->GetResource(key, document);
  }
  Status HasSeenEvent(std::string_view event_id, bool* seen) override {
    return inner_->HasSeenEvent(event_id, seen);
  }
  Status GetFinding(std::string_view finding_id, Finding* finding) override {
    return inner_->GetFinding(finding_id, finding);
  }
  Status GetPosition(std::string_view source, int64_t* next_offset) override {
    return inner_->GetPosition(source, next_offset);
  }
  Status Commit(const WriteSet& batch) override { return inner_->Commit(batch); }
  Status ScanResources(
      const std::function<bool(std::string_view, std::string_view)>& fn) override {
    return inner_->ScanResources(fn);
  }
  Status ScanHistory(std::string_view resource_key,
                     const std::function<bool(const HistoryEntry&)>& fn) override {
    return inner_->ScanHistory(resource_key, fn);
  }
  Status ScanHistoryBefore(std::string_view from_resource_key, int64_t before_ms,
                           const std::function<bool(const HistoryEntry&)>& fn) override {
    return inner_->ScanHistoryBefore(from_resource_key, before_ms, fn);
  }
  Status ScanHistoryRange(std::string_view resource_key, int64_t from_ms, int64_t to_ms,
                          const std::function<bool(const HistoryEntry&)>& fn) override {
    return inner_->ScanHistoryRange(resource_key, from_ms, to_ms, fn);
  }
  Status LastHistory(std::string_view resource_key, HistoryEntry* entry) override {
    return inner_->LastHistory(resource_key, entry);
  }
  Status ScanHistoryBackward(std::string_view resource_key, int64_t before_ms,
                             const std::function<bool(const HistoryEntry&)>& fn) override {
    return inner_->ScanHistoryBackward(resource_key, before_ms, fn);
  }
  Status ScanFindings(const std::function<bool(const Finding&)>& fn) override {
    return inner_->ScanFindings(fn);
  }
  Status ScanActivity(ActivityIndex index, std::string_view value, int64_t from_ms, int64_t to_ms,
                      const std::function<bool(const ActivityRecord&)>& fn) override {
    return inner_->ScanActivity(index, value, from_ms, to_ms, fn);
  }
  Status ScanActivityRuns(const std::function<bool(const ActivityRun&)>& fn) override {
    return inner_->ScanActivityRuns(fn);
  }
  Status ScanActivityCalls(int64_t from_ms, int64_t before_ms,
                           const std::function<bool(const ActivityRecord&)>& fn) override {
    return inner_->ScanActivityCalls(from_ms, before_ms, fn);
  }

 protected:
  StateStore* inner() const { return inner_; }

 private:
  StateStore* inner_;
};

}  // namespace driftwatch
