#pragma once
// Post-incident questions over a StateStore (issue 7): what a principal, access key, source IP or
// role session did in a window, what it left behind, and the checklist to undo it; and the
// timeline of state changes and findings. Every list is in a fixed order (time, then ids), so
// the same state gives the same report byte for byte.

#include <cstdint>
#include <string>
#include <vector>

#include "state/state_store.h"
#include "vocab/finding.h"
#include "vocab/status.h"

namespace driftwatch {

struct IncidentQuery {
  ActivityIndex by = ActivityIndex::kPrincipal;
  std::string value;
  int64_t from_ms = INT64_MIN;
  int64_t to_ms = INT64_MAX;
  // Credentials followed from the starting one (AssumeRole*, GetSessionToken, CreateAccessKey),
  // transitively; bounds the work on a hostile state.
  int max_credentials = 64;
  int max_depth = 8;
  // Answer from a scan of all history even when the activity index covers the window (the
  // benchmark's baseline; also what happens when it does not).
  bool force_history_scan = false;
};

// A credential whose calls are part of the incident: the starting one, or one reached.
struct IncidentPrincipal {
  std::string index;  // "principal", "access-key", "source-ip", "session"
  std::string value;  // what its calls are looked up by
  std::string principal_arn;  // the principal it acts as, when known
  int depth = 0;              // 0: the starting one
  std::string via_event_id;   // the call that issued it (depth > 0)
  std::string via_event_name;
  int64_t via_time_ms = 0;
};

struct IncidentResource {
  std::string resource_key;
  bool created = false;   // a call of the incident created it
  bool deleted = false;   // a call of the incident deleted it
  bool modified = false;  // a call of the incident changed it otherwise
  bool exists_now = false;
  // The incident's change is still the resource's last one (nobody changed it since).
  bool last_change_is_incident = false;
  std::string last_changed_by;  // principal of the resource's last change, per history
  std::vector<std::string> actions;  // the incident's calls on it, in time order
  // The incident's call that created it (created only): CloudTrail's event name as recorded
  // (CreateFunction20150331, PutParameter, RunInstances), its event id and time.
  std::string created_by_action;
  std::string created_by_event_id;
  int64_t created_ms = 0;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
};

// A long-term access key the incident created, used, deleted, deactivated or activated (one row
// per key, whatever it did with it).
struct IncidentAccessKey {
  std::string access_key_id;
  std::string user_name;      // when known
  bool created = false;       // created by a call of the incident
  std::string created_event_id;
  bool used = false;          // calls of the incident were signed with it
  bool deleted = false;       // deleted by a call of the incident
  std::string deleted_event_id;
  bool deactivated = false;   // set Inactive by a call of the incident
  std::string deactivated_event_id;
  bool activated = false;     // set Active by a call of the incident
  std::string activated_event_id;
  std::string status_now;     // "Active", "Inactive", "deleted", or "unknown"
};

// A login profile (console password) the incident created, changed or deleted.
struct IncidentLoginProfile {
  std::string user_name;
  std::string action;  // "created", "updated" (password changed) or "deleted"
  std::string event_id;
  int64_t time_ms = 0;
  bool exists_now = false;
};

struct IncidentPolicy {
  std::string entity_type;  // "user", "role", "group"
  std::string entity_name;
  std::string policy;       // managed policy ARN, or inline policy name
  bool inline_policy = false;
  std::string event_id;
  int64_t time_ms = 0;
  bool attached_now = false;
};

struct IncidentTrustChange {
  std::string role_name;
  std::string event_name;  // CreateRole or UpdateAssumeRolePolicy
  std::string event_id;
  int64_t time_ms = 0;
  bool role_exists_now = false;
};

struct IncidentUndo {
  std::string action;  // delete-resource, deactivate-key, detach-policy, delete-inline-policy,
                       // delete-login-profile, reset-password, revert-change
  std::string target;  // resource key, access key id, policy ARN/name
  std::string detail;  // the user/role/group, or what the change was
};

struct IncidentReport {
  IncidentQuery query;
  // "complete": an indexing run covers the window and none without the index overlaps it;
  // "partial"/"absent": the call list misses calls (coverage_note says which).
  std::string coverage;
  std::string coverage_note;
  // Retention (state/retention.h): the stored horizons (INT64_MIN: nothing dropped), and whether
  // the window starts before one the report relies on (calls: the activity horizon, or the
  // history horizon when answered from history; resources: the history horizon). Then
  // coverage is at best "partial" and horizon_note says what is missing.
  int64_t activity_horizon_ms = INT64_MIN;
  int64_t history_horizon_ms = INT64_MIN;
  bool past_horizon = false;
  std::string horizon_note;
  std::vector<IncidentPrincipal> principals;
  std::vector<ActivityRecord> calls;  // (time, event id) order, each once
  std::vector<IncidentResource> resources;
  std::vector<IncidentAccessKey> access_keys;
  std::vector<IncidentLoginProfile> login_profiles;
  std::vector<IncidentPolicy> policies;
  std::vector<IncidentTrustChange> trust_changes;
  std::vector<Finding> findings;  // opened in the window by the incident's principals or calls
  std::vector<IncidentUndo> undo;
};

Status BuildIncidentReport(StateStore* store, const IncidentQuery& query, IncidentReport* out);

std::string IncidentToMarkdown(const IncidentReport& report);
std::string IncidentToNdjson(const IncidentReport& report);
std::string IncidentToChecklist(const IncidentReport& report);
std::string_view ActivityIndexName(ActivityIndex index);  // "principal", "access-key", ...

// Timeline: one line per state change (history) and per finding opened or resolved.
struct TimelineQuery {
  int64_t from_ms = INT64_MIN;
  int64_t to_ms = INT64_MAX;
  std::string resource;  // a resource key, or a bare resource id / name; "" for all
  bool has_category = false;
  Category category = Category::kIdentity;
};

struct TimelineLine {
  int64_t time_ms = 0;
  std::string kind;  // "change", "finding-opened", "finding-resolved"
  std::string resource_key;
  std::string event_id;       // change: its event; finding: its finding id
  std::string action;         // change: the call; finding: the rule id
  std::string principal_arn;  // who (change: the principal; finding: the actor)
  std::string text;           // change: the change object; finding: severity and title
};

// Category of a resource type, for --category on state changes (findings carry their own).
Category CategoryOfResourceType(std::string_view type);

Status BuildTimeline(StateStore* store, const TimelineQuery& query,
                     std::vector<TimelineLine>* out);
std::string TimelineToTable(const std::vector<TimelineLine>& lines);
std::string TimelineToNdjson(const std::vector<TimelineLine>& lines);

}  // namespace driftwatch
