#pragma once
// Encodings of the activity index (doc/state_format.md "Activity index"), shared by the RocksDB
// store and its in-memory twin so that both order and answer alike. Persisted: do not change.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "state/state_store.h"

namespace driftwatch::activity_format {

// Prefix byte of run records; index entries use the ActivityIndex value as theirs.
inline constexpr char kRunPrefix = 'r';

// index byte, value, 0x00, 8-byte big-endian (time_ms XOR sign bit), event id.
std::string EntryKey(ActivityIndex index, std::string_view value, int64_t time_ms,
                     std::string_view event_id);
// index byte, value, 0x00: every entry key of that value starts with it.
std::string EntryPrefix(ActivityIndex index, std::string_view value);
// The smallest key of `value` at or after `time_ms`.
std::string EntrySeek(ActivityIndex index, std::string_view value, int64_t time_ms);
// Time of an entry key (false when `key` is not one).
bool EntryTime(std::string_view key, size_t prefix_size, int64_t* time_ms);

// A record with everything in it (the changelog's form, and the value of format-2 entries).
std::string EncodeRecord(const ActivityRecord& record);
bool DecodeRecord(std::string_view value, ActivityRecord* record);

// Format 3: each call is stored once, under its call key, and filed under each of its index
// values by an entry key whose value is empty (a posting). A format-2 entry holds its record
// inline instead; readers take both.
inline constexpr char kCallPrefix = 'c';
// 'c', 8-byte big-endian (time_ms XOR sign bit), event id.
std::string CallKey(int64_t time_ms, std::string_view event_id);
// The call key an entry key of a value with `prefix_size` bytes of prefix points at.
std::string CallKeyOfEntry(std::string_view entry_key, size_t prefix_size);
// The record without what its call key holds (time, event id).
std::string EncodeCall(const ActivityRecord& record);
bool DecodeCall(std::string_view key, std::string_view value, ActivityRecord* record);

// Format 4: the calls one commit adds are stored together, in a block per hour of event time
// they fall in, and each index value of the block's calls gets one posting listing their
// positions in the block. A read-only call costs its bytes in a block, not five entries.
inline constexpr char kBlockPrefix = 'b';
inline constexpr int64_t kBlockSpanMs = 3600 * 1000;
inline constexpr size_t kMaxBlockCalls = 256;  // bounds what a point query reads for one call
// The start of the block span `time_ms` falls in.
int64_t BlockBucket(int64_t time_ms);
// 'b', 8-byte big-endian (bucket start XOR sign bit), 8-byte big-endian block id.
std::string BlockKey(int64_t bucket_ms, uint64_t block_id);
// Every call as EncodeRecord writes it, counted and length-prefixed.
std::string EncodeBlock(const std::vector<const ActivityRecord*>& calls);
// Calls fn with the calls at `positions` (ascending) of a block; false when it is unreadable.
bool DecodeBlockCalls(std::string_view block, const std::vector<uint32_t>& positions,
                      const std::function<void(ActivityRecord&&)>& fn);
// The posting of a block under one index value: the index byte in upper case, the value,
// 0x00, 8-byte bucket start, 8-byte block id; its value is a varint count and ascending varint
// positions.
std::string BlockEntryPrefix(ActivityIndex index, std::string_view value);
std::string BlockEntrySeek(ActivityIndex index, std::string_view value, int64_t bucket_ms);
// Appends bucket and block id to a BlockEntryPrefix.
void AppendBlockEntrySuffix(std::string* key, int64_t bucket_ms, uint64_t block_id);
// The block key a posting of a value with `prefix_size` bytes of prefix points at, and its
// bucket (false when `key` is not one).
bool BlockOfEntry(std::string_view entry_key, size_t prefix_size, int64_t* bucket_ms,
                  std::string* block_key);
std::string EncodePositions(const std::vector<uint32_t>& positions);
bool DecodePositions(std::string_view in, std::vector<uint32_t>* positions);

std::string RunKey(std::string_view run_id);
std::string EncodeRun(const ActivityRun& run);
bool DecodeRun(std::string_view key, std::string_view value, ActivityRun* run);

// The index values a record is filed under (empty values are skipped by the callers).
struct IndexValue {
  ActivityIndex index;
  std::string_view value;
};
inline constexpr int kIndexCount = 4;
inline void IndexValues(const ActivityRecord& r, IndexValue out[kIndexCount]) {
  out[0] = {ActivityIndex::kPrincipal, r.principal_arn};
  out[1] = {ActivityIndex::kAccessKey, r.access_key_id};
  out[2] = {ActivityIndex::kSourceIp, r.source_ip};
  out[3] = {ActivityIndex::kSession, r.session_name};
}

}  // namespace driftwatch::activity_format
