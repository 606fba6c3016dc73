#include "state/state_queries.h"

#include <string>

#include "state/state_format.h"

namespace driftwatch {

Status ScanResourcesAt(
    StateStore* store, int64_t at_ms,
    const std::function<bool(std::string_view key, std::string_view document)>& fn) {
  std::string current_key;
  std::string decided;  // document of the deciding entry; "" when absent or deleted
  bool stop = false;
  auto flush = [&]() {
    if (!current_key.empty() && !decided.empty() && !stop) stop = !fn(current_key, decided);
  };
  Status s = store->ScanHistory("", [&](const HistoryEntry& e) {
    if (e.resource_key != current_key) {
      flush();
      if (stop) return false;
      current_key = e.resource_key;
      decided.clear();
    }
    if (e.resource_key.empty() || e.resource_key[0] == state_format::kInternalKeyPrefix) {
      return true;
    }
    if (e.time_ms > at_ms || !e.applied) return true;
    if (e.deleted) {
      decided.clear();
    } else if (!e.document_after.empty()) {
      decided = e.document_after;
    }
    return true;
  });
  if (!s.ok()) return s;
  flush();
  return Status::Ok();
}

}  // namespace driftwatch
