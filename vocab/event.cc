#include "vocab/event.h"

namespace driftwatch {

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kApiCall:
      return "api_call";
    case EventKind::kConfigItem:
      return "config_item";
    case EventKind::kComplianceChange:
      return "compliance_change";
    case EventKind::kControl:
      return "control";
  }
  return "unknown";
}

namespace {

// Types whose state key is the last segment of their ARN (after the last '/', else ':').
constexpr std::string_view kKeyedByArnTail[] = {
    "AWS::CloudTrail::Trail", "AWS::S3::Bucket",        "AWS::IAM::User",
    "AWS::IAM::Role",         "AWS::IAM::Group",        "AWS::KMS::Key",
    "AWS::EC2::SecurityGroup", "AWS::EC2::Instance",
    "AWS::EC2::Snapshot",     "AWS::EC2::Image",        "AWS::EC2::NetworkAcl",
    "AWS::EC2::VPC",          "AWS::EC2::RouteTable",   "AWS::GuardDuty::Detector",
    "AWS::NetworkFirewall::Firewall",  // ...:firewall/NAME
};

}  // namespace

std::string CanonicalResourceId(std::string_view type, std::string_view id) {
  if (id.substr(0, 4) != "arn:") return std::string(id);
  bool keyed_by_tail = false;
  for (std::string_view t : kKeyedByArnTail) keyed_by_tail = keyed_by_tail || t == type;
  if (!keyed_by_tail) return std::string(id);
  size_t cut = id.rfind('/');
  if (cut == std::string_view::npos) cut = id.rfind(':');
  return std::string(id.substr(cut + 1));
}

Actor ActorOf(const Event& e) {
  Actor a;
  if (e.kind != EventKind::kApiCall) return a;
  a.type = e.principal.type;
  a.arn = e.principal.arn;
  a.access_key_id = e.principal.access_key_id;
  a.source_ip = e.source_ip;
  return a;
}

}  // namespace driftwatch
