#pragma once
// Questions asked of any StateStore, answered the same way for RocksDB and the in-memory twin.

#include <cstdint>
#include <functional>
#include <string_view>

#include "state/state_store.h"
#include "vocab/status.h"

namespace driftwatch {

// Every resource as it was at `at_ms` (event time, ms), in resource-key order, answered from
// history alone: per resource, the last applied entry at or before `at_ms` that set a document
// or deleted the resource decides. Entries not applied (older than the document then) and
// history-only entries (unknown writes) never decide. Tombstones are never returned.
Status ScanResourcesAt(
    StateStore* store, int64_t at_ms,
    const std::function<bool(std::string_view key, std::string_view document)>& fn);

}  // namespace driftwatch
