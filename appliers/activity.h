#pragma once
// Builds activity-index records (state/state_store.h ActivityRecord) from events, for the
// pipeline when PipelineParts::record_activity is set.

#include <cstdint>
#include <string>
#include <vector>

#include "appliers/applier.h"
#include "state/state_store.h"
#include "vocab/event.h"

namespace driftwatch {

// The record of one CloudTrail call. `deltas` are the state changes the call made (may be
// empty); the resource keys are theirs, else the keys of the resources the event names.
// Credentials issued (AssumeRole*, GetSessionToken, GetFederationToken, CreateAccessKey) and a
// few identifying request fields are read from the event's document.
ActivityRecord MakeActivityRecord(const Event& event, const std::vector<StateDelta>& deltas);
// MakeActivityRecord in two steps: what depends on the event alone (all but resource_keys; run
// ahead on the decoding thread), then the resource keys once the call was applied.
// `members`, when given, is the call's requestParameters and responseElements already parsed
// (the applier's record, Applier::Prepare): the document is then not parsed again.
ActivityRecord ActivityRecordOfEvent(const Event& event, const nlohmann::json* members = nullptr);
void SetActivityResources(const Event& event, const std::vector<StateDelta>& deltas,
                          ActivityRecord* out);

// Keeps one run's span of event times; `Take` gives the run record to write with a batch.
class ActivityRunTracker {
 public:
  ActivityRunTracker(std::string run_id, bool indexed)
      : run_{std::move(run_id), indexed, INT64_MAX, INT64_MIN} {}
  void Add(int64_t time_ms) {
    if (time_ms < run_.from_ms) run_.from_ms = time_ms;
    if (time_ms > run_.to_ms) run_.to_ms = time_ms;
    changed_ = true;
  }
  // The run as it now stands, when it changed since the last call.
  bool Take(ActivityRun* out) {
    if (!changed_) return false;
    changed_ = false;
    *out = run_;
    return true;
  }

 private:
  ActivityRun run_;
  bool changed_ = false;
};

// A run id unique within the state: the wall clock in ms and a process-wide counter, in hex.
std::string NewActivityRunId(int64_t now_ms);

}  // namespace driftwatch
