#pragma once
// What processing an event needs that depends on the event alone. With decode-ahead, the
// decoding thread computes it while the applying thread works on earlier events, so the parses
// below leave the pipeline's critical path. Without it, the applier and rules parse lazily.

#include <nlohmann/json.hpp>
#include <string>

#include "state/state_store.h"

namespace driftwatch {

struct PreparedEvent {
  // Applier::Prepare: the members of an API call that appliers read, parsed, and their compact
  // text (for history's replayable call).
  bool record_ready = false;
  nlohmann::json record;
  std::string record_text;
  // RuleEngine::Prepare: the whole event document, parsed, when a candidate rule reads a field
  // outside the normalized Event (discarded when the document is not readable JSON).
  bool document_ready = false;
  nlohmann::json document;
  // The activity-index record of an API call, all but its resource keys (ActivityRecordOfEvent),
  // when the pipeline records activity. Taken (moved out) by the pipeline.
  bool activity_ready = false;
  ActivityRecord activity;

  void Reset() {
    record_ready = false;
    document_ready = false;
    activity_ready = false;
  }
};

}  // namespace driftwatch
