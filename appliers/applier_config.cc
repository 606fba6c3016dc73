// A Config item replaces the resource's document (doc/state_format.md): normalised to the
// notification key spelling, ordered by configurationItemCaptureTime, keeping what driftwatch
// knows that Config does not (creator, access keys, logging flags).

#include <climits>
#include <memory>

#include "appliers/applier_internal.h"
#include "vocab/json_parse.h"
#include "vocab/time_util.h"

namespace driftwatch::applier {
namespace {

void Rename(json& item, const char* from, const char* to) {
  auto it = item.find(from);
  if (it == item.end()) return;
  if (!item.contains(to)) item[to] = *it;
  item.erase(from);
}

json ParseIfJsonText(const json& v) {
  if (!v.is_string()) return v;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || (s[0] != '{' && s[0] != '[')) return v;
  json parsed = ParseJson(s);
  return parsed.is_discarded() ? v : parsed;
}

void NormalizeItem(json& item) {
  Rename(item, "accountId", "awsAccountId");
  Rename(item, "arn", "ARN");
  Rename(item, "version", "configurationItemVersion");
  Rename(item, "configurationItemMD5Hash", "configurationStateMd5Hash");
  if (item.contains("configuration"))
    item["configuration"] = ParseIfJsonText(item["configuration"]);
  if (!item["configuration"].is_object()) item["configuration"] = json::object();
  json& supp = item["supplementaryConfiguration"];
  if (!supp.is_object()) supp = json::object();
  for (auto it = supp.begin(); it != supp.end(); ++it) {
    if (it.key() == "BucketPolicy") {
      *it = ParseIfJsonText(*it);  // the object around policyText; policyText stays text
      continue;
    }
    *it = ParseIfJsonText(*it);
  }
  if (!item["tags"].is_object()) item["tags"] = json::object();
  json& rel = item["relationships"];
  if (!rel.is_array()) rel = json::array();
  for (json& r : rel) {
    if (r.is_object()) Rename(r, "relationshipName", "name");
  }

  const std::string type = Str(item, "resourceType");
  json& cfg = item["configuration"];
  if (type == "AWS::EC2::SecurityGroup") {
    if (cfg.contains("ipPermissions")) NormalizeSecurityGroupPermissions(cfg["ipPermissions"]);
    if (cfg.contains("ipPermissionsEgress")) {
      NormalizeSecurityGroupPermissions(cfg["ipPermissionsEgress"]);
    }
  } else if (type == "AWS::IAM::User" || type == "AWS::IAM::Role" || type == "AWS::IAM::Group") {
    for (const char* list : {"userPolicyList", "rolePolicyList", "groupPolicyList"}) {
      json& policies = cfg[list];
      if (!policies.is_array()) {
        if (policies.is_null()) cfg.erase(list);
        continue;
      }
      for (json& p : policies) {
        if (p.is_object() && p.contains("policyDocument")) {
          p["policyDocument"] = PolicyText(p["policyDocument"]);
        }
      }
    }
    if (cfg.contains("assumeRolePolicyDocument")) {
      cfg["assumeRolePolicyDocument"] = PolicyText(cfg["assumeRolePolicyDocument"]);
    }
  }
}

// Fields driftwatch maintains that Config items do not carry, kept across a replacement.
constexpr const char* kCarriedConfigurationFields[] = {
    "accessKeys", "loginProfile", "mfaDevices", "isLogging", "recording", "keyRotationEnabled",
    "tlsWasRequired", "loadBalancerScheme",
};

void CarryOver(const json& old_doc, json& doc) {
  const json& old_dw = At(old_doc, "driftwatch");
  json& dw = ObjectAt(doc, "driftwatch");
  for (const char* k : {"createdBy", "createdByType", "createdByAccessKey", "createdAt",
                        "createdByEvent", "sgRules"}) {
    const json& v = At(old_dw, k);
    if (!v.is_null()) dw[k] = v;
  }
  const json& old_cfg = At(old_doc, "configuration");
  json& cfg = ObjectAt(doc, "configuration");
  for (const char* k : kCarriedConfigurationFields) {
    if (!cfg.contains(k) && old_cfg.is_object() && old_cfg.contains(k)) cfg[k] = old_cfg[k];
  }
}

// The top-level fields of configuration, supplementaryConfiguration and tags that differ.
json Diff(const json& before, const json& after) {
  json changed = json::array();
  for (const char* part : {"configuration", "supplementaryConfiguration", "tags"}) {
    const json& a = At(before, part);
    const json& b = At(after, part);
    if (a == b) continue;
    if (!a.is_object() || !b.is_object()) {
      changed.push_back(part);
      continue;
    }
    for (auto it = b.begin(); it != b.end(); ++it) {
      const json& old_value = At(a, it.key());
      if (old_value != *it) changed.push_back(std::string(part) + "." + it.key());
    }
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key())) changed.push_back(std::string(part) + "." + it.key());
    }
  }
  return changed;
}

}  // namespace

void Op::ApplyConfigItem() {
  json item = record_;
  if (At(item, "configurationItem").is_object()) item = json(record_["configurationItem"]);
  if (!item.is_object()) return;
  NormalizeItem(item);

  const std::string type = Str(item, "resourceType");
  const std::string resource_id = ScalarText(At(item, "resourceId"));
  const std::string resource_name = Str(item, "resourceName");
  if (type.empty() || resource_id.empty()) return;
  Target t;
  t.type = type;
  t.key_id = KeyedByName(type) && !resource_name.empty() ? resource_name : resource_id;
  t.resource_id = resource_id;
  t.name = resource_name;
  t.account = ScalarText(At(item, "awsAccountId"));
  if (t.account.empty()) t.account = event_.account;
  t.region = Str(item, "awsRegion");
  if (t.region.empty()) t.region = event_.region;
  t.arn = Str(item, "ARN");
  item["awsAccountId"] = t.account;
  item["awsRegion"] = t.region;

  int64_t capture_ms = event_.time_ms;
  const json& capture = At(item, "configurationItemCaptureTime");
  if (capture.is_string()) ParseTimestamp(capture.get_ref<const std::string&>(), &capture_ms);
  const std::string status = Str(item, "configurationItemStatus");
  const bool deleting = status == "ResourceDeleted" || status == "ResourceNotRecorded" ||
                        status == "ResourceDeletedNotRecorded";

  const std::string key = MakeResourceKey(t.account, t.region, t.type, t.key_id);
  std::string before;
  const bool have = ctx_.GetResource(key, &before);
  json doc;
  int64_t last_ms = INT64_MIN;
  bool tombstoned = false;
  if (have) {
    if (std::shared_ptr<const json> parsed = ctx_.ParsedResource(key)) {
      doc = *parsed;
    } else {
      doc = ParseJson(before);
    }
    if (!doc.is_object()) doc = json::object();
    const json& ms = At(At(doc, "driftwatch"), "lastChangeMs");
    if (ms.is_number_integer()) last_ms = ms.get<int64_t>();
    // The same configuration state delivered again: a no-op.
    const std::string state_id = ScalarText(At(item, "configurationStateId"));
    // CloudTrail changes leave configurationStateId as the last Config item set it.
    if (!state_id.empty() && state_id == ScalarText(At(doc, "configurationStateId"))) {
      return;
    }
  } else {
    std::string tomb_text;
    std::string tomb_key(kTombstonePrefix);
    tomb_key += key;
    if (ctx_.GetResource(tomb_key, &tomb_text)) {
      const json tomb = ParseJson(tomb_text);
      const json& ms = At(tomb, "deletedAtMs");
      if (ms.is_number_integer()) {
        last_ms = ms.get<int64_t>();
        tombstoned = true;
      }
    }
    if (deleting && tombstoned && last_ms == capture_ms) return;  // already deleted by this
  }
  const bool older = capture_ms < last_ms;

  HistoryEntry h = NewHistory(key);
  h.time_ms = capture_ms;
  h.action = event_.event_name.empty() ? "ConfigurationItemChange" : event_.event_name;
  // Keep only the document fields of the item, not delivery details.
  for (const char* drop : {"relatedEvents", "configurationItemDiff"}) item.erase(drop);
  // The item over the document before it (`*exists`, `*current`): what Config says replaces it.
  auto apply = [&](bool* exists, json* current, json* change) {
    (*change)["configurationItemStatus"] = status;
    if (deleting) {
      (*change)["deleted"] = true;
      *exists = false;
      *current = json();
      return;
    }
    json next = item;
    if (*exists) CarryOver(*current, next);
    if (type == "AWS::S3::Bucket") NoteBucketTls(next);  // what its policy says of TLS
    if (type == "AWS::ElasticLoadBalancingV2::Listener") NoteListenerScheme(*this, next);
    // Config's instance items carry the imageId but not its owner: stamp it from state.
    if (type == "AWS::EC2::Instance" && At(next, "configuration").is_object()) {
      StampImageOwner(*this, t.account, t.region, *exists ? At(*current, "configuration") : json(),
                      next["configuration"]);
    }
    json& dw = ObjectAt(next, "driftwatch");
    dw["lastChangeMs"] = capture_ms;
    dw["lastEventId"] = event_.id;
    dw["lastChangedBy"] = "";
    dw["source"] = "config";
    (*change)["changed"] = *exists ? Diff(*current, next) : json::array({"created"});
    *current = std::move(next);
    *exists = true;
  };
  if (older && ApplyLate(t, key, have, tombstoned, h, apply)) return;

  StateDelta d = NewDelta(t, key);
  json change = json::object();

  if (older) {
    // History cannot place it (a later change was kept without its call): kept, not applied.
    change["configurationItemStatus"] = status;
    change["notApplied"] = "older than current document";
    h.applied = false;
    h.deleted = deleting;
    d.applied = false;
    d.after = have ? before : std::string();
    h.change = Dump(change);
    ctx_.AddHistory(std::move(h));
    deltas_->push_back(std::move(d));
    return;
  }
  std::string tomb_key(kTombstonePrefix);
  tomb_key += key;
  bool exists = have;
  apply(&exists, &doc, &change);
  if (!exists) {
    h.deleted = true;
    if (have) ctx_.DeleteResource(key);
    ctx_.PutResource(tomb_key, Dump(json{{"deletedAtMs", capture_ms}, {"eventId", event_.id}}));
    d.deleted = true;
  } else {
    std::string after = Dump(doc);
    if (tombstoned) ctx_.DeleteResource(tomb_key);
    ctx_.PutResource(key, after, std::make_shared<const json>(std::move(doc)));
    h.document_after = after;
    d.after = std::move(after);
  }
  h.change = Dump(change);
  ctx_.AddHistory(std::move(h));
  deltas_->push_back(std::move(d));
}

}  // namespace driftwatch::applier
