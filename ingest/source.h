#pragma once
// Event sources: where raw records come from. Implementations: FileSource (replay of files and
// stdin) and KafkaSource (kafka/kafka_source.h).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vocab/status.h"

namespace driftwatch {

// One input record. `bytes` is owned by the record; `position` is where the source stands after
// it (stored with the state it produced so a restart resumes exactly there).
struct RawRecord {
  std::string bytes;
  std::string origin;        // "file.json:12", "topic/3@1234"
  std::string source;        // position key: "file:/abs/path", "kafka:topic/3"
  int64_t next_offset = 0;   // position of the next record of that source
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Fills `out` (cleared first) with up to `max` records. Returns false in *more when the source
  // is exhausted (files); a live source keeps returning true.
  virtual Status Next(size_t max, std::vector<RawRecord>* out, bool* more) = 0;
};

}  // namespace driftwatch
