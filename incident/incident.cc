#include "incident/incident.h"

#include <algorithm>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "vocab/json_parse.h"
#include "vocab/resource_key.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;

json Parse(std::string_view text) {
  if (text.empty()) return json();
  return ParseJson(text);
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& At(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// A resource key's parts (a malformed key: what it has, see ParseResourceKey).
ResourceKeyParts SplitKey(std::string_view key) {
  ResourceKeyParts p;
  ParseResourceKey(key, &p);
  return p;
}

std::string Time(int64_t ms) { return FormatTimestamp(ms); }

// Does the history principal / key / IP of an entry match a starting credential?
bool HistoryMatches(const HistoryEntry& e, ActivityIndex by, const std::string& value) {
  switch (by) {
    case ActivityIndex::kPrincipal:
      return e.actor.arn == value;
    case ActivityIndex::kAccessKey:
      return e.actor.access_key_id == value;
    case ActivityIndex::kSourceIp:
      return e.actor.source_ip == value;
    case ActivityIndex::kSession: {
      const size_t slash = e.actor.arn.rfind('/');
      return e.actor.arn.find(":assumed-role/") != std::string::npos &&
             slash != std::string::npos && e.actor.arn.compare(slash + 1, e.actor.arn.npos,
                                                                   value) == 0;
    }
  }
  return false;
}

// Coverage of [from, to] by the activity runs.
Status Coverage(StateStore* store, const IncidentQuery& q, IncidentReport* out) {
  bool indexed = false, unindexed = false;
  std::string unindexed_span;
  Status s = store->ScanActivityRuns([&](const ActivityRun& run) {
    if (run.from_ms > q.to_ms || run.to_ms < q.from_ms) return true;
    if (run.indexed) {
      indexed = true;
    } else if (!unindexed) {
      unindexed = true;
      unindexed_span = Time(run.from_ms) + " .. " + Time(run.to_ms);
    }
    return true;
  });
  if (!s.ok()) {
    indexed = false;
    unindexed = false;
  }
  if (indexed && !unindexed) {
    out->coverage = "complete";
    out->coverage_note = "every call in the window is indexed, read-only and failed ones too";
  } else if (indexed) {
    out->coverage = "partial";
    out->coverage_note = "events between " + unindexed_span +
                         " were loaded without the activity index (live service, or replay "
                         "--no-activity): their read-only and failed calls are missing";
  } else {
    out->coverage = "absent";
    out->coverage_note =
        "no activity index covers this window: only calls that changed state are listed (from "
        "history), read-only and failed calls are not known, and credentials issued by "
        "AssumeRole are not followed; replay the window with `driftwatch replay --state DIR` "
        "to index every call";
  }
  return Status::Ok();
}

// Retention horizons the window reaches past (positions of state/retention.h; the names are
// engine/state_store.h's).
Status Horizons(StateStore* store, const IncidentQuery& q, IncidentReport* out) {
  auto position = [&](std::string_view key, int64_t* ms) {
    Status s = store->GetPosition(key, ms);
    if (!s.IsNotFound()) return s;
    *ms = INT64_MIN;
    return Status::Ok();
  };
  if (Status s = position(kActivityHorizonPosition, &out->activity_horizon_ms); !s.ok()) return s;
  if (Status s = position(kHistoryHorizonPosition, &out->history_horizon_ms); !s.ok()) return s;
  const bool from_history = out->coverage == "absent" || out->coverage == "history-scan";
  const int64_t calls_horizon = from_history ? out->history_horizon_ms : out->activity_horizon_ms;
  std::vector<std::string> missing;
  if (q.from_ms < calls_horizon) {
    missing.push_back("calls before " + Time(calls_horizon) + (from_history ? " (history, state.history_retention_days)" : " (activity index, state.activity_retention_days)"));
  }
  if (!from_history && q.from_ms < out->history_horizon_ms) {
    missing.push_back("resource changes before " + Time(out->history_horizon_ms) +
                      " (history, state.history_retention_days)");
  }
  if (missing.empty()) return Status::Ok();
  out->past_horizon = true;
  out->horizon_note = "the window reaches past the retention horizon: ";
  for (size_t i = 0; i < missing.size(); ++i) {
    out->horizon_note += (i == 0 ? "" : " and ") + missing[i];
  }
  out->horizon_note += " were dropped and are not in this report";
  if (q.from_ms < calls_horizon && out->coverage == "complete") {
    out->coverage = "partial";
    out->coverage_note = "every call from " + Time(calls_horizon) +
                         " on is indexed, read-only and failed ones too; older ones were dropped "
                         "by retention";
  }
  return Status::Ok();
}

// Calls from the activity index, following issued credentials breadth first.
Status CallsFromIndex(StateStore* store, const IncidentQuery& q, IncidentReport* out) {
  struct Seed {
    ActivityIndex by;
    std::string value;
    IncidentPrincipal info;
  };
  std::deque<Seed> queue;
  std::set<std::pair<char, std::string>> visited;
  IncidentPrincipal first;
  first.index = std::string(ActivityIndexName(q.by));
  first.value = q.value;
  if (q.by == ActivityIndex::kPrincipal) first.principal_arn = q.value;
  queue.push_back({q.by, q.value, first});
  visited.insert({static_cast<char>(q.by), q.value});
  std::map<std::pair<int64_t, std::string>, ActivityRecord> calls;
  while (!queue.empty()) {
    Seed seed = std::move(queue.front());
    queue.pop_front();
    std::vector<Seed> next;
    Status s = store->ScanActivity(seed.by, seed.value, q.from_ms, q.to_ms,
                                   [&](const ActivityRecord& r) {
                                     if (seed.info.principal_arn.empty()) {
                                       seed.info.principal_arn = r.actor.arn;
                                     }
                                     if (!r.issued_access_key_id.empty() &&
                                         r.error_code.empty() &&
                                         seed.info.depth < q.max_depth) {
                                       IncidentPrincipal p;
                                       p.index = "access-key";
                                       p.value = r.issued_access_key_id;
                                       p.principal_arn =
                                           r.event_name == "CreateAccessKey" ? "" : r.issued_arn;
                                       p.depth = seed.info.depth + 1;
                                       p.via_event_id = r.event_id;
                                       p.via_event_name = r.event_name;
                                       p.via_time_ms = r.time_ms;
                                       next.push_back({ActivityIndex::kAccessKey,
                                                       r.issued_access_key_id, std::move(p)});
                                     }
                                     calls.emplace(std::make_pair(r.time_ms, r.event_id), r);
                                     return true;
                                   });
    if (!s.ok()) return s;
    out->principals.push_back(seed.info);
    for (Seed& n : next) {
      if (static_cast<int>(visited.size()) >= q.max_credentials) break;
      if (!visited.insert({static_cast<char>(n.by), n.value}).second) continue;
      queue.push_back(std::move(n));
    }
  }
  for (auto& [k, r] : calls) out->calls.push_back(std::move(r));
  return Status::Ok();
}

// Without the index: the calls that changed state, from a scan of all history.
Status CallsFromHistory(StateStore* store, const IncidentQuery& q, IncidentReport* out) {
  std::map<std::pair<int64_t, std::string>, ActivityRecord> calls;
  IncidentPrincipal first;
  first.index = std::string(ActivityIndexName(q.by));
  first.value = q.value;
  Status s = store->ScanHistory("", [&](const HistoryEntry& e) {
    if (e.kind != EventKind::kApiCall || e.time_ms < q.from_ms || e.time_ms > q.to_ms) return true;
    if (!HistoryMatches(e, q.by, q.value)) return true;
    ActivityRecord& r = calls[{e.time_ms, e.event_id}];
    if (r.event_id.empty()) {
      r.time_ms = e.time_ms;
      r.event_id = e.event_id;
      r.event_name = e.action;
      r.actor = e.actor;
      const ResourceKeyParts parts = SplitKey(e.resource_key);
      r.account = parts.account;
      r.region = parts.region;
    }
    r.resource_keys.push_back(e.resource_key);
    if (first.principal_arn.empty()) first.principal_arn = e.actor.arn;
    return true;
  });
  if (!s.ok()) return s;
  out->principals.push_back(first);
  for (auto& [k, r] : calls) {
    std::sort(r.resource_keys.begin(), r.resource_keys.end());
    out->calls.push_back(std::move(r));
  }
  return Status::Ok();
}

std::string UserKey(const std::string& account, const std::string& user) {
  return MakeResourceKey(account, "global", "AWS::IAM::User", user);
}

// Current document of a resource, parsed (null when it does not exist).
json CurrentDocument(StateStore* store, const std::string& key, Status* status) {
  std::string doc;
  Status s = store->GetResource(key, &doc);
  if (s.IsNotFound()) return json();
  if (!s.ok()) {
    *status = s;
    return json();
  }
  return Parse(doc);
}

std::string KeyStatusNow(StateStore* store, const std::string& user_key, const std::string& id,
                         Status* status) {
  const json doc = CurrentDocument(store, user_key, status);
  if (doc.is_null()) return "deleted";
  const json& keys = At(At(doc, "configuration"), "accessKeys");
  if (!keys.is_array()) return "unknown";
  for (const json& k : keys) {
    if (Str(k, "accessKeyId") == id) {
      const std::string st = Str(k, "status");
      return st.empty() ? "Active" : st;
    }
  }
  return "deleted";
}

// The user whose long-term key this is, from an IAMUser principal ARN (user/path/name).
std::string UserNameFromArn(const std::string& arn) {
  const size_t user = arn.find(":user/");
  if (user == std::string::npos) return "";
  const size_t slash = arn.rfind('/');
  return arn.substr(slash + 1);
}

bool Succeeded(const ActivityRecord& r) { return r.error_code.empty(); }

}  // namespace

std::string_view ActivityIndexName(ActivityIndex index) {
  switch (index) {
    case ActivityIndex::kPrincipal:
      return "principal";
    case ActivityIndex::kAccessKey:
      return "access-key";
    case ActivityIndex::kSourceIp:
      return "source-ip";
    case ActivityIndex::kSession:
      return "session";
  }
  return "?";
}

namespace {

// What identifies the incident's own calls, to find them again in history and findings.
struct IncidentIds {
  std::unordered_set<std::string> event_ids, principal_arns, access_keys;
};

IncidentIds IdsOfCalls(const std::vector<ActivityRecord>& calls) {
  IncidentIds ids;
  for (const ActivityRecord& c : calls) {
    ids.event_ids.insert(c.event_id);
    if (!c.actor.arn.empty()) ids.principal_arns.insert(c.actor.arn);
    if (!c.actor.access_key_id.empty()) ids.access_keys.insert(c.actor.access_key_id);
  }
  return ids;
}

// The incident's calls (from the activity index; from history when no index covers the window,
// or when the query asks), how completely they are known, and the retention horizons.
Status FindCalls(StateStore* store, const IncidentQuery& q, IncidentReport* out) {
  if (Status s = Coverage(store, q, out); !s.ok()) return s;
  if (out->coverage == "absent" || q.force_history_scan) {
    if (Status s = CallsFromHistory(store, q, out); !s.ok()) return s;
    if (q.force_history_scan && out->coverage != "absent") {
      out->coverage = "history-scan";
      out->coverage_note = "answered from a scan of all history (calls that changed state only)";
    }
  } else {
    if (Status s = CallsFromIndex(store, q, out); !s.ok()) return s;
  }
  return Horizons(store, q, out);
}

// The incident's entries in the history of res->resource_key: what they did to it, when, in
// time order. Only the window's entries (a resource's whole history can be long); *any says
// whether there was one.
Status IncidentChangesOf(StateStore* store, const IncidentQuery& q, const IncidentIds& ids,
                         IncidentResource* res, bool* any) {
  *any = false;
  return store->ScanHistoryRange(
      res->resource_key, q.from_ms, q.to_ms, [&](const HistoryEntry& e) {
        if (!ids.event_ids.count(e.event_id)) return true;
        const json change = Parse(e.change);
        if (At(change, "created") == json(true)) {
          if (!res->created) {
            res->created_by_action = e.action;
            res->created_by_event_id = e.event_id;
            res->created_ms = e.time_ms;
          }
          res->created = true;
        } else if (e.deleted) {
          res->deleted = true;
        } else {
          res->modified = true;
        }
        if (!*any) res->first_ms = e.time_ms;
        res->last_ms = e.time_ms;
        *any = true;
        res->actions.push_back(e.action);
        return true;
      });
}

// Who changed a resource last: its newest applied history entry (the newest one, unless it was a
// change history could not place); an empty entry when there is none.
Status LastAppliedChange(StateStore* store, const std::string& key, HistoryEntry* last) {
  Status l = store->LastHistory(key, last);
  if (!l.ok() && !l.IsNotFound()) return l;
  bool have_last = l.ok();
  if (have_last && !last->applied) {
    have_last = false;
    Status f = store->ScanHistory(key, [&](const HistoryEntry& e) {
      if (e.applied) *last = e, have_last = true;
      return true;
    });
    if (!f.ok()) return f;
  }
  if (!have_last) *last = HistoryEntry();
  return Status::Ok();
}

// Every resource a successful write call of the incident touched and whose history holds the
// incident's change: what the incident did, whether it exists now, who changed it last.
Status FindResources(StateStore* store, const IncidentQuery& q, const IncidentIds& ids,
                     IncidentReport* out) {
  std::set<std::string> touched;
  for (const ActivityRecord& c : out->calls) {
    if (!Succeeded(c) || c.read_only) continue;
    for (const std::string& k : c.resource_keys) touched.insert(k);
  }
  for (const std::string& key : touched) {
    IncidentResource res;
    res.resource_key = key;
    bool any = false;
    if (Status s = IncidentChangesOf(store, q, ids, &res, &any); !s.ok()) return s;
    if (!any) continue;
    HistoryEntry last;
    if (Status l = LastAppliedChange(store, key, &last); !l.ok()) return l;
    std::string doc;
    Status g = store->GetResource(key, &doc);
    if (!g.ok() && !g.IsNotFound()) return g;
    res.exists_now = g.ok();
    res.last_changed_by = last.actor.arn;
    res.last_change_is_incident = ids.event_ids.count(last.event_id) > 0;
    out->resources.push_back(std::move(res));
  }
  return Status::Ok();
}

// The access keys of an incident, one row per key, by id.
struct AccessKeyRows {
  std::map<std::string, IncidentAccessKey> keys;
  std::map<std::string, std::string> account;  // where the key's user is looked up

  IncidentAccessKey& Row(const ActivityRecord& c, const std::string& id, const std::string& user) {
    IncidentAccessKey& k = keys[id];
    k.access_key_id = id;
    if (k.user_name.empty()) k.user_name = user;
    if (!account.count(id)) account[id] = c.account;
    return k;
  }
};

// What one call did with access keys: created, deleted, deactivated or activated one, or was
// signed with a long-term one.
void NoteAccessKeys(const ActivityRecord& c, AccessKeyRows* rows) {
  if (c.event_name == "CreateAccessKey" && Succeeded(c) && !c.issued_access_key_id.empty()) {
    IncidentAccessKey& k = rows->Row(c, c.issued_access_key_id, c.issued_arn);
    k.created = true;
    k.created_event_id = c.event_id;
  }
  const bool key_change = c.event_source == "iam.amazonaws.com" &&
                          (c.event_name == "DeleteAccessKey" || c.event_name == "UpdateAccessKey");
  const json detail = key_change && Succeeded(c) ? Parse(c.detail) : json();
  const std::string changed_id = Str(detail, "accessKeyId");
  if (!changed_id.empty()) {
    // Without userName the key is the caller's own.
    std::string user = Str(detail, "userName");
    if (user.empty()) user = UserNameFromArn(c.actor.arn);
    IncidentAccessKey& k = rows->Row(c, changed_id, user);
    if (c.event_name == "DeleteAccessKey") {
      k.deleted = true;
      k.deleted_event_id = c.event_id;
    } else if (Str(detail, "status") == "Inactive") {
      k.deactivated = true;
      k.deactivated_event_id = c.event_id;
    } else if (Str(detail, "status") == "Active") {
      k.activated = true;
      k.activated_event_id = c.event_id;
    }
  }
  // Long-term keys only (AKIA); temporary ones (ASIA) end with their session.
  if (c.actor.access_key_id.rfind("AKIA", 0) == 0) {
    rows->Row(c, c.actor.access_key_id, UserNameFromArn(c.actor.arn)).used = true;
  }
}

// Access keys created, used, deleted, deactivated or activated by the incident, with their
// status now; a failed read of a user's document goes to *read_status.
void FindAccessKeys(StateStore* store, IncidentReport* out, Status* read_status) {
  AccessKeyRows rows;
  for (const ActivityRecord& c : out->calls) NoteAccessKeys(c, &rows);
  for (auto& [id, k] : rows.keys) {
    k.status_now = k.user_name.empty()
                       ? "unknown"
                       : KeyStatusNow(store, UserKey(rows.account[id], k.user_name), id,
                                      read_status);
    out->access_keys.push_back(std::move(k));
  }
}

IncidentLoginProfile LoginProfileChange(StateStore* store, const ActivityRecord& c,
                                        const json& detail, Status* read_status) {
  const std::string& n = c.event_name;
  IncidentLoginProfile lp;
  lp.user_name = Str(detail, "userName");
  if (lp.user_name.empty()) lp.user_name = UserNameFromArn(c.actor.arn);  // the caller's
  lp.action = n == "CreateLoginProfile"   ? "created"
              : n == "UpdateLoginProfile" ? "updated"
                                          : "deleted";
  lp.event_id = c.event_id;
  lp.time_ms = c.time_ms;
  const json doc = CurrentDocument(store, UserKey(c.account, lp.user_name), read_status);
  const json& profile = At(At(doc, "configuration"), "loginProfile");
  lp.exists_now = profile.is_object();
  return lp;
}

bool IsAttachPolicy(const std::string& n) {
  return n == "AttachUserPolicy" || n == "AttachRolePolicy" || n == "AttachGroupPolicy";
}
bool IsPutPolicy(const std::string& n) {
  return n == "PutUserPolicy" || n == "PutRolePolicy" || n == "PutGroupPolicy";
}

// A managed policy attached or an inline policy put (IsAttachPolicy or IsPutPolicy).
IncidentPolicy PolicyChange(StateStore* store, const ActivityRecord& c, const json& detail,
                            Status* read_status) {
  const std::string& n = c.event_name;
  const bool put = IsPutPolicy(n);
  IncidentPolicy p;
  const char* type = n.find("User") != std::string::npos   ? "User"
                     : n.find("Role") != std::string::npos ? "Role"
                                                           : "Group";
  p.entity_type = type == std::string("User") ? "user" : type == std::string("Role") ? "role"
                                                                                     : "group";
  p.entity_name = Str(detail, p.entity_type == "user"   ? "userName"
                              : p.entity_type == "role" ? "roleName"
                                                        : "groupName");
  p.inline_policy = put;
  p.policy = Str(detail, put ? "policyName" : "policyArn");
  p.event_id = c.event_id;
  p.time_ms = c.time_ms;
  const json doc = CurrentDocument(
      store, MakeResourceKey(c.account, "global", std::string("AWS::IAM::") + type, p.entity_name),
      read_status);
  const json& cfg = At(doc, "configuration");
  const json& list = put ? At(cfg, (p.entity_type + "PolicyList").c_str())
                         : At(cfg, "attachedManagedPolicies");
  if (list.is_array()) {
    for (const json& item : list) {
      if (Str(item, put ? "policyName" : "policyArn") == p.policy) p.attached_now = true;
    }
  }
  return p;
}

IncidentTrustChange TrustChange(StateStore* store, const ActivityRecord& c, const json& detail,
                                Status* read_status) {
  IncidentTrustChange t;
  t.role_name = Str(detail, "roleName");
  t.event_name = c.event_name;
  t.event_id = c.event_id;
  t.time_ms = c.time_ms;
  t.role_exists_now =
      !CurrentDocument(store, MakeResourceKey(c.account, "global", "AWS::IAM::Role", t.role_name),
                       read_status)
           .is_null();
  return t;
}

// IAM changes named by the successful IAM calls' detail: login profiles, policies and trust
// policies, each with whether it is still there; a failed read goes to *read_status.
void FindIamChanges(StateStore* store, IncidentReport* out, Status* read_status) {
  for (const ActivityRecord& c : out->calls) {
    if (!Succeeded(c) || c.event_source != "iam.amazonaws.com") continue;
    const json detail = Parse(c.detail);
    const std::string& n = c.event_name;
    if (n == "CreateLoginProfile" || n == "UpdateLoginProfile" || n == "DeleteLoginProfile") {
      out->login_profiles.push_back(LoginProfileChange(store, c, detail, read_status));
    } else if (IsAttachPolicy(n) || IsPutPolicy(n)) {
      out->policies.push_back(PolicyChange(store, c, detail, read_status));
    } else if (n == "CreateRole" || n == "UpdateAssumeRolePolicy") {
      out->trust_changes.push_back(TrustChange(store, c, detail, read_status));
    }
  }
}

// Findings opened in the window by the incident's principals, keys or calls, oldest first.
Status FindFindings(StateStore* store, const IncidentQuery& q, const IncidentIds& ids,
                    IncidentReport* out) {
  Status s = store->ScanFindings([&](const Finding& f) {
    if (f.first_seen_ms < q.from_ms || f.first_seen_ms > q.to_ms) return true;
    bool ours = (!f.actor.arn.empty() && ids.principal_arns.count(f.actor.arn)) ||
                (!f.actor.access_key_id.empty() && ids.access_keys.count(f.actor.access_key_id));
    for (const std::string& id : f.event_ids) ours = ours || ids.event_ids.count(id) > 0;
    if (ours) out->findings.push_back(f);
    return true;
  });
  if (!s.ok()) return s;
  std::sort(out->findings.begin(), out->findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.first_seen_ms, a.finding_id) < std::tie(b.first_seen_ms, b.finding_id);
  });
  return Status::Ok();
}

void UndoAccessKeys(IncidentReport* out) {
  for (const IncidentAccessKey& k : out->access_keys) {
    // A key the incident deleted is gone for good (ids are never reused), whatever its user's
    // document says now; a key it deactivated and nobody activated again is Inactive.
    if (k.deleted) continue;
    if (k.status_now == "Active" || k.status_now == "unknown") {
      out->undo.push_back({"deactivate-key", k.access_key_id,
                           k.user_name.empty() ? "user unknown" : "user " + k.user_name});
    }
  }
}

// Login profiles: what the incident did last to each user's profile decides. Created (or
// created, then its password changed) and still there: delete it. Only its password changed
// (a profile the incident did not create) and still there: the owner's password is known to
// the attacker, reset it. Deleted last: nothing to undo here.
void UndoLoginProfiles(IncidentReport* out) {
  std::map<std::string, std::pair<bool, std::string>> profiles;  // user -> (created, last action)
  for (const IncidentLoginProfile& lp : out->login_profiles) {
    auto& [created, last] = profiles[lp.user_name];
    if (lp.action == "created") created = true;
    if (lp.action == "deleted") created = false;
    last = lp.action;
  }
  for (const auto& [user, what] : profiles) {
    bool exists = false;
    for (const IncidentLoginProfile& lp : out->login_profiles) {
      if (lp.user_name == user) exists = lp.exists_now;
    }
    if (!exists || what.second == "deleted") continue;
    if (what.first) {
      out->undo.push_back({"delete-login-profile", user, "user"});
    } else {
      out->undo.push_back({"reset-password", user, "password changed by the incident"});
    }
  }
}

void UndoPolicies(IncidentReport* out) {
  std::set<std::tuple<std::string, std::string, std::string>> detached;
  for (const IncidentPolicy& p : out->policies) {
    if (!p.attached_now) continue;
    if (!detached.insert({p.entity_type, p.entity_name, p.policy}).second) continue;
    out->undo.push_back({p.inline_policy ? "delete-inline-policy" : "detach-policy", p.policy,
                         p.entity_type + " " + p.entity_name});
  }
}

void UndoResources(IncidentReport* out) {
  // Every resource the incident created that still exists, whatever its type (the generated
  // resource-call table puts Lambda functions, secrets, parameters, NAT gateways... in state),
  // with the call that created it.
  for (const IncidentResource& r : out->resources) {
    if (r.created && r.exists_now) {
      out->undo.push_back({"delete-resource", r.resource_key, "created by " + r.created_by_action});
    }
  }
  // Key and login-profile calls have their own items above (or cannot be undone: a deleted key),
  // so they alone do not make a resource to revert.
  static const std::set<std::string> kOwnItems = {
      "CreateAccessKey",    "UpdateAccessKey",    "DeleteAccessKey",
      "CreateLoginProfile", "UpdateLoginProfile", "DeleteLoginProfile"};
  for (const IncidentResource& r : out->resources) {
    if (!r.created && r.modified && r.exists_now && r.last_change_is_incident) {
      std::string what;
      bool other = false;
      for (const std::string& a : r.actions) {
        what += (what.empty() ? "" : ", ") + a;
        other = other || !kOwnItems.count(a);
      }
      if (other) out->undo.push_back({"revert-change", r.resource_key, what});
    }
  }
}

// The undo checklist, in a fixed order: keys, login profiles, policies, resources, reverts.
void BuildUndo(IncidentReport* out) {
  UndoAccessKeys(out);
  UndoLoginProfiles(out);
  UndoPolicies(out);
  UndoResources(out);
}

}  // namespace

Status BuildIncidentReport(StateStore* store, const IncidentQuery& q, IncidentReport* out) {
  *out = IncidentReport();
  out->query = q;
  if (q.value.empty()) return Status::Error("incident: empty " + std::string(ActivityIndexName(q.by)));
  if (Status s = FindCalls(store, q, out); !s.ok()) return s;
  const IncidentIds ids = IdsOfCalls(out->calls);
  if (Status s = FindResources(store, q, ids, out); !s.ok()) return s;
  // Reads of current documents: a failure fails the report once both steps have run.
  Status read_status;
  FindAccessKeys(store, out, &read_status);
  FindIamChanges(store, out, &read_status);
  if (!read_status.ok()) return read_status;
  if (Status s = FindFindings(store, q, ids, out); !s.ok()) return s;
  BuildUndo(out);
  return Status::Ok();
}

// ---- output ----

namespace {

std::string Cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out.empty() ? "-" : out;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string UndoLine(const IncidentUndo& u) {
  if (u.action == "deactivate-key") return "deactivate access key " + u.target + " (" + u.detail + ")";
  if (u.action == "delete-login-profile") return "delete the login profile of user " + u.target;
  if (u.action == "reset-password") {
    return "reset the console password of user " + u.target + " (" + u.detail + ")";
  }
  if (u.action == "detach-policy") return "detach " + u.target + " from " + u.detail;
  if (u.action == "delete-inline-policy") {
    return "delete inline policy " + u.target + " of " + u.detail;
  }
  if (u.action == "delete-resource") return "delete " + u.target + " (" + u.detail + ")";
  return "revert " + u.target + " (" + u.detail + ")";
}

json CallJson(const ActivityRecord& c) {
  json j = json::object();
  j["time"] = Time(c.time_ms);
  j["eventId"] = c.event_id;
  j["eventSource"] = c.event_source;
  j["eventName"] = c.event_name;
  j["errorCode"] = c.error_code;
  j["readOnly"] = c.read_only;
  j["region"] = c.region;
  j["account"] = c.account;
  j["sourceIp"] = c.actor.source_ip;
  j["accessKeyId"] = c.actor.access_key_id;
  j["principalArn"] = c.actor.arn;
  j["sessionName"] = c.session_name;
  j["resources"] = c.resource_keys;
  if (!c.issued_access_key_id.empty()) {
    j["issued"] = {{"accessKeyId", c.issued_access_key_id},
                   {"arn", c.issued_arn},
                   {"sessionName", c.issued_session_name}};
  }
  if (!c.detail.empty()) j["detail"] = Parse(c.detail);
  return j;
}

}  // namespace

std::string IncidentToMarkdown(const IncidentReport& r) {
  const IncidentQuery& q = r.query;
  std::string o;
  o += "# Incident report: " + std::string(ActivityIndexName(q.by)) + " `" + q.value + "`\n\n";
  o += "- Window (event time): " + (q.from_ms == INT64_MIN ? std::string("beginning") : Time(q.from_ms)) +
       " .. " + (q.to_ms == INT64_MAX ? std::string("end") : Time(q.to_ms)) + "\n";
  o += "- Call index: " + r.coverage + " — " + r.coverage_note + "\n";
  if (r.past_horizon) o += "- Retention: " + r.horizon_note + "\n";
  size_t failed = 0;
  for (const ActivityRecord& c : r.calls) failed += c.error_code.empty() ? 0 : 1;
  o += "- " + std::to_string(r.calls.size()) + " calls (" + std::to_string(failed) +
       " failed), " + std::to_string(r.resources.size()) + " resources changed, " +
       std::to_string(r.findings.size()) + " findings opened, " + std::to_string(r.undo.size()) +
       " things to undo\n\n";

  o += "## Principals\n\n| looked up by | value | principal | reached through |\n|---|---|---|---|\n";
  for (const IncidentPrincipal& p : r.principals) {
    o += "| " + p.index + " | " + Cell(p.value) + " | " + Cell(p.principal_arn) + " | " +
         (p.depth == 0 ? std::string("start")
                       : p.via_event_name + " " + p.via_event_id + " at " + Time(p.via_time_ms)) +
         " |\n";
  }

  o += "\n## Calls\n\n| time | call | error | principal | key | source IP | region | resources |\n"
       "|---|---|---|---|---|---|---|---|\n";
  for (const ActivityRecord& c : r.calls) {
    o += "| " + Time(c.time_ms) + " | " + Cell(c.event_source.empty() ? c.event_name
                                                                      : c.event_source + " " +
                                                                            c.event_name) +
         " | " + Cell(c.error_code) + " | " + Cell(c.actor.arn) + " | " +
         Cell(c.actor.access_key_id) + " | " + Cell(c.actor.source_ip) + " | " + Cell(c.region) + " | " +
         Cell(Join(c.resource_keys, ", ")) + " |\n";
  }

  o += "\n## Resources created, modified or deleted\n\n"
       "| resource | what | calls | exists now | changed since by |\n|---|---|---|---|---|\n";
  for (const IncidentResource& res : r.resources) {
    std::vector<std::string> what;
    if (res.created) what.push_back("created");
    if (res.modified) what.push_back("modified");
    if (res.deleted) what.push_back("deleted");
    o += "| " + Cell(res.resource_key) + " | " + Join(what, ", ") + " | " +
         Cell(Join(res.actions, ", ")) + " | " + (res.exists_now ? "yes" : "no") + " | " +
         (res.last_change_is_incident ? std::string("-") : Cell(res.last_changed_by)) + " |\n";
  }

  o += "\n## Access keys\n\n| key | user | what the incident did | status now |\n"
       "|---|---|---|---|\n";
  for (const IncidentAccessKey& k : r.access_keys) {
    std::vector<std::string> did;
    if (k.created) did.push_back("created (" + k.created_event_id + ")");
    if (k.used) did.push_back("used");
    if (k.activated) did.push_back("activated (" + k.activated_event_id + ")");
    if (k.deactivated) did.push_back("deactivated (" + k.deactivated_event_id + ")");
    if (k.deleted) did.push_back("deleted (" + k.deleted_event_id + ")");
    o += "| " + k.access_key_id + " | " + Cell(k.user_name) + " | " + Cell(Join(did, ", ")) +
         " | " + k.status_now + " |\n";
  }
  o += "\n## Login profiles created, changed or deleted\n\n";
  if (r.login_profiles.empty()) o += "none\n";
  for (const IncidentLoginProfile& lp : r.login_profiles) {
    o += "- user " + lp.user_name + ": " + lp.action + " at " + Time(lp.time_ms) +
         (lp.exists_now ? " (a login profile exists now)" : " (no login profile now)") + "\n";
  }
  o += "\n## Policies attached\n\n";
  if (r.policies.empty()) o += "none\n";
  for (const IncidentPolicy& p : r.policies) {
    o += "- " + std::string(p.inline_policy ? "inline " : "") + p.policy + " on " +
         p.entity_type + " " + p.entity_name + " at " + Time(p.time_ms) +
         (p.attached_now ? " (still attached)" : " (no longer attached)") + "\n";
  }
  o += "\n## Trust policies changed\n\n";
  if (r.trust_changes.empty()) o += "none\n";
  for (const IncidentTrustChange& t : r.trust_changes) {
    o += "- role " + t.role_name + ": " + t.event_name + " at " + Time(t.time_ms) +
         (t.role_exists_now ? " (role exists)" : " (role gone)") + "\n";
  }
  o += "\n## Findings opened in the window\n\n";
  if (r.findings.empty()) o += "none\n";
  for (const Finding& f : r.findings) {
    o += "- " + Time(f.first_seen_ms) + " " + std::string(SeverityName(f.severity)) + " " +
         f.rule_id + ": " + f.title + " — " + f.resource.type + " " + f.resource.id + " (" +
         std::string(FindingStatusName(f.status)) + ")\n";
  }
  o += "\n## Undo checklist\n\n";
  if (r.undo.empty()) o += "nothing left to undo\n";
  for (const IncidentUndo& u : r.undo) o += "- [ ] " + UndoLine(u) + "\n";
  return o;
}

std::string IncidentToNdjson(const IncidentReport& r) {
  std::string o;
  auto line = [&](const char* kind, json j) {
    json out = json::object();
    out["kind"] = kind;
    for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = it.value();
    o += out.dump() + "\n";
  };
  line("query", {{"by", ActivityIndexName(r.query.by)},
                 {"value", r.query.value},
                 {"from", r.query.from_ms == INT64_MIN ? "" : Time(r.query.from_ms)},
                 {"to", r.query.to_ms == INT64_MAX ? "" : Time(r.query.to_ms)},
                 {"coverage", r.coverage},
                 {"coverageNote", r.coverage_note},
                 {"horizon",
                  {{"activity", r.activity_horizon_ms == INT64_MIN
                                    ? json()
                                    : json(Time(r.activity_horizon_ms))},
                   {"history", r.history_horizon_ms == INT64_MIN
                                   ? json()
                                   : json(Time(r.history_horizon_ms))}}},
                 {"pastHorizon", r.past_horizon},
                 {"horizonNote", r.horizon_note}});
  for (const IncidentPrincipal& p : r.principals) {
    line("principal", {{"index", p.index},
                       {"value", p.value},
                       {"principalArn", p.principal_arn},
                       {"depth", p.depth},
                       {"viaEventId", p.via_event_id},
                       {"viaEventName", p.via_event_name}});
  }
  for (const ActivityRecord& c : r.calls) line("call", CallJson(c));
  for (const IncidentResource& res : r.resources) {
    line("resource", {{"resource", res.resource_key},
                      {"created", res.created},
                      {"modified", res.modified},
                      {"deleted", res.deleted},
                      {"existsNow", res.exists_now},
                      {"lastChangeIsIncident", res.last_change_is_incident},
                      {"lastChangedBy", res.last_changed_by},
                      {"actions", res.actions},
                      {"createdBy", res.created_by_action.empty()
                                        ? json()
                                        : json{{"eventName", res.created_by_action},
                                               {"eventId", res.created_by_event_id},
                                               {"time", Time(res.created_ms)}}}});
  }
  for (const IncidentAccessKey& k : r.access_keys) {
    line("access_key", {{"accessKeyId", k.access_key_id},
                        {"userName", k.user_name},
                        {"created", k.created},
                        {"createdEventId", k.created_event_id},
                        {"used", k.used},
                        {"deleted", k.deleted},
                        {"deletedEventId", k.deleted_event_id},
                        {"deactivated", k.deactivated},
                        {"deactivatedEventId", k.deactivated_event_id},
                        {"activated", k.activated},
                        {"activatedEventId", k.activated_event_id},
                        {"statusNow", k.status_now}});
  }
  for (const IncidentLoginProfile& lp : r.login_profiles) {
    line("login_profile", {{"userName", lp.user_name},
                           {"action", lp.action},
                           {"eventId", lp.event_id},
                           {"time", Time(lp.time_ms)},
                           {"existsNow", lp.exists_now}});
  }
  for (const IncidentPolicy& p : r.policies) {
    line("policy", {{"entityType", p.entity_type},
                    {"entityName", p.entity_name},
                    {"policy", p.policy},
                    {"inline", p.inline_policy},
                    {"eventId", p.event_id},
                    {"time", Time(p.time_ms)},
                    {"attachedNow", p.attached_now}});
  }
  for (const IncidentTrustChange& t : r.trust_changes) {
    line("trust_policy", {{"roleName", t.role_name},
                          {"eventName", t.event_name},
                          {"eventId", t.event_id},
                          {"time", Time(t.time_ms)},
                          {"roleExistsNow", t.role_exists_now}});
  }
  for (const Finding& f : r.findings) line("finding", json::parse(FindingToJson(f)));
  for (const IncidentUndo& u : r.undo) {
    json j = {{"action", u.action}, {"target", u.target}, {"detail", u.detail}};
    // A resource to delete: the event id of the call that created it.
    for (const IncidentResource& res : r.resources) {
      if (u.action == "delete-resource" && res.resource_key == u.target) {
        j["eventId"] = res.created_by_event_id;
      }
    }
    line("undo", std::move(j));
  }
  return o;
}

std::string IncidentToChecklist(const IncidentReport& r) {
  std::string o;
  if (r.coverage != "complete") o += "# note: call index " + r.coverage + ": " + r.coverage_note + "\n";
  if (r.past_horizon) o += "# note: " + r.horizon_note + "\n";
  for (const IncidentUndo& u : r.undo) o += "- [ ] " + UndoLine(u) + "\n";
  return o;
}

// ---- timeline ----

Category CategoryOfResourceType(std::string_view type) {
  auto starts = [&](std::string_view p) { return type.substr(0, p.size()) == p; };
  if (starts("AWS::IAM::")) return Category::kIdentity;
  if (type == "AWS::EC2::Instance" || type == "AWS::EC2::Image") return Category::kInventory;
  if (type == "AWS::EC2::SecurityGroup" || type == "AWS::EC2::NetworkAcl" ||
      type == "AWS::EC2::RouteTable" || type == "AWS::EC2::InternetGateway" ||
      starts("AWS::EC2::VPC") || type == "AWS::EC2::Subnet") {
    return Category::kNetwork;
  }
  if (starts("AWS::CloudTrail::") || starts("AWS::Config::") || type == "AWS::EC2::FlowLog" ||
      starts("AWS::GuardDuty::") || starts("AWS::Logs::")) {
    return Category::kLogging;
  }
  if (starts("AWS::SSM::")) return Category::kPatching;
  return Category::kDataProtection;
}

Status BuildTimeline(StateStore* store, const TimelineQuery& q, std::vector<TimelineLine>* out) {
  out->clear();
  auto resource_matches = [&](std::string_view key) {
    if (q.resource.empty()) return true;
    if (key == q.resource) return true;
    const ResourceKeyParts p = SplitKey(key);
    return p.id == q.resource;
  };
  Status s = store->ScanHistory("", [&](const HistoryEntry& e) {
    if (e.time_ms < q.from_ms || e.time_ms > q.to_ms || !resource_matches(e.resource_key)) {
      return true;
    }
    if (q.has_category && CategoryOfResourceType(SplitKey(e.resource_key).type) != q.category) {
      return true;
    }
    TimelineLine l;
    l.time_ms = e.time_ms;
    l.kind = "change";
    l.resource_key = e.resource_key;
    l.event_id = e.event_id;
    l.action = e.action;
    l.principal_arn = e.actor.arn;
    l.text = e.change;
    out->push_back(std::move(l));
    return true;
  });
  if (!s.ok()) return s;
  s = store->ScanFindings([&](const Finding& f) {
    const std::string key =
        MakeResourceKey(f.resource.account, f.resource.region, f.resource.type, f.resource.id);
    if (!resource_matches(key) || (q.has_category && f.category != q.category)) return true;
    auto add = [&](int64_t t, const char* kind) {
      if (t < q.from_ms || t > q.to_ms) return;
      TimelineLine l;
      l.time_ms = t;
      l.kind = kind;
      l.resource_key = key;
      l.event_id = f.finding_id;
      l.action = f.rule_id;
      l.principal_arn = f.actor.arn;
      l.text = std::string(SeverityName(f.severity)) + " " + f.title;
      out->push_back(std::move(l));
    };
    add(f.first_seen_ms, "finding-opened");
    if (f.status == FindingStatus::kResolved && f.resolved_at_ms != 0) {
      add(f.resolved_at_ms, "finding-resolved");
    }
    return true;
  });
  if (!s.ok()) return s;
  // Changes before the findings they caused at the same instant.
  auto rank = [](const std::string& kind) { return kind == "change" ? 0 : 1; };
  std::sort(out->begin(), out->end(), [&](const TimelineLine& a, const TimelineLine& b) {
    return std::make_tuple(a.time_ms, rank(a.kind), a.resource_key, a.event_id, a.kind) <
           std::make_tuple(b.time_ms, rank(b.kind), b.resource_key, b.event_id, b.kind);
  });
  return Status::Ok();
}

std::string TimelineToTable(const std::vector<TimelineLine>& lines) {
  std::string o;
  for (const TimelineLine& l : lines) {
    o += Time(l.time_ms) + "  " + l.kind + "  " + l.resource_key + "  " + l.action + "  " +
         (l.principal_arn.empty() ? "-" : l.principal_arn) + "  " + l.text + "\n";
  }
  return o;
}

std::string TimelineToNdjson(const std::vector<TimelineLine>& lines) {
  std::string o;
  for (const TimelineLine& l : lines) {
    json j = json::object();
    j["time"] = Time(l.time_ms);
    j["kind"] = l.kind;
    j["resource"] = l.resource_key;
    j["id"] = l.event_id;
    j["action"] = l.action;
    j["principalArn"] = l.principal_arn;
    if (l.kind == "change") {
      j["change"] = Parse(l.text);
    } else {
      j["text"] = l.text;
    }
    o += j.dump() + "\n";
  }
  return o;
}

}  // namespace driftwatch
