#pragma once
// Everything one input batch reads and writes. Reads see the batch's own writes first, then the
// store; writes collect into one WriteSet that the pipeline commits atomically. Findings whose
// status changed are collected for emission after the commit. Single-threaded.

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "state/state_cache.h"
#include "state/state_store.h"
#include "vocab/finding.h"
#include "vocab/status.h"

namespace driftwatch {

class BatchContext {
 public:
  // `cache` (optional) answers reads before the store and learns what the store answers; it
  // learns the batch's own writes only through Published, once they are durable.
  explicit BatchContext(StateStore* store, StateCache* cache = nullptr)
      : store_(store), cache_(cache) {}

  // Current document of a resource; false when it does not exist (or was deleted).
  bool GetResource(std::string_view key, std::string* document);
  // GetResource without the copy, with the parsed form when the batch or the cache has one
  // (else null): valid until the next call on this context.
  bool ReadResource(std::string_view key, const std::string** document,
                    std::shared_ptr<const nlohmann::json>* parsed);
  void PutResource(std::string key, std::string document);
  // PutResource with the document's parsed form alongside (what parsing `document` yields), so
  // that a later change in the same batch copies it instead of parsing the text again.
  void PutResource(std::string key, std::string document,
                   std::shared_ptr<const nlohmann::json> parsed);
  // The parsed form given with the resource's current document in this batch or kept by the
  // cache, else nullptr (documents read from the store, or put as text only).
  std::shared_ptr<const nlohmann::json> ParsedResource(std::string_view key) const;
  void DeleteResource(std::string key);
  void AddHistory(HistoryEntry entry);
  // The history of `key` from `from_ms` on, stored and of this batch, in (time, event id) order,
  // led by the stored entries just before from_ms back to the newest one that left a document
  // or deleted the resource (what a change at from_ms starts from); a batch entry replaces a
  // stored one with the same time and event id (AddHistory of such an entry rewrites it).
  void HistoryOf(std::string_view key, int64_t from_ms, std::vector<HistoryEntry>* out);

  bool SeenEvent(std::string_view event_id);
  void MarkSeen(std::string event_id, int64_t time_ms);

  bool GetFinding(std::string_view finding_id, Finding* finding);
  // GetFinding without the copy: the finding as this context reads it, valid until the next
  // call on this context. Most reads only ask whether a finding is open.
  bool PeekFinding(std::string_view finding_id, const Finding** finding);
  // Stores the finding. `status_changed` queues a copy for emission to the sinks: every change
  // of status is emitted once, in order, even when one batch opens and resolves a finding.
  void PutFinding(const Finding& finding, bool status_changed);

  void SetPosition(std::string source, int64_t next_offset);

  // Event-time watermark: the newest event time seen so far (never goes back).
  int64_t watermark_ms() const { return watermark_ms_; }
  void AdvanceWatermark(int64_t ms) {
    if (ms > watermark_ms_) watermark_ms_ = ms;
  }
  void set_watermark_ms(int64_t ms) { watermark_ms_ = ms; }

  // First store error met while reading; the pipeline refuses to commit a batch that has one.
  const Status& read_status() const { return read_status_; }

  // The writes made since the previous TakeWrites (all of them the first time): resources
  // last-write-wins per key, history and seen ids in order, findings changed, every position.
  // Reads keep seeing the batch's writes; a batch may be written in several such parts.
  WriteSet TakeWrites();
  std::vector<Finding> TakeEmitted();
  // Once everything taken is durable: hands the batch's documents and findings to the cache.
  // Call before TakeEmitted.
  void Published();
  size_t pending_writes() const;

 private:
  struct ResourceSlot {
    bool exists;
    std::string document;
    std::shared_ptr<const nlohmann::json> parsed;  // may be null
    bool taken = false;                            // already in a WriteSet from TakeWrites
  };
  // String-keyed maps looked up by string_view without making a string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  StateStore* store_;
  StateCache* cache_;
  Map<ResourceSlot> resources_;
  std::vector<HistoryEntry> history_;
  size_t history_taken_ = 0;
  std::unordered_set<std::string, Hash, std::equal_to<>> seen_;
  std::vector<std::pair<std::string, int64_t>> seen_new_;
  size_t seen_taken_ = 0;
  Map<Finding> findings_;
  std::vector<std::string> findings_order_;
  std::unordered_set<std::string> findings_untaken_;
  std::vector<Finding> emitted_;
  std::unordered_map<std::string, int64_t> positions_;
  int64_t watermark_ms_ = 0;
  Status read_status_;
  Finding peeked_;    // what PeekFinding last read from the store
  std::string read_;  // what ReadResource last read from the store
};

}  // namespace driftwatch
