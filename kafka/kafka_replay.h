#pragma once
// Replay of a time range of a Kafka topic: `kafka://BROKERS/TOPIC?from=TIME&to=TIME`.
// BROKERS is host:port[,host:port...]; TIME is RFC 3339 ("2024-05-01T03:00:00Z") or milliseconds
// since the Unix epoch; from defaults to the beginning, to to the end as it is when the replay
// starts. Times are Kafka record timestamps.
//
// Every partition is read from the offset for `from` (offsetsForTimes) up to the offset for the
// first record after `to` (or the high watermark when the replay started), so the replay ends by
// itself. Records whose timestamp is outside the range are skipped as well, which keeps the
// result right on brokers that cannot look offsets up by time (they start at the beginning).
// No consumer group is joined and no offset is committed: a replay never disturbs the live
// service. Threading: one thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/source.h"
#include "vocab/status.h"

namespace driftwatch {

struct KafkaReplayUrl {
  std::string brokers;
  std::string topic;
  int64_t from_ms = -1;  // -1: from the beginning
  int64_t to_ms = -1;    // -1: up to the end as of the start
  std::vector<std::pair<std::string, std::string>> properties;  // extra ?name=value pairs
};

// Parses a kafka:// URL; unknown query names other than from/to are passed to librdkafka as
// properties (e.g. security.protocol=ssl).
Status ParseKafkaReplayUrl(std::string_view url, KafkaReplayUrl* out);

struct KafkaReplayStats {
  int64_t partitions = 0;
  int64_t records = 0;   // records returned
  int64_t skipped = 0;   // records read but outside the time range
  bool offsets_for_times = false;  // whether offsetsForTimes narrowed any partition's range
};

class KafkaReplaySource : public RecordSource {
 public:
  static Status Open(const KafkaReplayUrl& url, std::unique_ptr<KafkaReplaySource>* out);
  ~KafkaReplaySource() override;
  // Returns *more = false once every partition has reached its end offset.
  Status Next(size_t max, std::vector<RawRecord>* out, bool* more) override;
  const KafkaReplayStats& stats() const { return stats_; }

  struct Impl;

 private:
  KafkaReplaySource() = default;
  std::unique_ptr<Impl> impl_;
  KafkaReplayStats stats_;
};

// The entry point `driftwatch replay` uses for a kafka:// input.
Status OpenKafkaReplaySource(std::string_view url, std::unique_ptr<RecordSource>* out);

// True when `input` names a Kafka replay ("kafka://...").
bool IsKafkaReplayUrl(std::string_view input);

}  // namespace driftwatch
