#include "state/state_cache.h"

namespace driftwatch {
namespace {

// Rough bytes an entry holds: its strings, plus a parsed document at a few times its text (the
// tree's nodes, maps and strings), plus the bookkeeping of the list and index.
constexpr size_t kEntryOverhead = 160;

size_t FindingCost(const Finding& f) {
  size_t n = f.finding_id.size() + f.rule_id.size() + f.title.size() + f.evidence.size() +
             f.description.size() + f.resource.arn.size() + f.resource.id.size() +
             f.actor.arn.size() + sizeof(Finding);
  for (const std::string& id : f.event_ids) n += id.size() + 32;
  return n + f.event_times_ms.size() * sizeof(int64_t);
}

}  // namespace

StateCache::Entry* StateCache::Find(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  if (it->second != lru_.begin()) lru_.splice(lru_.begin(), lru_, it->second);
  return &*it->second;
}

void StateCache::Put(Entry entry) {
  if (entry.cost > max_bytes_) return;  // would evict everything else for one entry
  auto it = index_.find(std::string_view(entry.key));
  if (it != index_.end()) {
    bytes_ -= it->second->cost;
    bytes_ += entry.cost;
    *it->second = std::move(entry);
    if (it->second != lru_.begin()) lru_.splice(lru_.begin(), lru_, it->second);
  } else {
    bytes_ += entry.cost;
    lru_.push_front(std::move(entry));
    index_.emplace(lru_.front().key, lru_.begin());
  }
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    Entry& last = lru_.back();
    bytes_ -= last.cost;
    index_.erase(last.key);
    lru_.pop_back();
  }
}

StateCache::Entry* StateCache::Find(char kind, std::string_view name) {
  scratch_.assign(1, kind);
  scratch_.append(name);
  return Find(scratch_);
}

void StateCache::Clear() {
  index_.clear();
  lru_.clear();
  bytes_ = 0;
}

const StateCache::Resource* StateCache::FindResource(std::string_view key) {
  Entry* e = Find('r', key);
  return e == nullptr ? nullptr : &e->resource;
}

void StateCache::PutResource(std::string_view key, Resource resource) {
  Entry e;
  e.key.assign(1, 'r');
  e.key.append(key);
  e.cost = kEntryOverhead + e.key.size() * 2 + resource.document.size() +
           (resource.parsed ? resource.document.size() * 4 : 0);
  e.resource = std::move(resource);
  Put(std::move(e));
}

const StateCache::FindingEntry* StateCache::FindFinding(std::string_view id) {
  Entry* e = Find('f', id);
  return e == nullptr ? nullptr : &e->finding;
}

void StateCache::PutFinding(std::string_view id, FindingEntry entry) {
  Entry e;
  e.key.assign(1, 'f');
  e.key.append(id);
  e.cost = kEntryOverhead + e.key.size() * 2 + (entry.exists ? FindingCost(entry.finding) : 0);
  e.finding = std::move(entry);
  Put(std::move(e));
}

}  // namespace driftwatch
