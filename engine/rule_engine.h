#pragma once
// Compiled drift rules and the finding lifecycle. Event rules open a finding on a matching
// event; state rules keep a finding open while their predicate holds on a resource document
// and resolve it when it stops holding or the resource is deleted.

#include <memory>
#include <string>
#include <vector>

#include "engine/applier.h"
#include "engine/batch_context.h"
#include "engine/event.h"
#include "engine/status.h"

namespace driftwatch {

class RuleEngine {
 public:
  virtual ~RuleEngine() = default;
  virtual void OnEvent(const Event& event, BatchContext& ctx) = 0;
  virtual void OnStateDelta(const StateDelta& delta, const Event& cause, BatchContext& ctx) = 0;
  // Called once per batch after its events; time-driven checks (key age) use the watermark.
  virtual void OnWatermark(BatchContext& /*ctx*/) {}
};

}  // namespace driftwatch
