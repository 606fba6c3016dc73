#include "exporters/ocsf.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "state/state_store.h"
#include "vocab/json_text.h"

#ifndef DW_VERSION
#define DW_VERSION "unknown"
#endif

namespace driftwatch {
namespace {

using ojson = nlohmann::ordered_json;

constexpr int kActivityCreate = 1;
constexpr int kActivityClose = 3;
constexpr int kStatusNew = 1;
constexpr int kStatusResolved = 4;
constexpr int kComplianceFail = 3;
constexpr int kCompliancePass = 1;
constexpr int kAwsAccountTypeId = 10;  // cloud.account.type_id / account.type_id: AWS Account

// The customer's side of the AWS Shared Responsibility Model: what driftwatch watches.
constexpr std::string_view kStandard =
    "AWS Shared Responsibility Model: customer responsibility (security in the cloud)";

// driftwatch severity (info, low, medium, high, critical) -> OCSF severity_id and its caption.
struct OcsfSeverity {
  int id;
  const char* name;
};
constexpr OcsfSeverity kSeverities[] = {
    {1, "Informational"}, {2, "Low"}, {3, "Medium"}, {4, "High"}, {5, "Critical"}};

// CloudTrail userIdentity.type -> OCSF user.type_id (1 User, 2 Admin, 4 Service, 99 Other,
// 0 Unknown). `type` keeps the AWS value, as Amazon Security Lake's CloudTrail mapping does.
int UserTypeId(std::string_view aws_type) {
  if (aws_type.empty() || aws_type == "Unknown") return 0;
  if (aws_type == "IAMUser" || aws_type == "FederatedUser" || aws_type == "IdentityCenterUser") {
    return 1;
  }
  if (aws_type == "Root") return 2;
  if (aws_type == "AWSService") return 4;
  return 99;  // AssumedRole, AWSAccount, SAMLUser, WebIdentityUser, ...
}

// Field `index` (0-based) of an ARN, "arn:partition:service:region:account:resource"; "" when
// the text is not an ARN or has no such field.
std::string_view ArnField(std::string_view arn, int index) {
  if (arn.substr(0, 4) != "arn:") return {};
  size_t start = 0;
  for (int i = 0; i < index; ++i) {
    const size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) return {};
    start = colon + 1;
  }
  if (index == 5) return arn.substr(start);
  const size_t end = arn.find(':', start);
  if (end == std::string_view::npos) return {};
  return arn.substr(start, end - start);
}

bool IsIpLiteral(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

ojson AwsAccount(std::string_view uid) {
  ojson a;
  a["uid"] = uid;
  a["type_id"] = kAwsAccountTypeId;
  a["type"] = "AWS Account";
  return a;
}

// A JSON object text, parsed; an unreadable or non-object text gives a discarded/empty value.
ojson ParseObject(const std::string& text) {
  if (text.empty()) return ojson::object();
  ojson j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return ojson::object();
  return j;
}

}  // namespace

std::string_view FindingFormatName(FindingFormat f) {
  return f == FindingFormat::kOcsf ? "ocsf" : "driftwatch";
}

bool ParseFindingFormat(std::string_view name, FindingFormat* out) {
  if (name == "driftwatch") {
    *out = FindingFormat::kDriftwatch;
  } else if (name == "ocsf") {
    *out = FindingFormat::kOcsf;
  } else {
    return false;
  }
  return true;
}

std::string FindingToOcsfJson(const Finding& f) {
  const bool posture = f.kind == FindingKind::kPosture;
  const bool resolved = f.status == FindingStatus::kResolved;
  const int class_uid = posture ? kOcsfComplianceFinding : kOcsfDetectionFinding;
  const char* class_name = posture ? "Compliance Finding" : "Detection Finding";
  const int activity_id = resolved ? kActivityClose : kActivityCreate;
  const char* activity_name = resolved ? "Close" : "Create";
  // The status change's event time: the event that opened it, or the one that resolved it.
  const int64_t time_ms = resolved ? f.resolved_at_ms : f.last_seen_ms;
  const OcsfSeverity severity = kSeverities[static_cast<int>(f.severity) % 5];
  const FindingResource& r = f.resource;
  const std::string_view partition = ArnField(r.arn, 1);

  ojson o;
  o["activity_id"] = activity_id;
  o["activity_name"] = activity_name;
  o["category_uid"] = 2;
  o["category_name"] = "Findings";
  o["class_uid"] = class_uid;
  o["class_name"] = class_name;
  o["type_uid"] = class_uid * 100 + activity_id;
  o["type_name"] = std::string(class_name) + ": " + activity_name;
  o["severity_id"] = severity.id;
  o["severity"] = severity.name;
  o["status_id"] = resolved ? kStatusResolved : kStatusNew;
  o["status"] = resolved ? "Resolved" : "New";
  if (resolved && f.resolution != Resolution::kNone) {
    o["status_detail"] = ResolutionName(f.resolution);
  }
  o["time"] = time_ms;
  o["message"] = f.title.empty() ? f.rule_id : f.title;

  ojson& metadata = o["metadata"];
  metadata["version"] = kOcsfVersion;
  metadata["product"]["name"] = "driftwatch";
  metadata["product"]["vendor_name"] = "driftwatch";
  metadata["product"]["version"] = DW_VERSION;
  metadata["profiles"] = ojson::array({"cloud"});
  // One uid per status change, the same every time it is written again (a consumer can drop
  // repeats): finding id, status, event time.
  metadata["uid"] = f.finding_id + "-" + std::string(resolved ? "resolved" : "opened") + "-" +
                    std::to_string(time_ms);

  ojson& cloud = o["cloud"];
  cloud["provider"] = "AWS";
  if (!r.account.empty()) cloud["account"] = AwsAccount(r.account);
  if (!r.region.empty()) cloud["region"] = r.region;
  if (!partition.empty()) cloud["cloud_partition"] = partition;

  ojson& info = o["finding_info"];
  info["uid"] = f.finding_id;
  if (!f.title.empty()) info["title"] = f.title;
  if (!f.description.empty()) info["desc"] = f.description;
  info["types"] = ojson::array({f.rule_id, CategoryName(f.category)});
  info["analytic"]["uid"] = f.rule_id;
  info["analytic"]["name"] = f.rule_id;
  info["analytic"]["type_id"] = 1;
  info["analytic"]["type"] = "Rule";
  if (f.first_seen_ms != 0) {
    info["created_time"] = f.first_seen_ms;
    info["first_seen_time"] = f.first_seen_ms;
  }
  if (f.last_seen_ms != 0) info["last_seen_time"] = f.last_seen_ms;

  const ojson resolution_detail = ParseObject(f.resolution_detail);
  if (posture) {
    // Pass once the stream saw the state go back (or the resource go); a finding closed by hand
    // was not seen to comply, so it stays Fail (as a suppressed control does elsewhere).
    const bool complies = resolved && f.resolution != Resolution::kClosed;
    ojson& c = o["compliance"];
    c["control"] = f.rule_id;
    c["category"] = CategoryName(f.category);
    c["standards"] = ojson::array({kStandard});
    c["status_id"] = complies ? kCompliancePass : kComplianceFail;
    c["status"] = complies ? "Pass" : "Fail";
    if (resolved && !complies) {
      c["status_detail"] = "closed by hand; the state was not seen to go back";
    }
  }
  if (resolved && f.resolution == Resolution::kClosed) {
    auto reason = resolution_detail.find("reason");
    if (reason != resolution_detail.end() && reason->is_string() &&
        !reason->get<std::string>().empty()) {
      o["comment"] = *reason;
    }
  }

  ojson resource;
  resource["uid"] = r.arn.empty() ? MakeResourceKey(r.account, r.region, r.type, r.id) : r.arn;
  if (!r.id.empty()) resource["name"] = r.id;
  if (!r.type.empty()) resource["type"] = r.type;
  if (!r.region.empty()) resource["region"] = r.region;
  if (!partition.empty()) resource["cloud_partition"] = partition;
  if (!r.account.empty()) resource["owner"]["account"] = AwsAccount(r.account);
  o["resources"] = ojson::array({std::move(resource)});

  // Evidences: one per event that opened or repeated the finding, oldest first. The newest also
  // carries who did it (actor, source address) and the fields that made the rule match. The
  // event that undid a drift (driftwatch lists it last in event_ids) triggered nothing: it is
  // unmapped.resolution_detail.event_id.
  const Actor& a = f.actor;
  ojson actor;
  if (!a.arn.empty()) {
    ojson& user = actor["user"];
    user["uid"] = a.arn;
    user["type_id"] = UserTypeId(a.type);
    user["type"] = a.type.empty() ? std::string("Unknown") : a.type;
    if (!a.access_key_id.empty()) user["credential_uid"] = a.access_key_id;
    const std::string_view actor_account = ArnField(a.arn, 4);
    if (!actor_account.empty()) user["account"] = AwsAccount(actor_account);
  }
  ojson src_endpoint;
  if (!a.source_ip.empty()) {
    // CloudTrail's sourceIPAddress is a service name when a service made the call.
    src_endpoint[IsIpLiteral(a.source_ip) ? "ip" : "svc_name"] = a.source_ip;
  }
  const bool times_known = f.event_times_ms.size() == f.event_ids.size();
  ojson evidences = ojson::array();
  std::string resolving_event;
  if (resolved && f.resolution == Resolution::kState) {
    auto it = resolution_detail.find("event_id");
    if (it != resolution_detail.end() && it->is_string()) resolving_event = it->get<std::string>();
  }
  for (size_t i = 0; i < f.event_ids.size(); ++i) {
    if (!resolving_event.empty() && f.event_ids[i] == resolving_event) continue;
    ojson e;
    e["uid"] = f.event_ids[i];
    ojson& data = e["data"];
    data["event_id"] = f.event_ids[i];
    if (times_known) data["event_time"] = f.event_times_ms[i];
    evidences.push_back(std::move(e));
  }
  ojson matched = ParseObject(f.evidence);
  if (!actor.empty() || !src_endpoint.empty() || !matched.empty()) {
    if (evidences.empty()) evidences.push_back(ojson::object());
    ojson& newest = evidences.back();
    if (!matched.empty()) newest["data"]["matched"] = std::move(matched);
    if (!actor.empty()) newest["actor"] = std::move(actor);
    if (!src_endpoint.empty()) newest["src_endpoint"] = std::move(src_endpoint);
  }
  if (!evidences.empty()) o["evidences"] = std::move(evidences);

  if (!f.description.empty()) o["remediation"]["desc"] = f.description;

  // What driftwatch knows and OCSF has no attribute for.
  ojson& unmapped = o["unmapped"];
  unmapped["kind"] = FindingKindName(f.kind);
  unmapped["category"] = CategoryName(f.category);
  if (resolved && f.resolution != Resolution::kNone) {
    unmapped["resolution"] = ResolutionName(f.resolution);
    unmapped["resolution_detail"] = resolution_detail;
  }
  if (a.arn.empty() && (!a.type.empty() || !a.access_key_id.empty())) {
    // Without an ARN there is no OCSF user to hang them on (it needs a uid, name or account).
    if (!a.type.empty()) unmapped["actor"]["type"] = a.type;
    if (!a.access_key_id.empty()) unmapped["actor"]["access_key_id"] = a.access_key_id;
  }
  return JsonText(o);
}

std::string FindingText(const Finding& f, FindingFormat format) {
  return format == FindingFormat::kOcsf ? FindingToOcsfJson(f) : FindingToJson(f);
}

}  // namespace driftwatch
