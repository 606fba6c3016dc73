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
#include "engine/prepared_event.h"
#include "engine/status.h"

namespace driftwatch {

class RuleEngine {
 public:
  virtual ~RuleEngine() = default;
  virtual void OnEvent(const Event& event, BatchContext& ctx) = 0;
  // The part of OnEvent that depends on the event alone, for another thread to run ahead: const
  // and safe beside OnEvent of other events. Its result reaches OnPreparedEvent.
  virtual void Prepare(const Event& /*event*/, PreparedEvent* /*out*/) const {}
  virtual void OnPreparedEvent(const Event& event, const PreparedEvent& /*prepared*/,
                               BatchContext& ctx) {
    OnEvent(event, ctx);
  }
  virtual void OnStateDelta(const StateDelta& delta, const Event& cause, BatchContext& ctx) = 0;
  // Called once per batch after its events; time-driven checks (key age) use the watermark.
  virtual void OnWatermark(BatchContext& /*ctx*/) {}
};

}  // namespace driftwatch
