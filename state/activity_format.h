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

// Format 4: each call once under its call key (as format 3), and one posting per index value,
// hour of event time and commit, listing the calls of that commit filed under the value. A
// read-only call costs its call record and a share of a few postings, not five entries.
inline constexpr int64_t kPostingSpanMs = 3600 * 1000;
// The start of the posting span `time_ms` falls in.
int64_t PostingBucket(int64_t time_ms);
// A posting list's key: the index byte in upper case, the value, 0x00, 8-byte big-endian
// (bucket start XOR sign bit), 8-byte big-endian list id (unique within the state).
std::string PostingPrefix(ActivityIndex index, std::string_view value);
// A posting list's key without its list id: the smallest key of `value` at `bucket_ms`.
std::string PostingSeek(ActivityIndex index, std::string_view value, int64_t bucket_ms);
void AppendPostingSeek(std::string* out, ActivityIndex index, std::string_view value,
                       int64_t bucket_ms);
// Appends a list id to a PostingSeek key, making the posting list's key.
void AppendPostingListId(std::string* key, uint64_t list_id);
// The bucket of a posting list key of a value with `prefix_size` bytes of prefix.
bool PostingBucketOf(std::string_view key, size_t prefix_size, int64_t* bucket_ms);
// A posting list's value: varint count, then each call's 8-byte time and length-prefixed event
// id, in the order given.
struct CallRef {
  int64_t time_ms = 0;
  std::string_view event_id;
  // Format 5, lists of principals and access keys: the call's EncodeCall value, carried in the
  // list so that the questions an incident starts from read a few lists instead of one call key
  // per call found. Absent (has_call false) in other lists, which name the call only.
  bool has_call = false;
  std::string_view call;
};
void AppendCallRef(std::string* list, int64_t time_ms, std::string_view event_id);
std::string FinishPostingList(uint32_t count, const std::string& refs);
// Format 5: a list that carries its calls: 0x00 (a format-4 list starts with its count, never
// 0), 0x01, varint count, then each call's 8-byte time, length-prefixed event id and
// length-prefixed EncodeCall value.
void AppendCallWithRef(std::string* list, int64_t time_ms, std::string_view event_id,
                       std::string_view call);
std::string FinishPostingListWithCalls(uint32_t count, const std::string& entries);
// The index values whose lists carry their calls.
inline bool ListCarriesCalls(ActivityIndex index) {
  return index == ActivityIndex::kPrincipal || index == ActivityIndex::kAccessKey;
}
// Either kind of list.
bool DecodePostingList(std::string_view in, std::vector<CallRef>* refs);

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
  out[0] = {ActivityIndex::kPrincipal, r.actor.arn};
  out[1] = {ActivityIndex::kAccessKey, r.actor.access_key_id};
  out[2] = {ActivityIndex::kSourceIp, r.actor.source_ip};
  out[3] = {ActivityIndex::kSession, r.session_name};
}

}  // namespace driftwatch::activity_format
