#pragma once
// Applies an event to resource documents (AWS Config configuration-item shape). A Config item
// replaces the document; a successful CloudTrail call is applied by the applier for its action.
// Failed calls (errorCode) and read-only calls change nothing. Older-than-current changes go to
// history with applied=false. Unknown write calls are recorded in history against the resources
// they name.

#include <memory>
#include <string>
#include <vector>

#include "appliers/prepared_event.h"
#include "state/batch_context.h"
#include "vocab/event.h"
#include "vocab/finding.h"

namespace driftwatch {

// The resource changed (type, id, arn, account, region: the reference a finding names it by)
// and how.
struct StateDelta : FindingResource {
  std::string resource_key;
  std::string after;   // document after ("" when deleted)
  bool deleted = false;
  bool applied = true;  // false when the change was older than the document and was not applied
  // Set on the steps of a rebuild (a call delivered late, then the later calls applied again):
  // the call this step is, for rules to judge the step as of it. Null: the event being applied.
  std::shared_ptr<const Event> cause;
};

class Applier {
 public:
  Applier();
  ~Applier();
  // Writes documents and history into `ctx`, appends one delta per resource changed. With
  // `prepared` (from Prepare on the same event), the record is not parsed again.
  void Apply(const Event& event, BatchContext& ctx, std::vector<StateDelta>* deltas,
             const PreparedEvent* prepared = nullptr);
  // The part of Apply that depends on the event alone (parsing what appliers read); safe to run
  // on another thread, beside Apply of other events. Does nothing for events Apply skips.
  static void Prepare(const Event& event, PreparedEvent* out);
  // After Apply, for every call (read-only and failed ones too): records the day an IAM user's
  // access key or console password was used on the user's document (appliers/applier_usage.cc).
  void NoteUse(const Event& event, BatchContext& ctx, std::vector<StateDelta>* deltas);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace driftwatch
