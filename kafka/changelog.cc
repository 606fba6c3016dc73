#include "kafka/changelog.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "kafka/kafka_conf_internal.h"
#include "kafka/kafka_producer.h"
#include "state/changelog_format.h"
#include "state/state_format.h"

namespace driftwatch {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRequestTimeoutMs = 10000;
constexpr std::string_view kRoutePrefix = "route:";
constexpr std::string_view kChangelogPrefix = "changelog:";
// Records per WriteSet while restoring: bounds the memory a long changelog takes.
constexpr size_t kRestoreChunk = 2000;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string ChangelogPositionKey(const std::string& topic, int32_t partition) {
  return std::string(kChangelogPrefix) + topic + "/" + std::to_string(partition);
}

// The consumer that reads changelog partitions back: assigned the partitions to restore, never
// in a group, never committing.
struct ChangelogStore::Reader {
  rd_kafka_t* rk = nullptr;
  ~Reader() {
    if (rk == nullptr) return;
    rd_kafka_assign(rk, nullptr);
    rd_kafka_destroy(rk);
  }
};

Status ChangelogStore::Open(const ChangelogOptions& options, StateStore* inner,
                            std::unique_ptr<ChangelogStore>* out) {
  if (inner == nullptr) return Status::Error("changelog: no state store");
  std::unique_ptr<ChangelogStore> store(new ChangelogStore(inner));
  store->options_ = options;

  KafkaProducerOptions po;
  po.brokers = options.brokers;
  po.properties = options.properties;
  po.idempotent = true;  // order kept per partition across retries: prefixes stay consistent
  if (Status s = KafkaProducer::Open(po, &store->producer_); !s.ok()) {
    return Status::Error("changelog producer: " + s.message());
  }

  KafkaConf kc("changelog reader");
  for (const auto& [k, v] : options.properties) kc.Set(k, v);
  kc.Set("bootstrap.servers", options.brokers);
  // Required by the consumer API; the group is never joined (assign, not subscribe).
  kc.Set("group.id", "driftwatch-changelog-reader-" + std::to_string(getpid()));
  kc.Set("enable.auto.commit", "false");
  kc.Set("enable.partition.eof", "true");
  kc.Set("auto.offset.reset", "earliest");
  if (!kc.ok()) return Status::Error(kc.error());
  char err[512];
  store->reader_ = std::make_unique<Reader>();
  store->reader_->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc.get(), err, sizeof(err));
  if (store->reader_->rk == nullptr) {
    return Status::Unavailable(std::string("changelog reader: ") + err);
  }
  kc.release();  // the reader owns it now
  rd_kafka_poll_set_consumer(store->reader_->rk);

  // Partition counts: the changelog's, and every source topic's that exists.
  auto partitions_of = [&](const std::string& topic, int* count, std::string* error) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(store->reader_->rk, topic.c_str(), nullptr);
    const struct rd_kafka_metadata* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(store->reader_->rk, 0, rkt, &md, kRequestTimeoutMs);
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *error = std::string("metadata of ") + topic + ": " + rd_kafka_err2str(e);
      return false;
    }
    *count = 0;
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      *count = md->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    return true;
  };
  std::string error;
  int count = 0;
  if (!partitions_of(options.topic, &count, &error)) return Status::Error("changelog: " + error);
  if (count == 0) {
    return Status::Error("changelog topic " + options.topic +
                         " does not exist; create it compacted, with as many partitions as the "
                         "input topics (kafka-topics.sh --create --topic " + options.topic +
                         " --partitions N --config cleanup.policy=compact)");
  }
  store->partitions_ = count;
  for (const std::string& t : options.source_topics) {
    int source_count = 0;
    if (!partitions_of(t, &source_count, &error)) return Status::Error("changelog: " + error);
    if (source_count > count) {
      return Status::Error("changelog topic " + options.topic + " has " + std::to_string(count) +
                           " partition(s), fewer than topic " + t + "'s " +
                           std::to_string(source_count) +
                           ": each input partition needs the changelog partition of its number");
    }
  }
  *out = std::move(store);
  return Status::Ok();
}

ChangelogStore::ChangelogStore(StateStore* inner) : ForwardingStateStore(inner) {}
ChangelogStore::~ChangelogStore() = default;

int32_t ChangelogStore::PartitionOfSource(std::string_view source) {
  constexpr std::string_view kKafka = "kafka:";
  if (!StartsWith(source, kKafka)) return -1;
  const size_t slash = source.rfind('/');
  if (slash == std::string_view::npos || slash + 1 >= source.size()) return -1;
  int64_t p = 0;
  for (char c : source.substr(slash + 1)) {
    if (c < '0' || c > '9' || p > INT32_MAX / 10) return -1;
    p = p * 10 + (c - '0');
  }
  return static_cast<int32_t>(p);
}

int32_t ChangelogStore::RouteOfAccount(std::string_view account) {
  const std::string key(account);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = routes_.find(key);
    if (it != routes_.end()) return it->second;
  }
  int64_t stored = 0;
  if (!inner()->GetPosition(std::string(kRoutePrefix) + key, &stored).ok()) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  routes_[key] = static_cast<int32_t>(stored);
  return static_cast<int32_t>(stored);
}

Status ChangelogStore::Commit(const WriteSet& batch) {
  // Routes learned from this batch, and how far this store stands in the changelog partitions,
  // go in first (unsynced: the batch's own synced write syncs them).
  std::unordered_map<std::string_view, int32_t> batch_routes;
  WriteSet meta;
  meta.durable = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [account, source] : batch.account_sources) {
      const int32_t p = PartitionOfSource(source);
      if (p < 0) continue;
      batch_routes[account] = p;
      auto it = routes_.find(account);
      if (it != routes_.end() && it->second == p) continue;
      routes_[account] = p;
      meta.positions.push_back({std::string(kRoutePrefix) + account, p});
    }
    meta.positions.insert(meta.positions.end(), pending_positions_.begin(),
                          pending_positions_.end());
    pending_positions_.clear();
  }
  if (!meta.positions.empty()) {
    if (Status s = inner()->Commit(meta); !s.ok()) return s;
  }
  if (Status s = inner()->Commit(batch); !s.ok()) return s;

  std::set<int32_t> touched;
  for (const SourcePosition& p : batch.positions) {
    const int32_t partition = PartitionOfSource(p.source);
    if (partition >= 0) touched.insert(partition);
  }
  std::unordered_map<std::string_view, int32_t> event_routes;
  for (const auto& [id, source] : batch.event_sources) {
    const int32_t p = PartitionOfSource(source);
    if (p >= 0) event_routes[id] = p;
  }

  const int64_t produced_before = produced_.load();
  std::vector<changelog_format::Record> records;
  changelog_format::RecordsOf(meta, &records);
  changelog_format::RecordsOf(batch, &records);
  if (touched.empty()) {
    // A WriteSet that consumed nothing (retention's): what goes to every partition it touched
    // (its horizons) goes to the partitions its account records went to.
    for (const changelog_format::Record& r : records) {
      if (r.account.empty()) continue;
      auto it = batch_routes.find(r.account);
      const int32_t p = it != batch_routes.end() ? it->second : RouteOfAccount(r.account);
      if (p >= 0) touched.insert(p);
    }
  }
  Status produced = Status::Ok();
  auto produce = [&](int32_t partition, const changelog_format::Record& r) {
    if (!produced.ok()) return;
    if (partition >= partitions_) {
      produced = Status::Error("changelog topic " + options_.topic + " has no partition " +
                               std::to_string(partition) + " for input partition " +
                               std::to_string(partition));
      return;
    }
    produced = producer_->ProduceToPartition(options_.topic, partition, r.key,
                                             r.tombstone ? nullptr : &r.value);
    if (produced.ok()) produced_.fetch_add(1, std::memory_order_relaxed);
  };
  auto broadcast = [&](const changelog_format::Record& r) {
    for (int32_t p : touched) produce(p, r);
  };
  for (const changelog_format::Record& r : records) {
    if (!r.source.empty()) {
      if (StartsWith(r.source, kChangelogPrefix)) continue;  // this store's own bookkeeping
      if (StartsWith(r.source, kRoutePrefix)) {
        int64_t p = 0;
        if (state_format::DecodeInt64(r.value, &p)) produce(static_cast<int32_t>(p), r);
        continue;
      }
      if (StartsWith(r.source, kAccountClockPrefix)) {
        // An account's clock goes where the account's records go.
        const std::string_view account = std::string_view(r.source).substr(kAccountClockPrefix.size());
        auto it = batch_routes.find(account);
        const int32_t p = it != batch_routes.end() ? it->second : RouteOfAccount(account);
        if (p >= 0) {
          produce(p, r);
        } else {
          broadcast(r);
        }
        continue;
      }
      const int32_t p = PartitionOfSource(r.source);
      if (p >= 0) {
        produce(p, r);
      } else {
        broadcast(r);  // the event-time watermark
      }
      continue;
    }
    int32_t p = -1;
    bool routable = false;
    if (!r.account.empty()) {
      routable = true;
      auto it = batch_routes.find(r.account);
      p = it != batch_routes.end() ? it->second : RouteOfAccount(r.account);
    } else if (!r.event_id.empty()) {
      routable = true;
      auto it = event_routes.find(r.event_id);
      if (it != event_routes.end()) p = it->second;
    }
    if (p >= 0) {
      produce(p, r);
    } else {
      if (routable) unrouted_.fetch_add(1, std::memory_order_relaxed);
      broadcast(r);  // activity runs; anything of an unknown account
    }
  }
  if (!produced.ok()) return Status::Error("changelog: " + produced.message());
  if (produced_.load() != produced_before) delivered_.store(false);
  if (!batch.durable) return Status::Ok();

  // Waiting for delivery after every batch would hold the pipeline for a round trip each time:
  // wait at most once per flush_every_ms, otherwise only serve delivery reports.
  Status flushed;
  const auto now = Clock::now();
  if (now - last_flush_ >= std::chrono::milliseconds(options_.flush_every_ms)) {
    flushed = producer_->Flush(options_.flush_timeout_ms);
    last_flush_ = Clock::now();
  } else {
    flushed = producer_->Poll();
  }
  if (producer_->failed() > 0) {
    // A record that can never be delivered leaves a gap: the changelog is no longer a state.
    return Status::Error("changelog: " + flushed.message());
  }
  (void)delivered();  // notes the positions when everything arrived
  return Status::Ok();
}

bool ChangelogStore::delivered() {
  if (delivered_.load()) return true;
  (void)producer_->Poll();
  if (producer_->queued() > 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [partition, offset] : producer_->DeliveredOffsets(options_.topic)) {
    int64_t& noted = noted_offsets_[partition];
    if (offset + 1 <= noted) continue;  // nothing new delivered there since
    noted = offset + 1;
    pending_positions_.push_back({ChangelogPositionKey(options_.topic, partition), offset + 1});
  }
  delivered_.store(true);
  return true;
}

bool ChangelogStore::WaitDelivered(int timeout_ms) {
  if (delivered()) return true;
  (void)producer_->Flush(timeout_ms);
  return delivered();
}

Status ChangelogStore::SavePositions() {
  if (!delivered()) return Status::Ok();  // stored later, once delivered
  WriteSet w;
  {
    std::lock_guard<std::mutex> lock(mu_);
    w.positions.swap(pending_positions_);
  }
  return w.empty() ? Status::Ok() : inner()->Commit(w);
}

Status ChangelogStore::Restore(const std::vector<std::pair<std::string, int32_t>>& partitions,
                               int64_t* restored) {
  *restored = 0;
  // What this store already delivered is stored first: it need not be read back.
  if (Status s = SavePositions(); !s.ok()) return s;
  std::set<int32_t> wanted;
  for (const auto& [topic, partition] : partitions) wanted.insert(partition);
  std::vector<RestoreRange> ranges;
  for (int32_t p : wanted) {
    if (p >= partitions_) {
      return Status::Error("changelog topic " + options_.topic + " has no partition " +
                           std::to_string(p));
    }
    RestoreRange r;
    r.partition = p;
    if (Status s = PlanRestore(&r); !s.ok()) return s;
    if (!r.up_to_date) ranges.push_back(r);
  }
  if (!ranges.empty()) {
    if (Status s = RestoreRanges(&ranges, restored); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  routes_.clear();  // read again from the store, which now holds the restored routes
  return Status::Ok();
}

Status ChangelogStore::PlanRestore(RestoreRange* r) {
  const std::string& topic = options_.topic;
  int64_t lo = 0;
  rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
      reader_->rk, topic.c_str(), r->partition, &lo, &r->end, kRequestTimeoutMs);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("changelog " + topic + "/" + std::to_string(r->partition) +
                               ": watermarks: " + rd_kafka_err2str(e));
  }
  int64_t local = -1;
  if (Status s = inner()->GetPosition(ChangelogPositionKey(topic, r->partition), &local);
      s.IsNotFound()) {
    local = -1;
  } else if (!s.ok()) {
    return s;
  }
  r->up_to_date = local == r->end;  // this store wrote or read everything there is
  // From where this store stands; from the start when it never read this partition, or when
  // its place is gone (deleted by retention, or a topic made anew).
  r->from = local >= lo && local <= r->end ? local : lo;
  return Status::Ok();
}

// Reads every range's partition from its `from` to its `end` in one assignment (partitions read
// one after another would wait for a fetch each), committing in chunks of kRestoreChunk records;
// a partition's position is committed with or after its last record, the last chunk durable.
Status ChangelogStore::RestoreRanges(std::vector<RestoreRange>* ranges, int64_t* restored) {
  const std::string& topic = options_.topic;
  rd_kafka_t* rk = reader_->rk;
  // The event-time watermark and the retention horizons never go back: a restored one only
  // counts when newer than what the store holds.
  std::map<std::string, int64_t, std::less<>> floors;
  for (std::string_view key :
       {kWatermarkPosition, kHistoryHorizonPosition, kActivityHorizonPosition}) {
    int64_t stored = 0;
    const bool ok = inner()->GetPosition(key, &stored).ok();
    floors[std::string(key)] = ok ? stored : INT64_MIN;
  }
  WriteSet chunk;
  size_t in_chunk = 0;
  // Keys this chunk deletes: the store applies a WriteSet's deletes after its puts, so a put of
  // one of them (a resource deleted and made again) starts a new chunk.
  std::set<std::string, std::less<>> deleted;
  std::vector<SourcePosition> finished;  // positions of partitions read to their end
  auto commit_chunk = [&](bool last) -> Status {
    auto& pos = chunk.positions;
    pos.erase(std::remove_if(pos.begin(), pos.end(),
                             [&](const SourcePosition& p) {
                               auto floor = floors.find(p.source);
                               if (floor == floors.end()) return false;
                               if (p.next_offset <= floor->second) return true;
                               floor->second = p.next_offset;
                               return false;
                             }),
              pos.end());
    pos.insert(pos.end(), finished.begin(), finished.end());
    finished.clear();
    chunk.durable = last;
    Status s = chunk.empty() ? Status::Ok() : inner()->Commit(chunk);
    chunk = WriteSet();
    deleted.clear();
    in_chunk = 0;
    return s;
  };

  std::map<int32_t, RestoreRange*> reading;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(
      static_cast<int>(ranges->size()));
  for (RestoreRange& r : *ranges) {
    if (r.from >= r.end) {
      finished.push_back({ChangelogPositionKey(topic, r.partition), r.end});
      continue;
    }
    reading[r.partition] = &r;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), r.partition)->offset = r.from;
  }
  rd_kafka_resp_err_t e = reading.empty() ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("changelog " + topic + ": assign: " + rd_kafka_err2str(e));
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.restore_timeout_ms);
  std::string last_error;
  Status failed = Status::Ok();
  auto finish = [&](std::map<int32_t, RestoreRange*>::iterator it) {
    finished.push_back({ChangelogPositionKey(topic, it->first), it->second->end});
    restores_.fetch_add(1);
    reading.erase(it);
  };
  while (!reading.empty() && failed.ok()) {
    if (Clock::now() >= deadline) {
      std::string names;
      for (const auto& [p, r] : reading) {
        names += (names.empty() ? "" : ", ") + topic + "/" + std::to_string(p) + " (to offset " +
                 std::to_string(r->end) + ")";
      }
      failed = Status::Error("changelog " + names + ": not read to the end within " +
                             std::to_string(options_.restore_timeout_ms) + " ms" +
                             (last_error.empty() ? "" : " (last error: " + last_error + ")"));
      break;
    }
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
    if (msg == nullptr) continue;
    auto it = reading.find(msg->partition);
    if (it == reading.end()) {
      // Left over from an earlier assignment of this reader, or past a partition's end.
    } else if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (msg->offset >= it->second->end) finish(it);
    } else if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_error = rd_kafka_message_errstr(msg);
    } else {
      const std::string_view key(static_cast<const char*>(msg->key), msg->key_len);
      const bool tombstone = msg->payload == nullptr;
      const std::string_view value =
          tombstone ? std::string_view()
                    : std::string_view(static_cast<const char*>(msg->payload), msg->len);
      if (!tombstone && deleted.count(key) != 0) failed = commit_chunk(false);
      if (failed.ok()) {
        if (Status s = changelog_format::AddRecord(key, value, tombstone, &chunk); !s.ok()) {
          failed = Status::Error("changelog " + topic + "/" + std::to_string(msg->partition) +
                                 " offset " + std::to_string(msg->offset) + ": " + s.message());
        } else {
          if (tombstone) deleted.emplace(key);
          ++*restored;
          if (msg->offset + 1 >= it->second->end) finish(it);
          if (++in_chunk >= kRestoreChunk) failed = commit_chunk(false);
        }
      }
    }
    rd_kafka_message_destroy(msg);
  }
  rd_kafka_assign(rk, nullptr);
  if (!failed.ok()) return failed;
  if (Status s = commit_chunk(true); !s.ok()) return s;
  restored_.fetch_add(*restored);
  return Status::Ok();
}

ChangelogStats ChangelogStore::stats() const {
  ChangelogStats s;
  s.produced = produced_.load();
  s.unrouted = unrouted_.load();
  s.restored = restored_.load();
  s.restores = restores_.load();
  return s;
}

}  // namespace driftwatch
