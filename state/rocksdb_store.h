#pragma once
// StateStore on RocksDB, on-disk format version 1 (doc/state_format.md). RocksDB types stay in
// this module: the header exposes none.
//
// Threading: one writer (the pipeline). Gets and scans may run on the writer's thread, or on
// any thread once writing stopped. A store opened read-only sees the state as of its opening.

#include <cstddef>
#include <memory>
#include <string>

#include "state/state_store.h"
#include "vocab/status.h"

namespace driftwatch {

struct RocksDbStoreOptions {
  // Create the directory and an empty state when there is none. Default true; the query
  // commands set it false so that a mistyped path is an error, not a new empty state.
  bool create_if_missing = true;
  // Open without writing anything (queries while another process may own the state: they see
  // what was committed when they opened). Commit then fails. Default false.
  bool read_only = false;
  // An event id stays "seen" while its event time is within this many days of the newest event
  // time committed. Default 14, bounds [1, 3650].
  int seen_ttl_days = 14;
  // Shared LRU block cache for all column families. Default 64 MiB, bounds [1 MiB, 64 GiB].
  size_t block_cache_bytes = size_t{64} << 20;
  // Sync the WAL on every Commit (durable when Commit returns). Default true. When false, a
  // Commit is in the WAL the operating system holds: a killed process loses nothing, a machine
  // that stops may lose the newest commits (whole batches, positions with them, so a restart
  // resumes consistently from an earlier one); closing the store syncs them. For replays, whose
  // output nothing outside waits on batch by batch.
  bool sync = true;
};

class RocksDbStore : public StateStore {
 public:
  // Opens (or creates) the state at `path`. Errors name the path: no state there, not a
  // driftwatch state, another format version, or RocksDB's own message.
  static Status Open(const std::string& path, const RocksDbStoreOptions& options,
                     std::unique_ptr<RocksDbStore>* out);
  ~RocksDbStore() override;

  Status GetResource(std::string_view key, std::string* document) override;
  Status HasSeenEvent(std::string_view event_id, bool* seen) override;
  Status GetFinding(std::string_view finding_id, Finding* finding) override;
  Status GetPosition(std::string_view source, int64_t* next_offset) override;
  Status Commit(const WriteSet& batch) override;
  Status ScanResources(
      const std::function<bool(std::string_view key, std::string_view document)>& fn) override;
  Status ScanHistory(std::string_view resource_key,
                     const std::function<bool(const HistoryEntry&)>& fn) override;
  Status ScanHistoryBefore(std::string_view from_resource_key, int64_t before_ms,
                           const std::function<bool(const HistoryEntry&)>& fn) override;
  Status ScanHistoryRange(std::string_view resource_key, int64_t from_ms, int64_t to_ms,
                          const std::function<bool(const HistoryEntry&)>& fn) override;
  Status LastHistory(std::string_view resource_key, HistoryEntry* entry) override;
  Status ScanHistoryBackward(std::string_view resource_key, int64_t before_ms,
                             const std::function<bool(const HistoryEntry&)>& fn) override;
  Status ScanFindings(const std::function<bool(const Finding&)>& fn) override;
  // Activity index (doc/state_format.md): a state made before it has none, and then answers
  // both scans with nothing when opened read-only (opened for writing, the family is added).
  Status ScanActivity(ActivityIndex index, std::string_view value, int64_t from_ms, int64_t to_ms,
                      const std::function<bool(const ActivityRecord&)>& fn) override;
  Status ScanActivityRuns(const std::function<bool(const ActivityRun&)>& fn) override;
  Status ScanActivityCalls(int64_t from_ms, int64_t before_ms,
                           const std::function<bool(const ActivityRecord&)>& fn) override;

  // Compacts every column family now (drops expired seen ids). For tests and maintenance.
  Status CompactAll();
  // The newest event time committed (or stored at open); INT64_MIN when none.
  int64_t seen_watermark_ms() const;

  struct Impl;

 private:
  explicit RocksDbStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace driftwatch
