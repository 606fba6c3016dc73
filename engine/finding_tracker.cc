#include "engine/finding_tracker.h"

#include <algorithm>

namespace driftwatch {
namespace {

void AddEventId(Finding* f, std::string_view event_id) {
  if (event_id.empty()) return;
  for (const std::string& id : f->event_ids) {
    if (id == event_id) return;
  }
  f->event_ids.emplace_back(event_id);
  if (f->event_ids.size() > kMaxFindingEventIds) {
    f->event_ids.erase(f->event_ids.begin(),
                       f->event_ids.begin() +
                           static_cast<std::ptrdiff_t>(f->event_ids.size() - kMaxFindingEventIds));
  }
}

}  // namespace

FindingTracker::Change FindingTracker::Open(BatchContext& ctx, const FindingTemplate& rule,
                                            const FindingResource& resource,
                                            const FindingActor& actor, std::string_view event_id,
                                            int64_t time_ms, std::string evidence,
                                            std::string_view qualifier) {
  const std::string id = MakeFindingId(rule.rule_id, resource, qualifier);
  Finding f;
  if (ctx.GetFinding(id, &f) && f.status == FindingStatus::kOpen) {
    const bool known_event =
        !event_id.empty() &&
        std::find(f.event_ids.begin(), f.event_ids.end(), event_id) != f.event_ids.end();
    if (known_event && time_ms <= f.last_seen_ms) return Change::kNone;
    AddEventId(&f, event_id);
    f.last_seen_ms = std::max(f.last_seen_ms, time_ms);
    if (!actor.arn.empty() || !actor.type.empty()) f.actor = actor;
    if (!evidence.empty()) f.evidence = std::move(evidence);
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
  opened.status = FindingStatus::kOpen;
  opened.resource = resource;
  opened.actor = actor;
  AddEventId(&opened, event_id);
  opened.first_seen_ms = time_ms;
  opened.last_seen_ms = time_ms;
  opened.resolved_at_ms = 0;
  opened.evidence = evidence.empty() ? std::string("{}") : std::move(evidence);
  ctx.PutFinding(opened, /*status_changed=*/true);
  return Change::kOpened;
}

bool FindingTracker::Resolve(BatchContext& ctx, std::string_view rule_id,
                             const FindingResource& resource, std::string_view event_id,
                             int64_t time_ms, std::string_view qualifier) {
  const std::string id = MakeFindingId(rule_id, resource, qualifier);
  Finding f;
  if (!ctx.GetFinding(id, &f) || f.status != FindingStatus::kOpen) return false;
  f.status = FindingStatus::kResolved;
  AddEventId(&f, event_id);
  f.last_seen_ms = std::max(f.last_seen_ms, time_ms);
  f.resolved_at_ms = std::max(time_ms, f.first_seen_ms);
  if (f.resolved_at_ms == 0) f.resolved_at_ms = 1;  // 0 means "open" in the format
  ctx.PutFinding(f, /*status_changed=*/true);
  return true;
}

}  // namespace driftwatch
