#include "rules/finding_tracker.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "vocab/json_parse.h"
#include "vocab/json_text.h"

namespace driftwatch {
namespace {

// Adds the event in (time, id) order, keeping the newest kMaxFindingEventIds. Returns false when
// the id is already there. The list is then the same whatever order the events came in.
bool AddEvent(Finding* f, std::string_view event_id, int64_t time_ms) {
  if (event_id.empty()) return true;
  if (f->event_times_ms.size() != f->event_ids.size()) {
    f->event_times_ms.assign(f->event_ids.size(), f->last_seen_ms);
  }
  for (const std::string& id : f->event_ids) {
    if (id == event_id) return false;
  }
  size_t at = f->event_ids.size();
  while (at > 0 && (f->event_times_ms[at - 1] > time_ms ||
                    (f->event_times_ms[at - 1] == time_ms && f->event_ids[at - 1] > event_id))) {
    --at;
  }
  f->event_ids.emplace(f->event_ids.begin() + static_cast<std::ptrdiff_t>(at), event_id);
  f->event_times_ms.insert(f->event_times_ms.begin() + static_cast<std::ptrdiff_t>(at), time_ms);
  if (f->event_ids.size() > kMaxFindingEventIds) {
    const auto drop = static_cast<std::ptrdiff_t>(f->event_ids.size() - kMaxFindingEventIds);
    f->event_ids.erase(f->event_ids.begin(), f->event_ids.begin() + drop);
    f->event_times_ms.erase(f->event_times_ms.begin(), f->event_times_ms.begin() + drop);
  }
  return true;
}

bool HasActor(const Actor& a) { return !a.arn.empty() || !a.type.empty(); }

// Posture findings name who made the drift: the earliest event of the episode with an actor,
// whatever order events arrive in (ties: the smaller event id).
bool TakesActor(const Finding& f, const Actor& actor, int64_t time_ms) {
  if (!HasActor(actor)) return false;
  return !HasActor(f.actor) || time_ms < f.actor_time_ms;
}

// `newer` evidence, keeping what `older` holds under "event" (the call that made the drift).
std::string KeepEventEvidence(const std::string& older, std::string newer) {
  if (older.find("\"event\"") == std::string::npos) return newer;
  nlohmann::json o = ParseJson(older);
  if (o.is_discarded() || !o.is_object() || !o.contains("event")) return newer;
  nlohmann::json n = ParseJson(newer);
  if (n.is_discarded() || !n.is_object()) return newer;
  n["event"] = o["event"];
  return JsonText(n);
}

// Whether (time_ms, event_id) is the newest event the finding has seen.
bool IsNewest(const Finding& f, std::string_view event_id, int64_t time_ms) {
  if (event_id.empty() || f.event_ids.empty()) return time_ms >= f.last_seen_ms;
  return f.event_ids.back() == event_id;
}

}  // namespace

FindingTracker::Change FindingTracker::Open(BatchContext& ctx, const FindingTemplate& rule,
                                            const FindingResource& resource,
                                            const Actor& actor, std::string_view event_id,
                                            int64_t time_ms, std::string evidence,
                                            std::string_view qualifier) {
  const std::string id = MakeFindingId(rule.rule_id, resource, qualifier);
  Finding f;
  const bool found = ctx.GetFinding(id, &f);
  // A repeat while open, or a late event from before the finding was resolved: it belongs to
  // that episode. Actor and evidence are those of the newest event, first and last seen the
  // extremes, so that any arrival order ends alike.
  if (found && (f.status == FindingStatus::kOpen || time_ms < f.resolved_at_ms)) {
    if (!AddEvent(&f, event_id, time_ms)) return Change::kNone;
    if (f.kind == FindingKind::kEvent) {
      if (IsNewest(f, event_id, time_ms)) {
        if (HasActor(actor)) f.actor = actor;
        if (!evidence.empty()) f.evidence = std::move(evidence);
      }
    } else {
      // The state's evidence is the newest; who made the drift is the earliest actor.
      if (TakesActor(f, actor, time_ms)) {
        f.actor = actor;
        f.actor_time_ms = time_ms;
      }
      if (IsNewest(f, event_id, time_ms) && !evidence.empty()) {
        f.evidence = KeepEventEvidence(f.evidence, std::move(evidence));
      }
    }
    f.first_seen_ms = std::min(f.first_seen_ms, time_ms);
    f.last_seen_ms = std::max(f.last_seen_ms, time_ms);
    if (f.status == FindingStatus::kOpen && rule.expire_after_ms > 0) {
      f.expires_at_ms = f.last_seen_ms + rule.expire_after_ms;
    }
    ctx.PutFinding(f, /*status_changed=*/false);
    return Change::kUpdated;
  }
  Finding opened;
  opened.finding_id = id;
  opened.rule_id = rule.rule_id;
  opened.title = rule.title;
  opened.description = rule.description;
  opened.category = rule.category;
  opened.severity = rule.severity;
  opened.kind = rule.kind;
  opened.status = FindingStatus::kOpen;
  opened.resolution = Resolution::kNone;
  if (rule.expire_after_ms > 0) opened.expires_at_ms = time_ms + rule.expire_after_ms;
  opened.resource = resource;
  opened.actor = actor;
  opened.actor_time_ms = HasActor(actor) ? time_ms : 0;
  opened.first_seen_ms = time_ms;
  opened.last_seen_ms = time_ms;
  AddEvent(&opened, event_id, time_ms);
  opened.resolved_at_ms = 0;
  opened.evidence = evidence.empty() ? std::string("{}") : std::move(evidence);
  ctx.PutFinding(opened, /*status_changed=*/true);
  return Change::kOpened;
}

bool FindingTracker::Resolve(BatchContext& ctx, std::string_view rule_id,
                             const FindingResource& resource, std::string_view event_id,
                             int64_t time_ms, std::string_view qualifier, Resolution why,
                             std::string detail) {
  return ResolveById(ctx, MakeFindingId(rule_id, resource, qualifier), event_id, time_ms, why,
                     std::move(detail));
}

bool FindingTracker::ResolveById(BatchContext& ctx, const std::string& finding_id,
                                 std::string_view event_id, int64_t time_ms, Resolution why,
                                 std::string detail) {
  // Most calls find no open finding: look before copying.
  const Finding* current = nullptr;
  if (!ctx.PeekFinding(finding_id, &current) || current->status != FindingStatus::kOpen) {
    return false;
  }
  // Older than what the finding last saw hold: a late event whose moment has passed.
  if (time_ms < current->last_seen_ms) return false;
  Finding f = *current;
  f.status = FindingStatus::kResolved;
  f.resolution = why;
  f.resolution_detail = detail.empty() ? std::string("{}") : std::move(detail);
  f.expires_at_ms = 0;
  // The event that undid a drift is part of its story; an expiry or a close by hand is not an
  // event of the drift (resolution_detail names the close record).
  if (why == Resolution::kState) {
    AddEvent(&f, event_id, time_ms);
    f.last_seen_ms = std::max(f.last_seen_ms, time_ms);
  }
  f.resolved_at_ms = std::max(time_ms, f.first_seen_ms);
  if (f.resolved_at_ms == 0) f.resolved_at_ms = 1;  // 0 means "open" in the format
  ctx.PutFinding(f, /*status_changed=*/true);
  return true;
}

bool FindingTracker::AddEventEvidence(BatchContext& ctx, const std::string& finding_id,
                                      std::string_view event_rule_id, const Actor& actor,
                                      std::string_view event_id, int64_t time_ms,
                                      std::string_view evidence) {
  const Finding* current = nullptr;
  if (!ctx.PeekFinding(finding_id, &current) || current->status != FindingStatus::kOpen) {
    return false;
  }
  Finding f = *current;
  const bool added = AddEvent(&f, event_id, time_ms);
  // The call that made the drift (the earliest with an actor) names it; the same event as the
  // one the state change opened the finding with, in the usual case.
  const bool opener = TakesActor(f, actor, time_ms) ||
                      (HasActor(actor) && time_ms == f.actor_time_ms) ||
                      f.evidence.find("\"event\"") == std::string::npos;
  bool changed = added;
  if (opener) {
    if (HasActor(actor) && (!HasActor(f.actor) || time_ms < f.actor_time_ms)) {
      f.actor = actor;
      f.actor_time_ms = time_ms;
    }
    // Keys sorted (nlohmann::json), as the rules write evidence: the text is then the same
    // whether the finding was read back from the store or kept in memory.
    nlohmann::json merged = ParseJson(f.evidence);
    if (merged.is_discarded() || !merged.is_object()) merged = nlohmann::json::object();
    nlohmann::json from_event = ParseJson(evidence);
    if (from_event.is_discarded() || !from_event.is_object()) {
      from_event = nlohmann::json::object();
    }
    from_event["event_rule"] = std::string(event_rule_id);
    if (merged["event"] != from_event) {
      merged["event"] = std::move(from_event);
      f.evidence = JsonText(merged);
      changed = true;
    }
  }
  f.first_seen_ms = std::min(f.first_seen_ms, time_ms);
  f.last_seen_ms = std::max(f.last_seen_ms, time_ms);
  if (changed) ctx.PutFinding(f, /*status_changed=*/false);
  return true;
}

}  // namespace driftwatch
