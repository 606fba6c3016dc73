#pragma once
// What the store holds, kept in memory between batches by the pipeline, the store's only writer:
// resource documents (with their parsed form) and findings, present or known absent. Entries
// come from store reads and from batches after they are durable, so an entry always equals what
// the store would answer. Bounded by an estimate of the bytes held; least recently used go first.
// Single-threaded, like the pipeline that owns it.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vocab/finding.h"

namespace driftwatch {

class StateCache {
 public:
  explicit StateCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  struct Resource {
    bool exists = false;
    std::string document;
    std::shared_ptr<const nlohmann::json> parsed;  // may be null
  };
  // nullptr when the cache does not know the key.
  const Resource* FindResource(std::string_view key);
  void PutResource(std::string_view key, Resource resource);

  struct FindingEntry {
    bool exists = false;
    Finding finding;
  };
  const FindingEntry* FindFinding(std::string_view id);
  void PutFinding(std::string_view id, FindingEntry entry);

  void Clear();

  size_t bytes() const { return bytes_; }
  size_t entries() const { return lru_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  struct Entry {
    std::string key;  // 'r' or 'f', then the resource key or finding id
    size_t cost = 0;
    Resource resource;
    FindingEntry finding;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using List = std::list<Entry>;

  Entry* Find(std::string_view key);
  Entry* Find(char kind, std::string_view name);
  void Put(Entry entry);

  size_t max_bytes_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  List lru_;  // most recently used first
  std::unordered_map<std::string, List::iterator, Hash, std::equal_to<>> index_;
  std::string scratch_;
};

}  // namespace driftwatch
