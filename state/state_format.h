#pragma once
// Encodings of on-disk format version 3 (doc/state_format.md), shared by the RocksDB store and
// its in-memory twin so that both order and answer alike. Do not change: a change here is a new
// format version.

#include <cstdint>
#include <string>
#include <string_view>

#include "state/state_store.h"

namespace driftwatch::state_format {

inline constexpr int kFormatVersion = 5;
// Versions before 5 differ only in the activity index: version 1 also in history records (no
// replayable call), version 2 holds each call's record in each of its entries, version 3 stores
// each call once with a key-only posting per value, version 4 each call once with one posting
// list per value, hour and commit, version 5 as 4 with the lists of principals and access keys
// carrying their calls too. All are read as they are, and a writer that opens an older state
// records version 5 (records of each version then live side by side).
inline constexpr int kOldestReadableFormatVersion = 1;

// Keys in the resources family that start with this byte are internal (tombstones) and are
// never returned by ScanResources.
inline constexpr char kInternalKeyPrefix = '\0';

// resource key, 0x00, 8-byte big-endian (time_ms XOR sign bit), event id.
std::string HistoryKey(std::string_view resource_key, int64_t time_ms, std::string_view event_id);
// resource key + 0x00: every history key of that resource starts with it.
std::string HistoryPrefix(std::string_view resource_key);
bool ParseHistoryKey(std::string_view key, std::string* resource_key, int64_t* time_ms,
                     std::string* event_id);

std::string EncodeHistoryValue(const HistoryEntry& entry);
// Fills every field but resource_key, time_ms and event_id (they live in the key).
bool DecodeHistoryValue(std::string_view value, HistoryEntry* entry);

std::string EncodeInt64(int64_t v);  // 8 bytes big-endian two's complement
bool DecodeInt64(std::string_view bytes, int64_t* v);

}  // namespace driftwatch::state_format
