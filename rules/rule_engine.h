#pragma once
// Compiled drift rules and the finding lifecycle. Event rules open a finding on a matching
// event; state rules keep a finding open while their predicate holds on a resource document
// and resolve it when it stops holding or the resource is deleted.

#include <functional>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "appliers/applier.h"
#include "appliers/prepared_event.h"
#include "state/batch_context.h"
#include "vocab/event.h"
#include "vocab/status.h"

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
  // Time-driven checks (key age, event findings' expiry) whose deadline the watermark has
  // reached, for every account, each judged as of its own deadline.
  virtual void OnWatermark(BatchContext& /*ctx*/) {}
  // The same for one account whose event-time clock (the newest event time of its own events)
  // reached `now`. The pipeline calls it when an event of the account moves its clock to
  // next_deadline_ms(account) or past, before that event is applied: findings then depend on the
  // account's own stream only, not on batch boundaries, partitions or group members.
  virtual void OnAccountClock(BatchContext& /*ctx*/, std::string_view /*account*/,
                              int64_t /*now*/) {}
  // The account's earliest pending deadline in event time, INT64_MAX when none.
  virtual int64_t next_deadline_ms(std::string_view /*account*/) const { return INT64_MAX; }
  // Members of a group share partitions by account: a member fires deadlines (and primes them)
  // only for the accounts `owns` accepts, those of its assigned partitions, so that each
  // time-driven change is emitted once, by the account's owner. Default: every account.
  virtual void SetDeadlineOwner(std::function<bool(std::string_view account)> /*owns*/) {}
};

}  // namespace driftwatch
