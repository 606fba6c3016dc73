// A call older than its resource's last change (CloudTrail delivers within about 15 minutes, in
// any order): the document is rebuilt from history with the call in its event-time place and the
// later calls applied again over it (Op::ApplyLate).

#include <climits>
#include <memory>

#include "appliers/applier_internal.h"
#include "vocab/json_parse.h"

namespace driftwatch::applier {

bool Op::ApplyLate(const Target& t, const std::string& key, bool have, bool tombstoned,
                   HistoryEntry h, const StepFn& apply) {
  if (handlers_ == nullptr) return false;
  std::vector<HistoryEntry> entries;
  ctx_.HistoryOf(key, h.time_ms, &entries);
  // The change's place in event time: after every entry that sorts before (time, event id).
  size_t place = 0;
  while (place < entries.size() &&
         (entries[place].time_ms < h.time_ms ||
          (entries[place].time_ms == h.time_ms && entries[place].event_id < h.event_id))) {
    ++place;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    // Already in history: a redelivery, nothing to do.
    if (!h.event_id.empty() && entries[i].event_id == h.event_id) return true;
    // A later change that changed the document but cannot be applied again.
    if (i >= place && entries[i].kind == EventKind::kApiCall && entries[i].replay.empty() &&
        (!entries[i].document_after.empty() || entries[i].deleted)) {
      return false;
    }
  }
  // The document just before the call: what the last change before it left.
  Rebuild rb;
  rb.key = key;
  for (size_t i = place; i-- > 0;) {
    const HistoryEntry& e = entries[i];
    if (e.deleted && e.applied) break;
    if (!e.document_after.empty()) {
      rb.doc = ParseJson(e.document_after);
      rb.exists = rb.doc.is_object();
      break;
    }
  }
  if (!rb.exists) rb.doc = json();

  // This call in its place. Rules see every step from here on, each as of its own call.
  std::string step_before = rb.exists ? Dump(rb.doc) : std::string();
  auto step = [&](std::string after, std::shared_ptr<const Event> cause) {
    StateDelta d = NewDelta(t, key);
    d.deleted = !rb.exists;
    d.after = after;
    d.cause = std::move(cause);
    step_before = std::move(after);
    deltas_->push_back(std::move(d));
  };
  json change = json::object();
  const bool existed = rb.exists;
  apply(&rb.exists, &rb.doc, &change);
  change["appliedLate"] = true;
  if (existed && !rb.exists) {
    rb.deleted_at_ms = h.time_ms;
    rb.deleted_by_event = h.event_id;
  }
  h.applied = true;
  h.deleted = change.contains("deleted");
  h.document_after = rb.exists ? Dump(rb.doc) : std::string();
  h.change = Dump(change);
  step(h.document_after, nullptr);
  ctx_.AddHistory(std::move(h));

  // The later changes over it, in event-time order; their history records the new documents.
  for (size_t i = place; i < entries.size(); ++i) {
    HistoryEntry& e = entries[i];
    if (e.kind == EventKind::kConfigItem) {
      // A configuration item is the whole document as AWS Config saw it.
      if (!e.applied) continue;
      auto item = std::make_shared<Event>();
      item->kind = EventKind::kConfigItem;
      item->id = e.event_id;
      item->time_ms = e.time_ms;
      item->event_name = e.action;
      item->principal.arn = e.actor.arn;
      item->principal.type = e.actor.type;
      if (e.deleted) {
        if (rb.exists) {
          rb.deleted_at_ms = e.time_ms;
          rb.deleted_by_event = e.event_id;
        }
        rb.exists = false;
        rb.doc = json();
      } else if (!e.document_after.empty()) {
        json d = ParseJson(e.document_after);
        if (d.is_object()) {
          rb.doc = std::move(d);
          rb.exists = true;
        }
      }
      step(rb.exists ? Dump(rb.doc) : std::string(), std::move(item));
      continue;
    }
    if (e.replay.empty()) continue;  // unknown writes: history only
    Event call;
    json record;
    if (!ParseReplay(e, &call, &record)) continue;
    const bool existed_before = rb.exists;
    Op again(call, record, ctx_, nullptr, {}, handlers_);
    again.replay_ = e.replay;
    again.replay_built_ = true;
    again.set_rebuild(&rb);
    try {
      again.Dispatch();
    } catch (const std::exception&) {
      continue;  // as when it first came: a shape no applier foresaw changes nothing
    }
    std::string after = rb.exists ? Dump(rb.doc) : std::string();
    const bool deleted = existed_before && !rb.exists;
    step(after, std::make_shared<const Event>(call));
    if (!e.applied || e.document_after != after || e.deleted != deleted) {
      if (!e.applied) {
        json c = ParseJson(e.change);
        if (c.is_object()) {
          c.erase("notApplied");
          e.change = Dump(c);
        }
      }
      e.applied = true;
      e.deleted = deleted;
      e.document_after = std::move(after);
      ctx_.AddHistory(e);
    }
  }

  if (rb.exists) {
    if (tombstoned) ctx_.DeleteResource(TombstoneKey(key));
    ctx_.PutResource(key, step_before, std::make_shared<const json>(std::move(rb.doc)));
  } else {
    if (have) ctx_.DeleteResource(key);
    json tomb = {{"deletedAtMs", rb.deleted_at_ms}, {"eventId", rb.deleted_by_event}};
    ctx_.PutResource(TombstoneKey(key), Dump(tomb));
  }
  return true;
}

}  // namespace driftwatch::applier
