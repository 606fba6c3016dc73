#pragma once
// Live records from Kafka: librdkafka's high-level consumer in a consumer group.
//
// Exactly-once state. The position of every partition (the next offset to read) is stored in the
// StateStore, in the same WriteBatch as the state it produced (RawRecord::source is
// "kafka:TOPIC/PARTITION", next_offset is offset + 1). On assignment each partition is sought to
// the larger of its stored position and the group's committed offset (a partition this member
// never owned, or owned before another member moved it on, continues from the group's offset;
// one that crashed after its batch was durable but before the Kafka commit continues from the
// stored one). Offsets are committed to Kafka only after the batch is durable (OnBatchDurable),
// so the group's offsets never run ahead of the state and ordinary lag tools work.
//
// Rebalances. Before partitions are revoked, the batch in hand (records already taken from
// librdkafka in the Next() call that is running) is handed to the drain handler, which makes it
// durable; then the offsets are committed synchronously and the partitions released. If there is
// no handler or it fails, records of the revoked partitions are dropped from the batch in hand:
// the next owner reads them again from the committed offset, so nothing is lost.
//
// Broker outages: the consumer keeps retrying; connected() turns false on "all brokers down", or
// when a metadata request fails after a connection was dropped or refused, and true again once a
// metadata request succeeds (CheckConnection). Messages still arriving from librdkafka's prefetch
// queue do not count as a connection.
//
// Threading: one thread calls Next/OnBatchDurable/Close; the rebalance and drain callbacks run on
// that thread, inside Next or Close. lag() may be read from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ingest/source.h"
#include "state/state_store.h"
#include "vocab/status.h"

namespace driftwatch {

struct KafkaSourceOptions {
  std::string brokers;  // bootstrap.servers
  std::vector<std::string> topics;
  std::string group_id = "driftwatch";
  std::vector<std::pair<std::string, std::string>> properties;  // passed to librdkafka as is
  int batch_max_wait_ms = 100;  // Next() returns what it has after this long
  // Close() gives up leaving the group after this long (see Close()).
  int close_timeout_ms = 5000;
  // Stored positions are read from here on assignment (required).
  StateStore* positions = nullptr;
};

struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t lag = 0;  // high watermark minus the next offset to read; -1 when unknown
};

// "kafka:TOPIC/PARTITION": the StateStore position key of a partition.
std::string KafkaPositionKey(const std::string& topic, int32_t partition);

class KafkaSource : public RecordSource {
 public:
  static Status Open(const KafkaSourceOptions& options, std::unique_ptr<KafkaSource>* out);
  ~KafkaSource() override;  // closes the consumer if Close() was not called

  // Up to `max` records, waiting at most batch_max_wait_ms. Always *more = true.
  Status Next(size_t max, std::vector<RawRecord>* out, bool* more) override;

  // Everything Next() returned so far is durable: commit those offsets to Kafka (asynchronously).
  void OnBatchDurable();

  // Makes records durable before their partitions are revoked; returns Ok when they are. Called
  // before every revocation (not when partitions are lost), with the batch in hand or an empty
  // one.
  using DrainHandler = std::function<Status(const std::vector<RawRecord>& batch)>;
  void SetDrainHandler(DrainHandler handler) { drain_ = std::move(handler); }

  // Runs when partitions are assigned, before their stored positions are read: brings the
  // state of those partitions in (the changelog restore). When it fails the partitions are
  // still taken (the group would wait for them otherwise) but Next() returns its error from
  // then on: the caller stops rather than consume without the partitions' state.
  using AssignHandler =
      std::function<Status(const std::vector<std::pair<std::string, int32_t>>& partitions)>;
  void SetAssignHandler(AssignHandler handler) { assign_ = std::move(handler); }

  // Leaves the group: the batch in hand must have been made durable (or it is re-read by the next
  // owner). Revokes the assignment (committing what is durable) and leaves the group, waiting at
  // most close_timeout_ms in all; when the cluster does not answer in that time (broker gone,
  // coordinator lost) it gives up and returns an error saying so. Giving up loses nothing: the
  // state and its positions are durable in the StateStore, the group's offsets are a courtesy for
  // lag tools and the next owner seeks to the stored positions anyway; the group sees this member
  // leave only when its session times out. Idempotent: later calls return the first call's
  // result.
  //
  // The destructor closes (if Close() was not called) and destroys the handle without closing
  // again. librdkafka's destroy still waits for commits queued for an unreachable coordinator,
  // up to session.timeout.ms (45 s by default); the destructor waits for it at most 2 s, then
  // leaves it to finish on its own thread, so a process that is shutting down exits on time.
  Status Close();

  bool connected() const { return connected_.load(); }
  // Probes the cluster with a metadata request (at most once a second, waiting at most 0.5 s)
  // when not connected or a connection failed since the last probe.
  void CheckConnection();
  // Partitions assigned now, with their consumer lag.
  std::vector<PartitionLag> lag() const;
  int64_t rebalances() const { return rebalances_.load(); }
  // The most recent error reported by librdkafka ("" if none), for logs.
  std::string last_error() const;
  // Consumers of this process whose handle is still being destroyed after their destructor
  // returned (see Close()): for tests and shutdown logs.
  static int DestroysInFlight();

  struct Impl;

 private:
  KafkaSource() = default;
  std::shared_ptr<Impl> impl_;  // shared with a destroy that outlives the destructor
  DrainHandler drain_;
  AssignHandler assign_;
  Status assign_failed_;
  std::atomic<bool> connected_{true};
  std::atomic<int64_t> rebalances_{0};
  friend struct Impl;
};

}  // namespace driftwatch
