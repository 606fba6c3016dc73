#include "appliers/activity.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "vocab/json_parse.h"
#include "vocab/json_text.h"

namespace driftwatch {
namespace {

// Request/response fields kept in ActivityRecord::detail: the ones that name what an IAM or STS
// call acted on. Policy documents are left out (large, and in state history anyway).
constexpr const char* kDetailKeys[] = {"userName",  "roleName",        "groupName",
                                       "policyArn", "policyName",      "accessKeyId",
                                       "status",    "roleArn",         "roleSessionName",
                                       "serialNumber", "instanceProfileName"};

bool IssuesCredentials(const Event& e) {
  if (e.event_source == "sts.amazonaws.com") {
    return e.event_name.rfind("AssumeRole", 0) == 0 || e.event_name == "GetSessionToken" ||
           e.event_name == "GetFederationToken";
  }
  return e.event_source == "iam.amazonaws.com" && e.event_name == "CreateAccessKey";
}

bool WantsDetail(const Event& e) {
  if (e.event_source != "iam.amazonaws.com" && e.event_source != "sts.amazonaws.com") {
    return false;
  }
  return !e.read_only || IssuesCredentials(e);
}

std::string StringAt(const nlohmann::json& j, const char* a, const char* b) {
  if (!j.is_object()) return "";
  auto it = j.find(a);
  if (it == j.end() || !it->is_object()) return "";
  auto jt = it->find(b);
  return jt != it->end() && jt->is_string() ? jt->get<std::string>() : "";
}

}  // namespace

ActivityRecord MakeActivityRecord(const Event& e, const std::vector<StateDelta>& deltas) {
  ActivityRecord r = ActivityRecordOfEvent(e);
  SetActivityResources(e, deltas, &r);
  return r;
}

void SetActivityResources(const Event& e, const std::vector<StateDelta>& deltas,
                          ActivityRecord* out) {
  std::vector<std::string>& keys = out->resource_keys;
  keys.clear();
  for (const StateDelta& d : deltas) keys.push_back(d.resource_key);
  if (keys.empty()) {
    for (const ResourceRef& ref : e.resources) {
      if (ref.type.empty() || ref.id.empty()) continue;
      const bool global = ref.type.rfind("AWS::IAM::", 0) == 0;
      keys.push_back(MakeResourceKey(e.account, global ? std::string_view("global") : e.region,
                                     ref.type, ref.id));
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
}

ActivityRecord ActivityRecordOfEvent(const Event& e, const nlohmann::json* members) {
  ActivityRecord r;
  r.time_ms = e.time_ms;
  r.event_id = e.id;
  r.event_source = e.event_source;
  r.event_name = e.event_name;
  r.error_code = e.error_code;
  r.region = e.region;
  r.account = e.account;
  r.actor = {e.principal.type, e.principal.arn, e.principal.access_key_id, e.source_ip};
  r.session_name = e.principal.session_name;
  r.read_only = e.read_only;
  if (!WantsDetail(e)) return r;

  nlohmann::json parsed;
  if (members == nullptr || !members->is_object()) {
    parsed = ParseJson(e.document);
    members = &parsed;
  }
  const nlohmann::json& doc = *members;
  if (!doc.is_object()) return r;
  nlohmann::json detail = nlohmann::json::object();
  for (const char* part : {"requestParameters", "responseElements"}) {
    auto it = doc.find(part);
    if (it == doc.end() || !it->is_object()) continue;
    for (const char* k : kDetailKeys) {
      auto jt = it->find(k);
      if (jt != it->end() && jt->is_string() && !detail.contains(k)) detail[k] = *jt;
    }
  }
  if (e.error_code.empty() && IssuesCredentials(e)) {
    const nlohmann::json& resp = doc.contains("responseElements") ? doc["responseElements"]
                                                                   : nlohmann::json();
    if (e.event_name == "CreateAccessKey") {
      r.issued_access_key_id = StringAt(resp, "accessKey", "accessKeyId");
      r.issued_arn = StringAt(resp, "accessKey", "userName");
    } else {
      r.issued_access_key_id = StringAt(resp, "credentials", "accessKeyId");
      r.issued_arn = StringAt(resp, "assumedRoleUser", "arn");
      if (r.issued_arn.empty()) r.issued_arn = StringAt(resp, "federatedUser", "arn");
      const std::string::size_type slash = r.issued_arn.rfind('/');
      if (e.event_name.rfind("AssumeRole", 0) == 0 && slash != std::string::npos) {
        r.issued_session_name = r.issued_arn.substr(slash + 1);
      }
    }
  }
  // Replaces invalid UTF-8 rather than throwing, as every stored text does.
  if (!detail.empty()) r.detail = JsonText(detail);
  return r;
}

std::string NewActivityRunId(int64_t now_ms) {
  static std::atomic<uint32_t> counter{0};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016llx%08x", static_cast<unsigned long long>(now_ms),
                counter.fetch_add(1, std::memory_order_relaxed));
  return buf;
}

}  // namespace driftwatch
