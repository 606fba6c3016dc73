#pragma once
// The finding lifecycle over a BatchContext. A finding's id is stable for rule + resource
// (MakeFindingId). Opening an already open finding updates last_seen and its event list without
// emitting; every change of status (open, resolved, re-opened) is emitted exactly once through
// ctx.PutFinding(f, /*status_changed=*/true). Single-threaded, like the BatchContext.

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/batch_context.h"
#include "engine/finding.h"

namespace driftwatch {

// What a rule contributes to every finding it opens.
struct FindingTemplate {
  std::string rule_id;
  std::string title;
  std::string description;
  Category category = Category::kIdentity;
  Severity severity = Severity::kInfo;
};

class FindingTracker {
 public:
  enum class Change { kNone, kOpened, kUpdated };

  // `qualifier` (see MakeFindingId) keeps findings of one rule on one resource apart.
  // Opens the finding for (rule, resource) at `time_ms`, or records a repeat on an open one
  // (last_seen, event_ids newest last, bounded by kMaxFindingEventIds, no duplicates). A
  // resolved finding opens again under the same id as a new episode (first_seen = time_ms).
  // `evidence` is a JSON object text; a repeat keeps the newest.
  static Change Open(BatchContext& ctx, const FindingTemplate& rule,
                     const FindingResource& resource, const FindingActor& actor,
                     std::string_view event_id, int64_t time_ms, std::string evidence,
                     std::string_view qualifier = {});

  // Resolves the open finding for (rule, resource); false when there is none open.
  static bool Resolve(BatchContext& ctx, std::string_view rule_id,
                      const FindingResource& resource, std::string_view event_id,
                      int64_t time_ms, std::string_view qualifier = {});
};

}  // namespace driftwatch
