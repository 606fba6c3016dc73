#include "state/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <filesystem>
#include <set>
#include <unordered_map>
#include <vector>

#include "state/activity_format.h"
#include "state/state_format.h"

namespace driftwatch {
namespace {

// Column family names and the meta key: part of format version 1, do not change.
constexpr const char* kCfMeta = "meta";
constexpr const char* kCfResources = "resources";
constexpr const char* kCfHistory = "history";
constexpr const char* kCfFindings = "findings";
constexpr const char* kCfPositions = "positions";
constexpr const char* kCfSeen = "seen";
constexpr const char* kMetaFormatVersion = "format_version";
// In the default family while a new state's families are being created (see Open).
constexpr const char* kCreatingMarker = "driftwatch:creating";
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

enum CfIndex { kMeta = 0, kResources, kHistory, kFindings, kPositions, kSeen, kCfCount };
constexpr const char* kCfNames[kCfCount] = {kCfMeta,     kCfResources, kCfHistory,
                                            kCfFindings, kCfPositions, kCfSeen};

// Drops seen ids whose event time is older than the cutoff (watermark - ttl).
class SeenTtlFilter : public rocksdb::CompactionFilter {
 public:
  explicit SeenTtlFilter(const std::atomic<int64_t>* cutoff) : cutoff_(cutoff) {}
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    int64_t time_ms = 0;
    if (!state_format::DecodeInt64(std::string_view(value.data(), value.size()), &time_ms)) {
      return false;
    }
    return time_ms < cutoff_->load(std::memory_order_relaxed);
  }
  const char* Name() const override { return "driftwatch.SeenTtlFilter"; }

 private:
  const std::atomic<int64_t>* cutoff_;
};

// A history key's resource: the key up to and including its first 0x00 (state_format::
// HistoryPrefix). History tables keep a bloom filter of these, so that reading one resource's
// history probes only the tables that hold it; on a state of millions of calls, a seek otherwise
// reads a block of every table of every level.
class HistoryResourcePrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "driftwatch.HistoryResourcePrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* zero = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(zero) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

// Reading history: one resource's entries (the filters of the tables may skip those without it;
// the iterator is not valid past the resource), or the whole family in key order.
rocksdb::ReadOptions OneResource() {
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  return ro;
}
rocksdb::ReadOptions AllResources() {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  return ro;
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }
rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

struct RocksDbStore::Impl {
  std::string path;
  RocksDbStoreOptions options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // every family opened, ours first
  std::atomic<int64_t> watermark_ms{INT64_MIN};
  std::atomic<int64_t> seen_cutoff_ms{INT64_MIN};
  std::unique_ptr<SeenTtlFilter> seen_filter;
  std::shared_ptr<rocksdb::Cache> cache;
  // The activity index family (added after version 1's first release, so opened by name and
  // absent from a read-only open of a state made before it).
  rocksdb::ColumnFamilyHandle* activity = nullptr;
  // Ids of posting lists: every id this store ever wrote is below the sequence number the
  // database had reached when it was opened, since each commit holding a list takes at least
  // one sequence number; this session's ids count up from there.
  std::atomic<uint64_t> next_list_id{0};

  rocksdb::ColumnFamilyHandle* cf(CfIndex i) const { return handles[i]; }
  rocksdb::ColumnFamilyHandle* default_family() const {
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      if (h->GetName() == rocksdb::kDefaultColumnFamilyName) return h;
    }
    return db->DefaultColumnFamily();
  }

  // Each call of a commit once under its call key, and one posting list per index value and
  // hour of event time listing the commit's calls filed under it.
  rocksdb::Status PutActivity(const std::vector<ActivityRecord>& calls, rocksdb::WriteBatch* wb) {
    struct List {
      uint32_t count = 0;
      bool with_calls = false;
      std::string refs;
    };
    // Keyed by the list's key without its id (value and bucket), which is appended when written.
    std::unordered_map<std::string, List> lists;
    std::string key, call;
    for (const ActivityRecord& r : calls) {
      call = activity_format::EncodeCall(r);
      rocksdb::Status s = wb->Put(activity, activity_format::CallKey(r.time_ms, r.event_id), call);
      if (!s.ok()) return s;
      const int64_t bucket = activity_format::PostingBucket(r.time_ms);
      activity_format::IndexValue values[activity_format::kIndexCount];
      activity_format::IndexValues(r, values);
      for (const auto& v : values) {
        if (v.value.empty()) continue;
        key.clear();
        activity_format::AppendPostingSeek(&key, v.index, v.value, bucket);
        List& list = lists[key];
        ++list.count;
        // Principals' and access keys' lists carry the calls (format 5): an incident starts from
        // one of them and then reads its lists, not a call key per call.
        list.with_calls = activity_format::ListCarriesCalls(v.index);
        if (list.with_calls) {
          activity_format::AppendCallWithRef(&list.refs, r.time_ms, r.event_id, call);
        } else {
          activity_format::AppendCallRef(&list.refs, r.time_ms, r.event_id);
        }
      }
    }
    if (lists.empty()) return rocksdb::Status::OK();
    const uint64_t id = next_list_id.fetch_add(1, std::memory_order_relaxed);
    for (const auto& [k, list] : lists) {
      key = k;
      activity_format::AppendPostingListId(&key, id);
      rocksdb::Status s = wb->Put(
          activity, key,
          list.with_calls ? activity_format::FinishPostingListWithCalls(list.count, list.refs)
                          : activity_format::FinishPostingList(list.count, list.refs));
      if (!s.ok()) return s;
    }
    return rocksdb::Status::OK();
  }

  void AdvanceWatermark(int64_t ms) {
    if (ms <= watermark_ms.load(std::memory_order_relaxed)) return;
    watermark_ms.store(ms, std::memory_order_relaxed);
    const int64_t ttl = options.seen_ttl_days * kDayMs;
    seen_cutoff_ms.store(ms > INT64_MIN + ttl ? ms - ttl : INT64_MIN, std::memory_order_relaxed);
  }

  ~Impl() {
    if (db) {
      // Commits that did not sync are in the WAL the OS holds: make them durable before closing.
      if (!options.sync && !options.read_only) db->FlushWAL(/*sync=*/true).PermitUncheckedError();
      // Memtables written out as compressed tables, so that the state left on disk is not the
      // write-ahead log's uncompressed copy of everything since the last flush (a replay that
      // fits in the write buffers would otherwise leave only log). A failure leaves the log,
      // which recovers the same state at the next open.
      if (!options.read_only) {
        // Every family's flush is asked for first, then waited for: they run side by side on
        // the flush threads instead of one after another.
        rocksdb::FlushOptions flush;
        flush.wait = false;
        db->Flush(flush, handles).PermitUncheckedError();
        flush.wait = true;
        db->Flush(flush, handles).PermitUncheckedError();
      }
      for (rocksdb::ColumnFamilyHandle* h : handles)
        db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
      db->Close().PermitUncheckedError();
    }
  }
};

RocksDbStore::RocksDbStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDbStore::~RocksDbStore() = default;

Status RocksDbStore::Open(const std::string& path, const RocksDbStoreOptions& options,
                          std::unique_ptr<RocksDbStore>* out) {
  if (options.seen_ttl_days < 1 || options.seen_ttl_days > 3650) {
    return Status::InvalidArgument("seen_ttl_days must be within [1, 3650]");
  }
  if (options.block_cache_bytes < (size_t{1} << 20) ||
      options.block_cache_bytes > (size_t{64} << 30)) {
    return Status::InvalidArgument("block_cache_bytes must be within [1 MiB, 64 GiB]");
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;

  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec);
  std::vector<std::string> existing;
  // Whether our families are to be created: a new state, or one whose creation was cut short
  // after RocksDB made its default family (checked to be empty below, as any unfinished state).
  bool create_families = !exists;
  if (exists) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &existing);
    if (!s.ok()) return Status::IOError("cannot read state " + path + ": " + s.ToString());
    if (!options.read_only && existing.size() == 1 &&
        existing[0] == rocksdb::kDefaultColumnFamilyName) {
      create_families = true;
    } else if (std::find(existing.begin(), existing.end(), kCfMeta) == existing.end()) {
      return Status::Corruption(path + " is not a driftwatch state (no '" + kCfMeta +
                                "' column family)");
    }
  } else {
    if (!options.create_if_missing || options.read_only) {
      return Status::NotFound("no driftwatch state at " + path);
    }
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IOError("cannot create state directory " + path + ": " + ec.message());
  }

  impl->cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = impl->cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;

  // Point-lookup families keep one index block per table; the scanned families (history,
  // activity, findings) grow tables whose single index block is megabytes, read and decompressed
  // again by every iterator a query opens. There the index and filters are partitioned: a seek
  // reads the small pinned top level and one 4 KiB partition.
  rocksdb::BlockBasedTableOptions point_table = table;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;

  rocksdb::ColumnFamilyOptions base;
  base.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  base.compression = rocksdb::kLZ4Compression;
  // 32 MiB: fewer, larger tables as filled, which an incident query probes one by one (with
  // 8 MiB, a replay's close has less to flush, but a state queried as filled answers the
  // incident query at half the speed).
  base.write_buffer_size = 32 << 20;

  rocksdb::ColumnFamilyOptions point = base;
  point.OptimizeForPointLookup(options.block_cache_bytes >> 20);
  // OptimizeForPointLookup installs its own table factory; keep the shared cache and bloom.
  point.table_factory.reset(rocksdb::NewBlockBasedTableFactory(point_table));
  point.memtable_whole_key_filtering = true;
  point.memtable_prefix_bloom_size_ratio = 0.02;

  impl->seen_filter = std::make_unique<SeenTtlFilter>(&impl->seen_cutoff_ms);
  rocksdb::ColumnFamilyOptions seen = point;
  seen.compaction_filter = impl->seen_filter.get();

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  // Findings are scanned (lists, summaries) but also read one at a time, mostly for ids that
  // have no finding yet: a memtable filter answers those without searching the skip list.
  rocksdb::ColumnFamilyOptions findings = base;
  findings.memtable_whole_key_filtering = true;
  findings.memtable_prefix_bloom_size_ratio = 0.02;
  // History is read in runs of a resource's entries, never one entry at a time: blocks of 16 KiB
  // instead of 4 compress better and cost a quarter of the per-block work when a memtable is
  // flushed (each block starts a new compression stream).
  rocksdb::BlockBasedTableOptions history_table = table;
  history_table.block_size = 16 << 10;
  // History is never read by whole key: its filters hold resources only (HistoryResourcePrefix).
  history_table.whole_key_filtering = false;
  rocksdb::ColumnFamilyOptions history = base;
  history.table_factory.reset(rocksdb::NewBlockBasedTableFactory(history_table));
  history.prefix_extractor = std::make_shared<HistoryResourcePrefix>();
  for (int i = 0; i < kCfCount; ++i) {
    rocksdb::ColumnFamilyOptions cfo = base;
    if (i == kResources) cfo = point;
    if (i == kSeen) cfo = seen;
    if (i == kFindings) cfo = findings;
    if (i == kHistory) cfo = history;
    descriptors.emplace_back(kCfNames[i], cfo);
  }
  // RocksDB wants every existing family opened; unknown ones (none in version 1) ride along.
  bool has_default = false;
  for (const std::string& name : existing) {
    if (std::find(std::begin(kCfNames), std::end(kCfNames), name) != std::end(kCfNames)) continue;
    if (name == rocksdb::kDefaultColumnFamilyName) has_default = true;
    descriptors.emplace_back(name, base);
  }
  if (!has_default) descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, base);
  constexpr const char* kCfActivity = "activity";
  const bool has_activity =
      std::find(existing.begin(), existing.end(), kCfActivity) != existing.end();
  // The activity index takes up to four entries per call and is never read by the process that
  // writes it (only by `incident`, from its own handle): its memtable is an append-only vector,
  // sorted once when flushed, instead of a skip list whose inserts cost a cache-missing search.
  rocksdb::ColumnFamilyOptions activity_cf = base;
  activity_cf.memtable_factory.reset(new rocksdb::VectorRepFactory);
  // 16 KiB blocks too: since format 5 the questions an incident starts from (principal, access
  // key) read their posting lists, not a call key per call; by source IP or session each call is
  // still read on its own (about 12 % more instructions for such a query at 10 M events, against
  // 2 % fewer for a replay and a state 0.18 of the input instead of 0.21).
  rocksdb::BlockBasedTableOptions activity_table = table;
  activity_table.block_size = 16 << 10;
  activity_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(activity_table));
  for (rocksdb::ColumnFamilyDescriptor& d : descriptors) {
    if (d.name == kCfActivity) d.options = activity_cf;
  }
  if (!has_activity && !options.read_only) descriptors.emplace_back(kCfActivity, activity_cf);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !exists;
  db_options.create_missing_column_families = !exists || !options.read_only;
  db_options.max_background_jobs = 2;
  // Two flush threads: the memtables left at close (a replay's last tens of megabytes, in
  // several families) are written out on both cores instead of one after the other.
  db_options.max_background_flushes = 2;
  db_options.max_background_compactions = 1;
  db_options.keep_log_file_num = 4;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // One writer (the pipeline's committer), and the vector memtable cannot take concurrent inserts.
  db_options.allow_concurrent_memtable_write = false;

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (create_families) {
    // A new state: RocksDB opened with every family missing creates them one at a time and
    // writes (then parses back, to verify) its whole options file after each; created together
    // the file is written once (about 50 M instructions less, 4 % of a 10,000-record replay).
    // The default family holds a marker meanwhile, so that a creation cut short between the
    // two steps is told from someone else's empty database, which is refused.
    std::vector<rocksdb::ColumnFamilyDescriptor> only_default;
    std::vector<rocksdb::ColumnFamilyDescriptor> created;
    for (const rocksdb::ColumnFamilyDescriptor& d : descriptors) {
      (d.name == rocksdb::kDefaultColumnFamilyName ? only_default : created).push_back(d);
    }
    std::vector<rocksdb::ColumnFamilyHandle*> default_handle;
    s = rocksdb::DB::Open(db_options, path, only_default, &default_handle, &raw);
    if (s.ok()) {
      impl->db.reset(raw);
      impl->handles = default_handle;  // closed with the others if creating the rest fails
      if (exists) {
        std::string marker;
        s = raw->Get(rocksdb::ReadOptions(), default_handle[0], kCreatingMarker, &marker);
        if (s.IsNotFound()) {
          return Status::Corruption(path + " is not a driftwatch state (no '" + kCfMeta +
                                    "' column family)");
        }
        if (!s.ok()) return Status::IOError("cannot read state " + path + ": " + s.ToString());
      } else {
        s = raw->Put(rocksdb::WriteOptions(), default_handle[0], kCreatingMarker, "");
        if (!s.ok()) return Status::IOError("cannot create state " + path + ": " + s.ToString());
      }
      std::vector<rocksdb::ColumnFamilyHandle*> made;
      s = raw->CreateColumnFamilies(created, &made);
      // Handles in the order of `descriptors`, as the families are indexed.
      impl->handles.clear();
      size_t next = 0;
      for (const rocksdb::ColumnFamilyDescriptor& d : descriptors) {
        if (d.name == rocksdb::kDefaultColumnFamilyName) {
          impl->handles.push_back(default_handle[0]);
        } else if (next < made.size()) {
          impl->handles.push_back(made[next++]);
        }
      }
    }
  } else {
    s = options.read_only
            ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &impl->handles, &raw)
            : rocksdb::DB::Open(db_options, path, descriptors, &impl->handles, &raw);
    if (s.ok()) impl->db.reset(raw);
  }
  if (!s.ok()) return Status::IOError("cannot open state " + path + ": " + s.ToString());
  for (rocksdb::ColumnFamilyHandle* h : impl->handles) {
    if (h->GetName() == kCfActivity) impl->activity = h;
  }
  impl->next_list_id.store(impl->db->GetLatestSequenceNumber() + 1, std::memory_order_relaxed);

  std::string version;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->cf(kMeta), kMetaFormatVersion, &version);
  if (s.IsNotFound()) {
    // A state whose creation was cut short (the process killed between RocksDB creating the
    // directory and the version being written) has our families and nothing in them: finish
    // creating it. Anything else without a version is not ours to write to.
    auto empty = [&impl] {
      for (rocksdb::ColumnFamilyHandle* h : impl->handles) {
        std::unique_ptr<rocksdb::Iterator> it(impl->db->NewIterator(rocksdb::ReadOptions(), h));
        it->SeekToFirst();
        if (it->Valid() && it->key() == rocksdb::Slice(kCreatingMarker)) it->Next();
        if (it->Valid() || !it->status().ok()) return false;
      }
      return true;
    };
    if (exists && (options.read_only || !empty())) {
      return Status::Corruption(path + " is not a driftwatch state (no format version recorded)");
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::WriteBatch init;
    s = init.Put(impl->cf(kMeta), kMetaFormatVersion, std::to_string(state_format::kFormatVersion));
    if (s.ok()) s = init.Delete(impl->default_family(), kCreatingMarker);
    if (s.ok()) s = impl->db->Write(wo, &init);
    if (!s.ok()) return Status::IOError("cannot initialise state " + path + ": " + s.ToString());
  } else if (!s.ok()) {
    return Status::IOError("cannot read state " + path + ": " + s.ToString());
  } else {
    int stored = 0;
    for (char c : version) stored = (c >= '0' && c <= '9' && stored < 1000) ? stored * 10 + (c - '0') : -1;
    if (version.empty() || stored < state_format::kOldestReadableFormatVersion ||
        stored > state_format::kFormatVersion) {
      return Status::NotSupported("state " + path + " has on-disk format version " + version +
                                  "; this driftwatch reads versions " +
                                  std::to_string(state_format::kOldestReadableFormatVersion) +
                                  " to " + std::to_string(state_format::kFormatVersion));
    }
    if (stored != state_format::kFormatVersion && !options.read_only) {
      // Older records stay readable; from now on records of the current version are written.
      rocksdb::WriteOptions wo;
      wo.sync = true;
      s = impl->db->Put(wo, impl->cf(kMeta), kMetaFormatVersion,
                        std::to_string(state_format::kFormatVersion));
      if (!s.ok()) return Status::IOError("cannot upgrade state " + path + ": " + s.ToString());
    }
  }

  std::string watermark;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->cf(kPositions), ToSlice(kWatermarkPosition),
                    &watermark);
  int64_t wm = 0;
  if (s.ok() && state_format::DecodeInt64(watermark, &wm)) impl->AdvanceWatermark(wm);

  out->reset(new RocksDbStore(std::move(impl)));
  return Status::Ok();
}

Status RocksDbStore::GetResource(std::string_view key, std::string* document) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(kResources), ToSlice(key), &value);
  if (s.IsNotFound()) return Status::NotFound();
  if (!s.ok()) return Status::IOError("state get resource: " + s.ToString());
  document->assign(value.data(), value.size());
  return Status::Ok();
}

Status RocksDbStore::HasSeenEvent(std::string_view event_id, bool* seen) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(kSeen), ToSlice(event_id), &value);
  if (s.IsNotFound()) {
    *seen = false;
    return Status::Ok();
  }
  if (!s.ok()) return Status::IOError("state get seen id: " + s.ToString());
  int64_t time_ms = 0;
  *seen = state_format::DecodeInt64(View(value), &time_ms) &&
          time_ms >= impl_->seen_cutoff_ms.load(std::memory_order_relaxed);
  return Status::Ok();
}

Status RocksDbStore::GetFinding(std::string_view finding_id, Finding* finding) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(kFindings), ToSlice(finding_id), &value);
  if (s.IsNotFound()) return Status::NotFound();
  if (!s.ok()) return Status::IOError("state get finding: " + s.ToString());
  if (!FindingFromJson(View(value), finding)) {
    return Status::Corruption("state: finding " + std::string(finding_id) + " is not readable");
  }
  return Status::Ok();
}

Status RocksDbStore::GetPosition(std::string_view source, int64_t* next_offset) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(kPositions), ToSlice(source), &value);
  if (s.IsNotFound()) return Status::NotFound();
  if (!s.ok()) return Status::IOError("state get position: " + s.ToString());
  if (!state_format::DecodeInt64(View(value), next_offset)) {
    return Status::Corruption("state: position of " + std::string(source) + " is not readable");
  }
  return Status::Ok();
}

Status RocksDbStore::Commit(const WriteSet& batch) {
  if (impl_->options.read_only) {
    return Status::NotSupported("state " + impl_->path + " is read-only");
  }
  rocksdb::WriteBatch wb;
  rocksdb::Status s;
  for (const auto& [key, doc] : batch.put_resources) {
    s = wb.Put(impl_->cf(kResources), key, doc);
    if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
  }
  for (const std::string& key : batch.delete_resources) {
    s = wb.Delete(impl_->cf(kResources), key);
    if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
  }
  for (const HistoryEntry& e : batch.history) {
    s = wb.Put(impl_->cf(kHistory), state_format::HistoryKey(e.resource_key, e.time_ms, e.event_id),
               state_format::EncodeHistoryValue(e));
    if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
  }
  int64_t newest = INT64_MIN;
  for (const auto& [id, time_ms] : batch.seen_event_ids) {
    s = wb.Put(impl_->cf(kSeen), id, state_format::EncodeInt64(time_ms));
    if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
    newest = std::max(newest, time_ms);
  }
  for (const Finding& f : batch.findings) {
    s = wb.Put(impl_->cf(kFindings), f.finding_id, FindingToStoredJson(f));
    if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
  }
  for (const SourcePosition& p : batch.positions) {
    s = wb.Put(impl_->cf(kPositions), p.source, state_format::EncodeInt64(p.next_offset));
    if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
    if (p.source == kWatermarkPosition) newest = std::max(newest, p.next_offset);
  }
  if (!batch.activity.empty() || !batch.activity_runs.empty()) {
    if (impl_->activity == nullptr) return Status::NotSupported("state has no activity family");
    s = impl_->PutActivity(batch.activity, &wb);
    if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
    for (const ActivityRun& run : batch.activity_runs) {
      s = wb.Put(impl_->activity, activity_format::RunKey(run.run_id),
                 activity_format::EncodeRun(run));
      if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
    }
  }
  // Retention: after the puts, so that a key put and dropped in one batch (a changelog restore)
  // ends dropped.
  for (const HistoryRef& h : batch.delete_history) {
    s = wb.Delete(impl_->cf(kHistory), state_format::HistoryKey(h.resource_key, h.time_ms, h.event_id));
    if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
  }
  if (!batch.delete_activity.empty() && impl_->activity != nullptr) {
    // A call's postings are named by its record: read it (from the state, or from this batch when
    // the batch also puts it), then drop the postings and the call. Through one iterator, not
    // point reads: the family's memtable is an unsorted vector that every Get would sort again.
    std::unordered_map<std::string, const ActivityRecord*> in_batch;
    for (const ActivityRecord& r : batch.activity) {
      in_batch[activity_format::CallKey(r.time_ms, r.event_id)] = &r;
    }
    std::unique_ptr<rocksdb::Iterator> it;  // made when a record must be read
    ActivityRecord stored;
    std::set<std::string> dropped_lists;
    for (const ActivityRef& ref : batch.delete_activity) {
      const std::string call_key = activity_format::CallKey(ref.time_ms, ref.event_id);
      const ActivityRecord* record = nullptr;
      if (ref.postings_known) {
        stored.actor.arn = ref.principal_arn;
        stored.actor.access_key_id = ref.access_key_id;
        stored.actor.source_ip = ref.source_ip;
        stored.session_name = ref.session_name;
        record = &stored;
      } else if (auto found = in_batch.find(call_key); found != in_batch.end()) {
        record = found->second;
      } else {
        if (!it) it.reset(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->activity));
        it->Seek(call_key);
        if (!it->Valid() || View(it->key()) != call_key) {
          if (!it->status().ok()) return Status::IOError("state batch: " + it->status().ToString());
          continue;  // gone already
        }
        if (!activity_format::DecodeCall(call_key, View(it->value()), &stored)) {
          return Status::Corruption("state " + impl_->path + ": unreadable activity record");
        }
        record = &stored;
      }
      activity_format::IndexValue values[activity_format::kIndexCount];
      activity_format::IndexValues(*record, values);
      const int64_t bucket = activity_format::PostingBucket(ref.time_ms);
      for (const auto& v : values) {
        if (v.value.empty()) continue;
        s = wb.Delete(impl_->activity,
                      activity_format::EntryKey(v.index, v.value, ref.time_ms, ref.event_id));
        if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
        dropped_lists.insert(activity_format::PostingSeek(v.index, v.value, bucket));
      }
      s = wb.Delete(impl_->activity, call_key);
      if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
    }
    // Format 4's posting lists of the hours those calls were in. Horizons fall on whole days, so
    // every call of such an hour is below the horizon: the hour's lists go whole. (A list this
    // batch also writes for such an hour, in a changelog restore, names calls that are gone, and
    // scans pass over those.)
    for (const std::string& prefix : dropped_lists) {
      if (!it) it.reset(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->activity));
      for (it->Seek(prefix); it->Valid() && View(it->key()).substr(0, prefix.size()) == prefix;
           it->Next()) {
        s = wb.Delete(impl_->activity, it->key());
        if (!s.ok()) return Status::IOError("state batch: " + s.ToString());
      }
      if (!it->status().ok()) return Status::IOError("state batch: " + it->status().ToString());
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = impl_->options.sync && batch.durable;
  s = impl_->db->Write(wo, &wb);
  if (!s.ok()) return Status::IOError("state commit: " + s.ToString());
  if (newest != INT64_MIN) impl_->AdvanceWatermark(newest);
  return Status::Ok();
}

Status RocksDbStore::ScanResources(
    const std::function<bool(std::string_view key, std::string_view document)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kResources)));
  // Internal keys (tombstones) start with 0x00 and sort first: skip past them.
  it->Seek(rocksdb::Slice("\x01", 1));
  for (; it->Valid(); it->Next()) {
    if (!fn(View(it->key()), View(it->value()))) break;
  }
  if (!it->status().ok()) {
    return Status::IOError("state scan resources: " + it->status().ToString());
  }
  return Status::Ok();
}

Status RocksDbStore::ScanHistory(std::string_view resource_key,
                                 const std::function<bool(const HistoryEntry&)>& fn) {
  const std::string prefix =
      resource_key.empty() ? std::string() : state_format::HistoryPrefix(resource_key);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(
      prefix.empty() ? AllResources() : OneResource(), impl_->cf(kHistory)));
  if (prefix.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(prefix);
  }
  HistoryEntry entry;
  for (; it->Valid(); it->Next()) {
    const std::string_view key = View(it->key());
    if (!prefix.empty() && key.substr(0, prefix.size()) != prefix) break;
    if (!state_format::ParseHistoryKey(key, &entry.resource_key, &entry.time_ms, &entry.event_id) ||
        !state_format::DecodeHistoryValue(View(it->value()), &entry)) {
      return Status::Corruption("state " + impl_->path + ": unreadable history record");
    }
    if (!fn(entry)) break;
  }
  if (!it->status().ok()) return Status::IOError("state scan history: " + it->status().ToString());
  return Status::Ok();
}

Status RocksDbStore::ScanHistoryBefore(std::string_view from_resource_key, int64_t before_ms,
                                       const std::function<bool(const HistoryEntry&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(AllResources(), impl_->cf(kHistory)));
  // A history key is the resource key, 0x00, the time: a resource's keys sort among resource
  // keys as the resource key does, and in time order within it.
  it->Seek(state_format::HistoryPrefix(from_resource_key));
  HistoryEntry entry;
  while (it->Valid()) {
    if (!state_format::ParseHistoryKey(View(it->key()), &entry.resource_key, &entry.time_ms,
                                       &entry.event_id)) {
      return Status::Corruption("state " + impl_->path + ": unreadable history key");
    }
    if (entry.time_ms >= before_ms) {
      // The rest of this resource is newer: on to the next resource, past every time.
      it->Seek(state_format::HistoryPrefix(entry.resource_key) + std::string(9, '\xff'));
      continue;
    }
    if (!state_format::DecodeHistoryValue(View(it->value()), &entry)) {
      return Status::Corruption("state " + impl_->path + ": unreadable history record");
    }
    if (!fn(entry)) break;
    it->Next();
  }
  if (!it->status().ok()) return Status::IOError("state scan history: " + it->status().ToString());
  return Status::Ok();
}

Status RocksDbStore::ScanHistoryRange(std::string_view resource_key, int64_t from_ms,
                                      int64_t to_ms,
                                      const std::function<bool(const HistoryEntry&)>& fn) {
  if (resource_key.empty()) {
    return Status::InvalidArgument("state scan history range: no resource key");
  }
  const std::string prefix = state_format::HistoryPrefix(resource_key);
  const std::string start = state_format::HistoryKey(resource_key, from_ms, "");
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(OneResource(), impl_->cf(kHistory)));
  HistoryEntry entry;
  for (it->Seek(start); it->Valid(); it->Next()) {
    const std::string_view key = View(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!state_format::ParseHistoryKey(key, &entry.resource_key, &entry.time_ms, &entry.event_id)) {
      return Status::Corruption("state " + impl_->path + ": unreadable history key");
    }
    if (entry.time_ms > to_ms) break;
    if (!state_format::DecodeHistoryValue(View(it->value()), &entry)) {
      return Status::Corruption("state " + impl_->path + ": unreadable history record");
    }
    if (!fn(entry)) break;
  }
  if (!it->status().ok()) return Status::IOError("state scan history: " + it->status().ToString());
  return Status::Ok();
}

Status RocksDbStore::LastHistory(std::string_view resource_key, HistoryEntry* entry) {
  bool found = false;
  if (resource_key.empty()) return Status::InvalidArgument("state last history: no resource key");
  const std::string prefix = state_format::HistoryPrefix(resource_key);
  // Past every key of the resource: 0xFF bytes sort after any time and any event id.
  const std::string past = prefix + std::string(24, '\xff');
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(OneResource(), impl_->cf(kHistory)));
  it->SeekForPrev(past);
  if (it->Valid()) {
    const std::string_view key = View(it->key());
    if (key.substr(0, prefix.size()) == prefix) {
      if (!state_format::ParseHistoryKey(key, &entry->resource_key, &entry->time_ms,
                                         &entry->event_id) ||
          !state_format::DecodeHistoryValue(View(it->value()), entry)) {
        return Status::Corruption("state " + impl_->path + ": unreadable history record");
      }
      found = true;
    }
  }
  if (!it->status().ok()) return Status::IOError("state last history: " + it->status().ToString());
  return found ? Status::Ok() : Status::NotFound();
}

Status RocksDbStore::ScanHistoryBackward(std::string_view resource_key, int64_t before_ms,
                                         const std::function<bool(const HistoryEntry&)>& fn) {
  if (resource_key.empty()) {
    return Status::InvalidArgument("state scan history backward: no resource key");
  }
  const std::string prefix = state_format::HistoryPrefix(resource_key);
  // Every key at before_ms has an event id after "" (Config items without one sort at it and are
  // then passed first: callers merge by time and id anyway).
  const std::string start = state_format::HistoryKey(resource_key, before_ms, "");
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(OneResource(), impl_->cf(kHistory)));
  HistoryEntry entry;
  for (it->SeekForPrev(start); it->Valid(); it->Prev()) {
    const std::string_view key = View(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!state_format::ParseHistoryKey(key, &entry.resource_key, &entry.time_ms,
                                       &entry.event_id) ||
        !state_format::DecodeHistoryValue(View(it->value()), &entry)) {
      return Status::Corruption("state " + impl_->path + ": unreadable history record");
    }
    if (!fn(entry)) break;
  }
  if (!it->status().ok()) {
    return Status::IOError("state scan history backward: " + it->status().ToString());
  }
  return Status::Ok();
}

Status RocksDbStore::ScanFindings(const std::function<bool(const Finding&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kFindings)));
  Finding f;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!FindingFromJson(View(it->value()), &f)) {
      return Status::Corruption("state " + impl_->path + ": unreadable finding " +
                                std::string(View(it->key())));
    }
    if (!fn(f)) break;
  }
  if (!it->status().ok()) return Status::IOError("state scan findings: " + it->status().ToString());
  return Status::Ok();
}

Status RocksDbStore::CompactAll() {
  if (impl_->options.read_only) {
    return Status::NotSupported("state " + impl_->path + " is read-only");
  }
  for (int i = 0; i < kCfCount; ++i) {
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    rocksdb::Status s =
        impl_->db->CompactRange(o, impl_->cf(static_cast<CfIndex>(i)), nullptr, nullptr);
    if (!s.ok()) return Status::IOError("state compact: " + s.ToString());
  }
  return Status::Ok();
}

int64_t RocksDbStore::seen_watermark_ms() const {
  return impl_->watermark_ms.load(std::memory_order_relaxed);
}

Status RocksDbStore::ScanActivity(ActivityIndex index, std::string_view value, int64_t from_ms,
                                  int64_t to_ms,
                                  const std::function<bool(const ActivityRecord&)>& fn) {
  if (impl_->activity == nullptr) return Status::Ok();
  std::vector<ActivityRecord> found;
  const rocksdb::ReadOptions read;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, impl_->activity));
  auto failed = [this](const char* what) {
    return Status::Corruption("state " + impl_->path + ": unreadable activity " + what);
  };

  // Calls before the activity horizon may have been dropped by retention (and the lists of their
  // hours with them, but a changelog restore can write such a list again): those are read under
  // their call keys, where a dropped call is absent. Calls from the horizon on are never dropped.
  int64_t horizon_ms = INT64_MIN;
  if (Status h = GetPosition(kActivityHorizonPosition, &horizon_ms); !h.ok() && !h.IsNotFound()) {
    return h;
  }
  // Format 4 and 5: posting lists by value and hour. A call a list carries (format 5, principals
  // and access keys) is read from it; otherwise under its call key. A call listed twice (written
  // again by a later commit) is read as the later list has it, as its call key holds it.
  const std::string list_prefix = activity_format::PostingPrefix(index, value);
  std::vector<activity_format::CallRef> refs;
  std::string call_key, call;
  std::unordered_map<std::string, size_t> carried;  // call key -> its place in `found`
  for (it->Seek(activity_format::PostingSeek(index, value,
                                             activity_format::PostingBucket(from_ms)));
       it->Valid(); it->Next()) {
    const std::string_view key = View(it->key());
    if (key.substr(0, list_prefix.size()) != list_prefix) break;
    int64_t bucket_ms = 0;
    if (!activity_format::PostingBucketOf(key, list_prefix.size(), &bucket_ms)) {
      return failed("posting list");
    }
    if (bucket_ms > to_ms) break;
    if (!activity_format::DecodePostingList(View(it->value()), &refs)) {
      return failed("posting list");
    }
    for (const activity_format::CallRef& ref : refs) {
      if (ref.time_ms < from_ms || ref.time_ms > to_ms) continue;
      call_key = activity_format::CallKey(ref.time_ms, ref.event_id);
      if (ref.has_call && ref.time_ms >= horizon_ms) {
        ActivityRecord record;
        if (!activity_format::DecodeCall(call_key, ref.call, &record)) return failed("record");
        auto [place, added] = carried.try_emplace(call_key, found.size());
        if (added) {
          found.push_back(std::move(record));
        } else {
          found[place->second] = std::move(record);
        }
        continue;
      }
      rocksdb::Status got = impl_->db->Get(read, impl_->activity, call_key, &call);
      if (got.IsNotFound()) continue;  // dropped by retention after the list was written
      if (!got.ok()) return Status::Error("state scan activity: " + got.ToString());
      ActivityRecord record;
      if (!activity_format::DecodeCall(call_key, call, &record)) return failed("record");
      found.push_back(std::move(record));
    }
  }
  if (!it->status().ok()) return Status::IOError("state scan activity: " + it->status().ToString());

  // Format 3 (key-only postings of calls stored once) and format 2 (records inline), as states
  // written before posting lists hold them.
  const std::string prefix = activity_format::EntryPrefix(index, value);
  for (it->Seek(activity_format::EntrySeek(index, value, from_ms)); it->Valid(); it->Next()) {
    const std::string_view key = View(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    int64_t time_ms = 0;
    if (!activity_format::EntryTime(key, prefix.size(), &time_ms)) return failed("key");
    if (time_ms > to_ms) break;
    ActivityRecord record;
    bool readable = false;
    if (it->value().empty()) {
      const std::string call_key = activity_format::CallKeyOfEntry(key, prefix.size());
      rocksdb::Status got = impl_->db->Get(read, impl_->activity, call_key, &call);
      if (!got.ok() && !got.IsNotFound()) {
        return Status::Error("state scan activity: " + got.ToString());
      }
      readable = got.ok() && activity_format::DecodeCall(call_key, call, &record);
    } else {
      readable = activity_format::DecodeRecord(View(it->value()), &record);
    }
    if (!readable) return failed("record");
    found.push_back(std::move(record));
  }
  if (!it->status().ok()) return Status::IOError("state scan activity: " + it->status().ToString());

  // In (time, event id) order, a call delivered twice once.
  auto order = [](const ActivityRecord& a, const ActivityRecord& b) {
    return a.time_ms != b.time_ms ? a.time_ms < b.time_ms : a.event_id < b.event_id;
  };
  std::sort(found.begin(), found.end(), order);
  for (size_t i = 0; i < found.size(); ++i) {
    if (i > 0 && found[i].time_ms == found[i - 1].time_ms &&
        found[i].event_id == found[i - 1].event_id) {
      continue;
    }
    if (!fn(found[i])) break;
  }
  return Status::Ok();
}

Status RocksDbStore::ScanActivityRuns(const std::function<bool(const ActivityRun&)>& fn) {
  if (impl_->activity == nullptr) return Status::Ok();
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->activity));
  ActivityRun run;
  for (it->Seek(rocksdb::Slice(&activity_format::kRunPrefix, 1)); it->Valid(); it->Next()) {
    const std::string_view key = View(it->key());
    if (key.empty() || key.front() != activity_format::kRunPrefix) break;
    if (!activity_format::DecodeRun(key, View(it->value()), &run)) {
      return Status::Corruption("state " + impl_->path + ": unreadable activity run");
    }
    if (!fn(run)) break;
  }
  if (!it->status().ok()) return Status::IOError("state scan activity: " + it->status().ToString());
  return Status::Ok();
}

Status RocksDbStore::ScanActivityCalls(int64_t from_ms, int64_t before_ms,
                                       const std::function<bool(const ActivityRecord&)>& fn) {
  if (impl_->activity == nullptr) return Status::Ok();
  uint64_t in_memtable = 0;
  if (!impl_->options.read_only &&
      impl_->db->GetIntProperty(impl_->activity, "rocksdb.num-entries-active-mem-table",
                                &in_memtable) &&
      in_memtable > 200000) {
    // The family's memtable is an unsorted vector that every new iterator sorts: a large one is
    // written out first (a sweep scans once per commit of drops).
    rocksdb::FlushOptions flush;
    flush.wait = true;
    rocksdb::Status f = impl_->db->Flush(flush, impl_->activity);
    if (!f.ok()) return Status::IOError("state flush activity: " + f.ToString());
  }
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->activity));
  // Call keys sort by time: everything before before_ms is one range from the first call key.
  const std::string end = activity_format::CallKey(before_ms, "");
  ActivityRecord record;
  for (it->Seek(activity_format::CallKey(from_ms, "")); it->Valid(); it->Next()) {
    const std::string_view key = View(it->key());
    if (key.empty() || key.front() != activity_format::kCallPrefix || key >= end) break;
    if (!activity_format::DecodeCall(key, View(it->value()), &record)) {
      return Status::Corruption("state " + impl_->path + ": unreadable activity record");
    }
    if (!fn(record)) break;
  }
  if (!it->status().ok()) return Status::IOError("state scan activity: " + it->status().ToString());
  return Status::Ok();
}

}  // namespace driftwatch
