#pragma once
// Handing state over between members of a consumer group: a compacted changelog topic.
//
// ChangelogStore wraps the member's StateStore. Every WriteSet it commits is also produced to
// the changelog topic, one record per written key (state/changelog_format.h), to the changelog
// partition with the number of the source partition the write came from. Producers key events
// by account, so an account's resources, history, findings and calls all come from one source
// partition; the WriteSet says which (WriteSet::account_sources, event_sources) and the store
// remembers each account's partition (as a position "route:ACCOUNT", so restarts and restores
// know it too). A record of an account it has never seen a source for (not expected) goes to
// every partition of its WriteSet and is counted as unrouted.
//
// A partition's records are produced in commit order by an idempotent producer, and its
// position record after the state it positions: any prefix of a changelog partition is a
// consistent state of that partition. A durable commit waits (bounded, at most once a second)
// until everything is delivered; until then delivered() is false and the service holds its
// offset commits back, so the group's offsets never run ahead of the changelog.
//
// Restore, on assignment: for each assigned source partition, the changelog partition of the
// same number is read from where this store last stood in it ("changelog:TOPIC/P", stored with
// the state) to its end, and committed into the store. A member that owned the partition last
// finds nothing new and reads nothing. Afterwards the source continues from the restored
// position. Requirements, checked at Open: the changelog topic exists with at least as many
// partitions as every source topic; topics that share partition numbers are co-partitioned
// (keyed alike), so the range assignor gives partition P of each to one member.
//
// Threading: Commit may run on the pipeline's committer thread; Restore on the consumer's thread
// between batches (no Commit runs then). Reads go straight to the wrapped store.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "state/forwarding_store.h"
#include "state/state_store.h"
#include "vocab/status.h"

namespace driftwatch {

class KafkaProducer;

struct ChangelogOptions {
  std::string brokers;
  std::string topic;
  std::vector<std::string> source_topics;  // checked against the changelog's partition count
  std::vector<std::pair<std::string, std::string>> properties;  // security etc., as is
  // A durable commit waits for the changelog to be delivered at most once per flush_every_ms
  // (otherwise it only serves delivery reports), and then at most flush_timeout_ms; until
  // everything arrived delivered() is false.
  int flush_every_ms = 1000;
  int flush_timeout_ms = 10000;
  // Restore gives up (an error: the service stops rather than run without the state) when the
  // changelog partition does not reach its end within this long.
  int restore_timeout_ms = 120000;
};

struct ChangelogStats {
  int64_t produced = 0;   // records produced
  int64_t unrouted = 0;   // of them: sent to every partition of their WriteSet
  int64_t restored = 0;   // records read back by Restore
  int64_t restores = 0;   // changelog partitions read by Restore
};

class ChangelogStore : public ForwardingStateStore {
 public:
  // `inner` must outlive this store.
  static Status Open(const ChangelogOptions& options, StateStore* inner,
                     std::unique_ptr<ChangelogStore>* out);
  ~ChangelogStore() override;

  // Reads go to the wrapped store. Commit commits to it, then produces the records. The wrapped
  // store's error is returned as is; a producing error (a permanent one: unknown topic, message
  // too large) is returned too, after the state is durable.
  Status Commit(const WriteSet& batch) override;

  // Brings the state of these source partitions (topic, partition) up to the changelog's end.
  // *restored counts the records read. Run it before the partitions are consumed.
  Status Restore(const std::vector<std::pair<std::string, int32_t>>& partitions,
                 int64_t* restored);

  // Everything produced by durable commits so far is delivered.
  bool delivered();
  // Waits up to `timeout_ms` for everything produced to be delivered; delivered() after it.
  // Before a partition is released: its next owner must find all of this member's records.
  bool WaitDelivered(int timeout_ms);
  // Stores how far this store stands in the changelog partitions now (otherwise stored with the
  // next commit), so that the next Restore starts there: for shutdown.
  Status SavePositions();
  ChangelogStats stats() const;
  const std::string& topic() const { return options_.topic; }
  // The source (and changelog) partition an account's records come from, learned from commits
  // or restored; -1 when unknown. Safe on any thread.
  int32_t RouteOfAccount(std::string_view account);

 private:
  explicit ChangelogStore(StateStore* inner);
  // The changelog partition of a position key "kafka:TOPIC/P", or -1.
  static int32_t PartitionOfSource(std::string_view source);
  // A changelog partition to read back: from `from` to `end` (the high watermark), unless the
  // store stands at its end already.
  struct RestoreRange {
    int32_t partition = 0;
    int64_t from = 0;
    int64_t end = 0;
    bool up_to_date = false;
  };
  Status PlanRestore(RestoreRange* range);
  Status RestoreRanges(std::vector<RestoreRange>* ranges, int64_t* restored);

  ChangelogOptions options_;
  std::unique_ptr<KafkaProducer> producer_;
  struct Reader;
  std::unique_ptr<Reader> reader_;
  int32_t partitions_ = 0;
  std::mutex mu_;  // guards routes_ and pending_positions_ (Commit runs on the committer thread)
  std::unordered_map<std::string, int32_t> routes_;  // account -> partition, learned or stored
  // "changelog:TOPIC/P" positions delivered but not yet stored: written with the next commit.
  std::vector<SourcePosition> pending_positions_;
  std::unordered_map<int32_t, int64_t> noted_offsets_;  // the newest pending position noted
  std::atomic<int64_t> produced_{0};
  std::atomic<int64_t> unrouted_{0};
  std::atomic<int64_t> restored_{0};
  std::atomic<int64_t> restores_{0};
  std::atomic<bool> delivered_{true};
  std::chrono::steady_clock::time_point last_flush_{};  // Commit's thread only
};

// "changelog:TOPIC/P": the StateStore position key of how far a store stands in a changelog
// partition.
std::string ChangelogPositionKey(const std::string& topic, int32_t partition);

}  // namespace driftwatch
