#include "state/retention.h"

#include <algorithm>
#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "vocab/resource_key.h"

namespace driftwatch {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

int64_t PositionOr(StateStore* store, std::string_view key, int64_t otherwise, Status* status) {
  int64_t value = 0;
  Status s = store->GetPosition(key, &value);
  if (s.IsNotFound()) return otherwise;
  if (!s.ok()) {
    *status = s;
    return otherwise;
  }
  return value;
}

// The account of a resource key (a key without '|': the whole key).
std::string_view AccountOfKey(std::string_view resource_key) {
  ResourceKeyParts parts;
  ParseResourceKey(resource_key, &parts);
  return parts.account;
}

// One old entry of a resource, as much as choosing what to keep needs.
struct OldEntry {
  int64_t time_ms;
  std::string event_id;
  bool base_candidate;  // applied, and a document or a deletion: decides the state after it
  bool deleted;
};

// Adds the entries of one resource older than the horizon that are to go: all but the newest
// base candidate, which goes too when it is a deletion.
void DropOld(const std::string& resource_key, const std::vector<OldEntry>& old,
             std::vector<HistoryRef>* drops) {
  size_t base = old.size();
  for (size_t i = old.size(); i-- > 0;) {
    if (old[i].base_candidate) {
      base = i;
      break;
    }
  }
  for (size_t i = 0; i < old.size(); ++i) {
    if (i == base && !old[i].deleted) continue;
    drops->push_back({resource_key, old[i].time_ms, old[i].event_id});
  }
}

// One pass over history from the resource `*from` on: up to `max` drops (whole resources at a
// time). *more: stopped early; *from is then the resource to resume at.
Status CollectHistory(StateStore* store, int64_t horizon, size_t max,
                      const std::function<bool(std::string_view)>& owns, std::string* from,
                      std::vector<HistoryRef>* drops, bool* more) {
  *more = false;
  std::string current;
  bool have_current = false;
  std::vector<OldEntry> old;
  Status s = store->ScanHistoryBefore(*from, horizon, [&](const HistoryEntry& e) {
    if (!have_current || e.resource_key != current) {
      if (have_current) DropOld(current, old, drops);
      old.clear();
      if (drops->size() >= max) {
        *more = true;
        *from = e.resource_key;
        have_current = false;
        return false;
      }
      current = e.resource_key;
      have_current = true;
    }
    if (!owns || owns(AccountOfKey(e.resource_key))) {
      old.push_back({e.time_ms, e.event_id,
                     e.applied && (e.deleted || !e.document_after.empty()), e.deleted});
    }
    return true;
  });
  if (!s.ok()) return s;
  if (have_current) DropOld(current, old, drops);
  return Status::Ok();
}

}  // namespace

int64_t RetentionHorizon(int64_t watermark_ms, int days) {
  if (days <= 0 || watermark_ms == INT64_MIN) return INT64_MIN;
  // Floor to the UTC day (also for times before 1970).
  int64_t day = watermark_ms / kDayMs;
  if (watermark_ms % kDayMs < 0) --day;
  return (day - days) * kDayMs;
}

Status RetentionHorizons(StateStore* store, const RetentionOptions& options,
                         int64_t* history_horizon_ms, int64_t* activity_horizon_ms) {
  Status status;
  const int64_t watermark = PositionOr(store, kWatermarkPosition, INT64_MIN, &status);
  if (!status.ok()) return status;
  *history_horizon_ms = RetentionHorizon(watermark, options.history_days);
  *activity_horizon_ms = RetentionHorizon(watermark, options.activity_days);
  return Status::Ok();
}

bool RetentionDue(StateStore* store, const RetentionOptions& options,
                  const RetentionResult& last) {
  int64_t history = INT64_MIN, activity = INT64_MIN;
  if (!RetentionHorizons(store, options, &history, &activity).ok()) return false;
  return history > last.history_horizon_ms || activity > last.activity_horizon_ms;
}

Status StoredHorizons(StateStore* store, int64_t* history_horizon_ms,
                      int64_t* activity_horizon_ms) {
  Status status;
  *history_horizon_ms = PositionOr(store, kHistoryHorizonPosition, INT64_MIN, &status);
  *activity_horizon_ms = PositionOr(store, kActivityHorizonPosition, INT64_MIN, &status);
  return status;
}

Status ApplyRetention(StateStore* store, const RetentionOptions& options,
                      RetentionResult* result) {
  *result = RetentionResult();
  int64_t history_horizon = INT64_MIN, activity_horizon = INT64_MIN;
  if (Status s = RetentionHorizons(store, options, &history_horizon, &activity_horizon); !s.ok()) {
    return s;
  }
  int64_t stored_history = INT64_MIN, stored_activity = INT64_MIN;
  if (Status s = StoredHorizons(store, &stored_history, &stored_activity); !s.ok()) return s;
  const size_t max = std::max<size_t>(options.max_drops_per_commit, 1);

  // Every WriteSet carries the horizons it sweeps to (never back): a state that dropped
  // something always says so, even if the process stops between two commits.
  auto horizons = [&](WriteSet* w) {
    if (history_horizon > stored_history) {
      w->positions.push_back({std::string(kHistoryHorizonPosition), history_horizon});
    }
    if (activity_horizon > stored_activity) {
      w->positions.push_back({std::string(kActivityHorizonPosition), activity_horizon});
    }
  };
  auto commit = [&](WriteSet* w) -> Status {
    horizons(w);
    if (w->empty()) return Status::Ok();
    if (Status s = store->Commit(*w); !s.ok()) return s;
    ++result->commits;
    stored_history = std::max(stored_history, history_horizon);
    stored_activity = std::max(stored_activity, activity_horizon);
    return Status::Ok();
  };

  if (history_horizon != INT64_MIN) {
    std::string from;  // one scan of all history, resumed after each commit
    for (bool more = true; more;) {
      WriteSet w;
      if (Status s = CollectHistory(store, history_horizon, max, options.owns_account, &from,
                                    &w.delete_history, &more);
          !s.ok()) {
        return s;
      }
      result->history_dropped += static_cast<int64_t>(w.delete_history.size());
      if (Status s = commit(&w); !s.ok()) return s;
    }
  }
  if (activity_horizon != INT64_MIN) {
    // Resumed after each commit at the time it stopped at (not at the first call: the dropped
    // ones would be skipped again, as RocksDB tombstones, until compacted).
    int64_t from = INT64_MIN;
    for (bool more = true; more;) {
      WriteSet w;
      more = false;
      Status s = store->ScanActivityCalls(from, activity_horizon, [&](const ActivityRecord& r) {
        if (options.owns_account && !options.owns_account(r.account)) return true;
        if (w.delete_activity.size() >= max) {
          more = true;
          from = r.time_ms;
          return false;
        }
        ActivityRef ref;
        ref.time_ms = r.time_ms;
        ref.event_id = r.event_id;
        ref.account = r.account;
        ref.postings_known = true;
        ref.principal_arn = r.actor.arn;
        ref.access_key_id = r.actor.access_key_id;
        ref.source_ip = r.actor.source_ip;
        ref.session_name = r.session_name;
        w.delete_activity.push_back(std::move(ref));
        return true;
      });
      if (!s.ok()) return s;
      result->activity_dropped += static_cast<int64_t>(w.delete_activity.size());
      if (Status c = commit(&w); !c.ok()) return c;
    }
  }
  result->history_horizon_ms = history_horizon;
  result->activity_horizon_ms = activity_horizon;
  return Status::Ok();
}

}  // namespace driftwatch
