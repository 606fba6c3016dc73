#pragma once
// The changelog: every write of a WriteSet as one keyed record, so that a compacted Kafka topic
// keeps the latest value of every state key and another member of the consumer group can rebuild
// a partition's state from it (kafka/changelog.h does the Kafka side). Records are logical, in
// the encodings of the on-disk format (state_format.h, activity_format.h, FindingToStoredJson),
// not RocksDB's: any StateStore restores them by Commit. Layout: doc/state_format.md
// "Changelog records". Persisted in Kafka: do not change without a new record version.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "state/state_store.h"
#include "vocab/status.h"

namespace driftwatch::changelog_format {

// First byte of every key: what the record holds.
enum class Kind : char {
  kResource = 'r',     // resource key -> document; a tombstone deletes the resource
  kHistory = 'h',      // state_format::HistoryKey -> EncodeHistoryValue; a tombstone: retention
  kSeen = 's',         // event id -> EncodeInt64(event time)
  kFinding = 'f',      // finding id -> FindingToStoredJson
  kPosition = 'p',     // source -> EncodeInt64(next offset)
  kActivity = 'a',     // 8-byte time, event id -> activity_format::EncodeRecord; tombstone: retention
  kActivityRun = 'u',  // run id -> activity_format::EncodeRun
};

// One changelog record, with what decides the partition it belongs to: the account of the state
// it holds, the event it remembers, or the source it positions; none of them: every partition
// the WriteSet touched (activity runs and the event-time watermark).
struct Record {
  std::string key;
  std::string value;
  bool tombstone = false;
  std::string account;   // resources, history, findings, activity
  std::string event_id;  // seen ids
  std::string source;    // positions
};

// The account of a resource key ("account|region|type|id").
std::string_view AccountOfResourceKey(std::string_view resource_key);

// Every write of `w` as records, in an order that restores to the same state.
void RecordsOf(const WriteSet& w, std::vector<Record>* out);

// Adds one record read back from the changelog to `w` (a tombstone has no value). An unknown
// kind or an unreadable value is an error naming the kind.
Status AddRecord(std::string_view key, std::string_view value, bool tombstone, WriteSet* w);

}  // namespace driftwatch::changelog_format
