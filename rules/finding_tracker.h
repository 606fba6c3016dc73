#pragma once
// The finding lifecycle over a BatchContext. A finding's id is stable for rule + resource
// (MakeFindingId). Opening an already open finding updates last_seen and its event list without
// emitting; every change of status (open, resolved, re-opened) is emitted exactly once through
// ctx.PutFinding(f, /*status_changed=*/true). Single-threaded, like the BatchContext.

#include <cstdint>
#include <string>
#include <string_view>

#include "state/batch_context.h"
#include "vocab/finding.h"

namespace driftwatch {

// What a rule contributes to every finding it opens.
struct FindingTemplate {
  std::string rule_id;
  std::string title;
  std::string description;
  Category category = Category::kIdentity;
  Severity severity = Severity::kInfo;
  FindingKind kind = FindingKind::kPosture;
  // Event findings: resolved (expired) this long after their last event, in event time; 0 = never.
  int64_t expire_after_ms = 0;
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
                     const FindingResource& resource, const Actor& actor,
                     std::string_view event_id, int64_t time_ms, std::string evidence,
                     std::string_view qualifier = {});

  // Resolves the open finding for (rule, resource) with resolution `why` and its detail (a JSON
  // object text, see Finding::resolution_detail); false when there is none open.
  static bool Resolve(BatchContext& ctx, std::string_view rule_id,
                      const FindingResource& resource, std::string_view event_id,
                      int64_t time_ms, std::string_view qualifier = {},
                      Resolution why = Resolution::kState, std::string detail = {});
  // The same for a finding known by id (expiry, closing by hand).
  static bool ResolveById(BatchContext& ctx, const std::string& finding_id,
                          std::string_view event_id, int64_t time_ms, Resolution why,
                          std::string detail);

  // An event that opened (or repeated) the drift an open posture finding stands for: the finding
  // gains the event, and when it is the newest the finding has seen, its actor and the event
  // rule's evidence (under "event", with the event rule's id as "event_rule"). False when the
  // finding is not open: the posture rule decides, the event adds nothing.
  static bool AddEventEvidence(BatchContext& ctx, const std::string& finding_id,
                               std::string_view event_rule_id, const Actor& actor,
                               std::string_view event_id, int64_t time_ms,
                               std::string_view evidence);
};

}  // namespace driftwatch
