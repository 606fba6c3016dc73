#pragma once
// Retention: history entries and indexed calls older than a horizon are dropped, so that neither
// grows without bound (state.history_retention_days, state.activity_retention_days).
//
// Event time decides, never the wall clock: a horizon is midnight UTC of the day of the state's
// event-time watermark (the "watermark" position), minus the configured days. So a replay and the
// live service keep the same records, and a state that stops receiving events keeps what it has.
//
// What is dropped:
//   - history: every entry older than the history horizon, except the newest applied entry of
//     each resource before it (the resource's state as of the horizon, which `state --at`, and a
//     late call put in its place, start from). That one goes too when it is a deletion.
//   - activity index: every call older than the activity horizon, with its postings. Activity
//     runs (a few records per replay or service run) are kept.
// What is always kept: current resource documents, findings (open or resolved), seen event ids
// (they have their own time to live), positions, account clocks.
//
// Drops are ordinary WriteSet deletes (WriteSet::delete_history, delete_activity): committed
// through a ChangelogStore they are also produced as tombstones of the dropped keys, so a
// compacted changelog topic forgets them too, and a member restoring from it drops them.
//
// Each family's horizon is stored as a position (kHistoryHorizonPosition,
// kActivityHorizonPosition) in the same WriteBatch as the drops, never going back: the query
// commands read it to say when a question reaches past it.
//
// Threading: the store's writer thread, between batches (it commits).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "state/state_store.h"
#include "vocab/status.h"

namespace driftwatch {

struct RetentionOptions {
  // Days of history kept behind the watermark's day; 0 keeps all history.
  int history_days = 400;
  // Days of indexed calls kept behind the watermark's day; 0 keeps every call.
  int activity_days = 90;
  // Drops per WriteSet; a sweep commits as many as it needs.
  size_t max_drops_per_commit = 20000;
  // Only records of the accounts this returns true for are dropped (null: every account). With
  // a changelog, a member sweeps the accounts of the partitions it owns: their owner alone
  // writes their changelog partitions.
  std::function<bool(std::string_view account)> owns_account;
};

struct RetentionResult {
  // The horizons swept to (INT64_MIN: that family's retention is off, or no watermark yet).
  int64_t history_horizon_ms = INT64_MIN;
  int64_t activity_horizon_ms = INT64_MIN;
  int64_t history_dropped = 0;   // entries dropped by this sweep
  int64_t activity_dropped = 0;  // calls dropped by this sweep (each with its postings)
  int commits = 0;
};

// Midnight UTC of the day of `watermark_ms`, minus `days` days; INT64_MIN when `days` is 0 or
// there is no watermark (INT64_MIN).
int64_t RetentionHorizon(int64_t watermark_ms, int days);

// The horizons `options` give for the store's watermark now.
Status RetentionHorizons(StateStore* store, const RetentionOptions& options,
                         int64_t* history_horizon_ms, int64_t* activity_horizon_ms);

// True when a sweep to the horizons the store's watermark gives now would go further than
// `last` (a process's previous sweep; a default RetentionResult: never swept).
bool RetentionDue(StateStore* store, const RetentionOptions& options, const RetentionResult& last);

// Drops what is older than the horizons now, committing through `store` (a ChangelogStore
// produces the tombstones). Idempotent: a second sweep to the same horizons drops nothing.
Status ApplyRetention(StateStore* store, const RetentionOptions& options, RetentionResult* result);

// The stored horizons (INT64_MIN when that family never dropped anything).
Status StoredHorizons(StateStore* store, int64_t* history_horizon_ms,
                      int64_t* activity_horizon_ms);

}  // namespace driftwatch
