#include "state/batch_context.h"

#include <cstdint>
#include <map>

namespace driftwatch {

bool BatchContext::GetResource(std::string_view key, std::string* document) {
  const std::string* current = nullptr;
  std::shared_ptr<const nlohmann::json> unused;
  if (!ReadResource(key, &current, &unused)) return false;
  *document = *current;
  return true;
}

bool BatchContext::ReadResource(std::string_view key, const std::string** document,
                                std::shared_ptr<const nlohmann::json>* parsed) {
  auto it = resources_.find(key);
  if (it != resources_.end()) {
    if (!it->second.exists) return false;
    *document = &it->second.document;
    *parsed = it->second.parsed;
    return true;
  }
  if (cache_ != nullptr) {
    if (const StateCache::Resource* r = cache_->FindResource(key)) {
      if (!r->exists) return false;
      *document = &r->document;
      *parsed = r->parsed;
      return true;
    }
  }
  Status s = store_->GetResource(key, &read_);
  const bool found = s.ok();
  if (!found && !s.IsNotFound()) {
    if (read_status_.ok()) read_status_ = s;
    return false;
  }
  if (cache_ != nullptr) {
    cache_->PutResource(key, StateCache::Resource{found, found ? read_ : std::string(), nullptr});
  }
  if (!found) return false;
  *document = &read_;
  parsed->reset();
  return true;
}

void BatchContext::PutResource(std::string key, std::string document) {
  resources_[std::move(key)] = ResourceSlot{true, std::move(document), nullptr};
}

void BatchContext::PutResource(std::string key, std::string document,
                               std::shared_ptr<const nlohmann::json> parsed) {
  resources_[std::move(key)] = ResourceSlot{true, std::move(document), std::move(parsed)};
}

std::shared_ptr<const nlohmann::json> BatchContext::ParsedResource(std::string_view key) const {
  auto it = resources_.find(key);
  if (it != resources_.end()) return it->second.exists ? it->second.parsed : nullptr;
  if (cache_ != nullptr) {
    if (const StateCache::Resource* r = cache_->FindResource(key)) {
      return r->exists ? r->parsed : nullptr;
    }
  }
  return nullptr;
}

void BatchContext::DeleteResource(std::string key) {
  resources_[std::move(key)] = ResourceSlot{false, {}, nullptr};
}

void BatchContext::AddHistory(HistoryEntry entry) { history_.push_back(std::move(entry)); }

void BatchContext::HistoryOf(std::string_view key, int64_t from_ms,
                             std::vector<HistoryEntry>* out) {
  out->clear();
  std::map<std::pair<int64_t, std::string>, HistoryEntry> merged;
  if (!key.empty()) {
    Status s = store_->ScanHistoryBackward(key, from_ms, [&](const HistoryEntry& e) {
      merged[{e.time_ms, e.event_id}] = e;
      return e.document_after.empty() && !(e.deleted && e.applied);
    });
    if (s.ok()) {
      s = store_->ScanHistoryRange(key, from_ms, INT64_MAX, [&](const HistoryEntry& e) {
        merged[{e.time_ms, e.event_id}] = e;
        return true;
      });
    }
    if (!s.ok() && read_status_.ok()) read_status_ = s;
  }
  // The batch's own entries come later and replace stored ones with the same time and event id,
  // as they will in the store.
  for (const HistoryEntry& e : history_) {
    if (e.resource_key == key) merged[{e.time_ms, e.event_id}] = e;
  }
  out->reserve(merged.size());
  for (auto& [unused, e] : merged) out->push_back(std::move(e));
}

bool BatchContext::SeenEvent(std::string_view event_id) {
  if (seen_.find(event_id) != seen_.end()) return true;
  bool seen = false;
  Status s = store_->HasSeenEvent(event_id, &seen);
  if (!s.ok()) {
    if (read_status_.ok()) read_status_ = s;
    return false;
  }
  return seen;
}

void BatchContext::MarkSeen(std::string event_id, int64_t time_ms) {
  if (seen_.insert(event_id).second) seen_new_.emplace_back(std::move(event_id), time_ms);
}

bool BatchContext::GetFinding(std::string_view finding_id, Finding* finding) {
  const Finding* current = nullptr;
  if (!PeekFinding(finding_id, &current)) return false;
  *finding = *current;
  return true;
}

bool BatchContext::PeekFinding(std::string_view finding_id, const Finding** finding) {
  auto it = findings_.find(finding_id);
  if (it != findings_.end()) {
    *finding = &it->second;
    return true;
  }
  if (cache_ != nullptr) {
    if (const StateCache::FindingEntry* f = cache_->FindFinding(finding_id)) {
      if (f->exists) *finding = &f->finding;
      return f->exists;
    }
  }
  Status s = store_->GetFinding(finding_id, &peeked_);
  const bool found = s.ok();
  if (!found && !s.IsNotFound()) {
    if (read_status_.ok()) read_status_ = s;
    return false;
  }
  if (cache_ != nullptr) {
    cache_->PutFinding(finding_id, StateCache::FindingEntry{found, found ? peeked_ : Finding()});
  }
  if (found) *finding = &peeked_;
  return found;
}

void BatchContext::PutFinding(const Finding& finding, bool status_changed) {
  auto [it, inserted] = findings_.insert_or_assign(finding.finding_id, finding);
  if (inserted) findings_order_.push_back(finding.finding_id);
  findings_untaken_.insert(finding.finding_id);
  if (status_changed) emitted_.push_back(finding);
}

void BatchContext::SetPosition(std::string source, int64_t next_offset) {
  positions_[std::move(source)] = next_offset;
}

size_t BatchContext::pending_writes() const {
  return resources_.size() + history_.size() + seen_new_.size() + findings_.size();
}

WriteSet BatchContext::TakeWrites() {
  WriteSet w;
  for (auto& [key, slot] : resources_) {
    if (slot.taken) continue;
    slot.taken = true;
    if (slot.exists) {
      w.put_resources.emplace_back(key, slot.document);
    } else {
      w.delete_resources.push_back(key);
    }
  }
  w.history.assign(history_.begin() + static_cast<std::ptrdiff_t>(history_taken_), history_.end());
  history_taken_ = history_.size();
  w.seen_event_ids.assign(seen_new_.begin() + static_cast<std::ptrdiff_t>(seen_taken_),
                          seen_new_.end());
  seen_taken_ = seen_new_.size();
  for (const std::string& id : findings_order_) {
    if (findings_untaken_.count(id) != 0) w.findings.push_back(findings_.at(id));
  }
  findings_untaken_.clear();
  for (auto& [source, offset] : positions_) w.positions.push_back({source, offset});
  positions_.clear();
  return w;
}

std::vector<Finding> BatchContext::TakeEmitted() {
  std::vector<Finding> out = std::move(emitted_);
  emitted_.clear();
  findings_.clear();
  findings_order_.clear();
  return out;
}

void BatchContext::Published() {
  if (cache_ == nullptr) return;
  for (auto& [key, slot] : resources_) {
    if (!slot.taken) continue;  // never written: the cache must not know it
    cache_->PutResource(key, slot.exists ? StateCache::Resource{true, std::move(slot.document),
                                                                std::move(slot.parsed)}
                                         : StateCache::Resource{});
  }
  resources_.clear();
  for (auto& [id, f] : findings_) {
    if (findings_untaken_.count(id) != 0) continue;
    cache_->PutFinding(id, StateCache::FindingEntry{true, f});
  }
}

}  // namespace driftwatch
