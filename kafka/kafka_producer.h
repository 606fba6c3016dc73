#pragma once
// Producing to Kafka: an idempotent producer (no duplicates, order kept per partition across
// retries), the findings sink (every finding status change as FindingToJson or an OCSF object,
// keyed by finding id, so a compacted topic keeps each finding's latest state) and the
// dead-letter sink.
//
// Delivery: messages are queued by librdkafka and retried without a deadline
// (message.timeout.ms=0) so a broker outage delays findings instead of losing them; Flush() on
// shutdown waits a bounded time. Threading: one thread produces; librdkafka's own threads deliver.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/finding_sink.h"
#include "engine/pipeline.h"
#include "vocab/status.h"

namespace driftwatch {

struct KafkaProducerOptions {
  std::string brokers;  // bootstrap.servers
  std::vector<std::pair<std::string, std::string>> properties;  // passed as is (security etc.)
  bool idempotent = true;
  int linger_ms = 5;
};

class KafkaProducer {
 public:
  static Status Open(const KafkaProducerOptions& options, std::unique_ptr<KafkaProducer>* out);
  ~KafkaProducer();  // flushes for up to 5 s, then drops what is left (and says so on stderr)
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues one message; `timestamp_ms` 0 = now. Blocks (serving delivery reports) while the
  // local queue is full. Fails only on a permanent error (unknown topic, message too large).
  Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                 int64_t timestamp_ms = 0,
                 const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Queues one message for an explicit partition; a null `value` is a tombstone (a compacted
  // topic then forgets `key`). Blocks like Produce while the local queue is full.
  Status ProduceToPartition(std::string_view topic, int32_t partition, std::string_view key,
                            const std::string* value);
  // The highest offset delivered so far in each partition of `topic` (partitions with nothing
  // delivered are absent).
  std::vector<std::pair<int32_t, int64_t>> DeliveredOffsets(std::string_view topic) const;
  // Messages queued and not yet delivered.
  int64_t queued() const;
  // Serves delivery reports without blocking; returns the first permanent delivery failure since
  // the last call.
  Status Poll();
  // Waits up to `timeout_ms` for everything queued to be delivered.
  Status Flush(int timeout_ms);
  int64_t delivered() const;
  int64_t failed() const;

 private:
  KafkaProducer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Findings to a Kafka topic, keyed by finding_id. The value is `format(finding)` when a formatter
// is given (the service passes the OCSF mapping when findings.format says ocsf), else
// FindingToJson. Does not own the producer.
class KafkaFindingSink : public FindingSink {
 public:
  using Formatter = std::function<std::string(const Finding& finding)>;
  KafkaFindingSink(KafkaProducer* producer, std::string topic, Formatter format = nullptr)
      : producer_(producer), topic_(std::move(topic)), format_(std::move(format)) {}
  Status Emit(const Finding& finding) override;
  Status Flush() override;  // non-blocking: serves delivery reports

 private:
  KafkaProducer* producer_;
  std::string topic_;
  Formatter format_;
};

// Undecodable records to a Kafka topic, keyed by origin, with headers dw-origin, dw-reason and
// dw-detail. The value is `format(bytes, origin, reason, detail)` when a formatter is given (the
// service passes the dead-letter file's JSON line), else the original bytes. Does not own the
// producer.
class KafkaDeadLetterSink : public DeadLetterSink {
 public:
  using Formatter = std::function<std::string(std::string_view bytes, std::string_view origin,
                                              std::string_view reason, std::string_view detail)>;
  KafkaDeadLetterSink(KafkaProducer* producer, std::string topic, Formatter format = nullptr)
      : producer_(producer), topic_(std::move(topic)), format_(std::move(format)) {}
  Status Write(std::string_view bytes, std::string_view origin, std::string_view reason,
               std::string_view detail) override;

 private:
  KafkaProducer* producer_;
  std::string topic_;
  Formatter format_;
};

// Produces every record of an NDJSON/JSON file (split like FileSource does) to `topic`, keyed by
// AccountKeyOf (ingest/account_key.h), and waits until all are delivered. *count receives the number of records.
Status ProduceFile(KafkaProducer* producer, const std::string& topic, const std::string& path,
                   int64_t* count);

}  // namespace driftwatch
