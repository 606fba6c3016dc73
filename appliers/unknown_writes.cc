// Write calls no hand-written applier knows: resolved through the table generated from AWS's
// service models (ApplyResourceCall), else the generic way (Op::ApplyGeneric, resources[] and ids
// in requestParameters), and recorded in the history of what they name.

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>

#include "appliers/applier_internal.h"
#include "appliers/aws_resource_calls.h"
#include "vocab/json_text.h"
#include "vocab/time_util.h"

namespace driftwatch::applier {

// --- Resolving resources the generic way ----------------------------------------------------

namespace {

struct ServiceName {
  const char* source_prefix;  // "ec2" of "ec2.amazonaws.com"
  const char* config_name;    // "EC2" of "AWS::EC2::..."
};
constexpr ServiceName kServices[] = {
    {"ec2", "EC2"},
    {"iam", "IAM"},
    {"s3", "S3"},
    {"rds", "RDS"},
    {"kms", "KMS"},
    {"lambda", "Lambda"},
    {"sns", "SNS"},
    {"sqs", "SQS"},
    {"dynamodb", "DynamoDB"},
    {"cloudtrail", "CloudTrail"},
    {"config", "Config"},
    {"guardduty", "GuardDuty"},
    {"ecs", "ECS"},
    {"eks", "EKS"},
    {"ecr", "ECR"},
    {"elasticloadbalancing", "ElasticLoadBalancingV2"},
    {"logs", "Logs"},
    {"secretsmanager", "SecretsManager"},
    {"ssm", "SSM"},
    {"cloudformation", "CloudFormation"},
    {"redshift", "Redshift"},
    {"elasticfilesystem", "EFS"},
    {"route53", "Route53"},
    {"cloudfront", "CloudFront"},
    {"apigateway", "ApiGateway"},
    {"autoscaling", "AutoScaling"},
    {"elasticache", "ElastiCache"},
    {"kinesis", "Kinesis"},
};

// Nouns of EC2/other calls whose AWS Config type is spelt differently from the call.
constexpr std::pair<const char*, const char*> kTypeSpelling[] = {
    {"AWS::EC2::Vpc", "AWS::EC2::VPC"},
    {"AWS::EC2::VpcEndpoint", "AWS::EC2::VPCEndpoint"},
    {"AWS::EC2::VpcPeeringConnection", "AWS::EC2::VPCPeeringConnection"},
    {"AWS::EC2::Key", "AWS::EC2::KeyPair"},
    {"AWS::EC2::FlowLogs", "AWS::EC2::FlowLog"},
    {"AWS::EC2::Tags", ""},
    {"AWS::Logs::LogGroup", "AWS::Logs::LogGroup"},
    {"AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer"},
};

// requestParameters keys that name a resource of a known type.
constexpr std::pair<const char*, const char*> kIdKeys[] = {
    {"groupId", "AWS::EC2::SecurityGroup"},
    {"instanceId", "AWS::EC2::Instance"},
    {"bucketName", "AWS::S3::Bucket"},
    {"userName", "AWS::IAM::User"},
    {"roleName", "AWS::IAM::Role"},
    {"groupName", ""},  // IAM group or EC2 group name: ambiguous, skipped
    {"keyId", "AWS::KMS::Key"},
    {"networkAclId", "AWS::EC2::NetworkAcl"},
    {"routeTableId", "AWS::EC2::RouteTable"},
    {"internetGatewayId", "AWS::EC2::InternetGateway"},
    {"vpcId", "AWS::EC2::VPC"},
    {"subnetId", "AWS::EC2::Subnet"},
    {"snapshotId", "AWS::EC2::Snapshot"},
    {"imageId", "AWS::EC2::Image"},
    {"volumeId", "AWS::EC2::Volume"},
    {"dBInstanceIdentifier", "AWS::RDS::DBInstance"},
    {"dBSnapshotIdentifier", "AWS::RDS::DBSnapshot"},
    {"detectorId", "AWS::GuardDuty::Detector"},
    {"functionName", "AWS::Lambda::Function"},
    {"trailName", "AWS::CloudTrail::Trail"},
    {"flowLogId", "AWS::EC2::FlowLog"},
};

constexpr std::pair<const char*, const char*> kIdPrefixes[] = {
    {"sg-", "AWS::EC2::SecurityGroup"},
    {"i-", "AWS::EC2::Instance"},
    {"vpc-", "AWS::EC2::VPC"},
    {"subnet-", "AWS::EC2::Subnet"},
    {"acl-", "AWS::EC2::NetworkAcl"},
    {"rtb-", "AWS::EC2::RouteTable"},
    {"igw-", "AWS::EC2::InternetGateway"},
    {"vol-", "AWS::EC2::Volume"},
    {"snap-", "AWS::EC2::Snapshot"},
    {"ami-", "AWS::EC2::Image"},
    {"eni-", "AWS::EC2::NetworkInterface"},
    {"fl-", "AWS::EC2::FlowLog"},
    {"nat-", "AWS::EC2::NatGateway"},
    {"eipalloc-", "AWS::EC2::EIP"},
    {"tgw-attach-", "AWS::EC2::TransitGatewayAttachment"},
    {"tgw-rtb-", "AWS::EC2::TransitGatewayRouteTable"},
    {"tgw-", "AWS::EC2::TransitGateway"},
    {"vpce-", "AWS::EC2::VPCEndpoint"},
    {"pcx-", "AWS::EC2::VPCPeeringConnection"},
    {"lt-", "AWS::EC2::LaunchTemplate"},
    {"key-", "AWS::EC2::KeyPair"},
    {"dopt-", "AWS::EC2::DHCPOptions"},
    {"eigw-", "AWS::EC2::EgressOnlyInternetGateway"},
    {"cgw-", "AWS::EC2::CustomerGateway"},
    {"vgw-", "AWS::EC2::VPNGateway"},
    {"vpn-", "AWS::EC2::VPNConnection"},
    {"tmf-", "AWS::EC2::TrafficMirrorFilter"},
    {"tmt-", "AWS::EC2::TrafficMirrorTarget"},
    {"tms-", "AWS::EC2::TrafficMirrorSession"},
    {"pl-", "AWS::EC2::PrefixList"},
    {"ipam-", "AWS::EC2::IPAM"},
    {"sir-", "AWS::EC2::SpotInstanceRequest"},
    {"fleet-", "AWS::EC2::EC2Fleet"},
    {"h-", "AWS::EC2::Host"},
};

bool IsGlobalType(std::string_view type) {
  return type.rfind("AWS::IAM::", 0) == 0 || type.rfind("AWS::CloudFront::", 0) == 0 ||
         type.rfind("AWS::Route53::", 0) == 0;
}

std::string ServiceOf(std::string_view event_source) {
  const std::string_view prefix = event_source.substr(0, event_source.find('.'));
  for (const ServiceName& s : kServices) {
    if (prefix == s.source_prefix) return s.config_name;
  }
  if (prefix.empty()) return std::string();
  std::string name(prefix);
  name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return name;
}

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// Depth-first search for a string (or number) member named `key`; fills the object holding it.
bool FindMember(const json& j, const std::string& key, int depth, std::string* value,
                const json** holder) {
  if (depth < 0) return false;
  if (j.is_object()) {
    const json& v = At(j, key);
    std::string text = ScalarText(v);
    if (!text.empty()) {
      *value = std::move(text);
      *holder = &j;
      return true;
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (FindMember(*it, key, depth - 1, value, holder)) return true;
    }
  } else if (j.is_array()) {
    for (const json& e : j) {
      if (FindMember(e, key, depth - 1, value, holder)) return true;
    }
  }
  return false;
}

std::string TypeOfId(std::string_view key, std::string_view value) {
  for (const auto& [k, type] : kIdKeys) {
    if (key == k) return type;
  }
  if (key.size() > 2 && key.substr(key.size() - 2) == "Id") {
    for (const auto& [prefix, type] : kIdPrefixes) {
      if (value.rfind(prefix, 0) == 0) return type;
    }
  }
  return std::string();
}

void CollectIds(const json& j, int depth, std::vector<std::pair<std::string, std::string>>* out) {
  if (depth < 0 || out->size() >= 16) return;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_string()) {
        const std::string& v = it->get_ref<const std::string&>();
        std::string type = TypeOfId(it.key(), v);
        if (!type.empty() && !v.empty()) {
          out->emplace_back(std::move(type), type == "AWS::KMS::Key" ? ArnLastSegment(v) : v);
        }
      } else {
        CollectIds(*it, depth - 1, out);
      }
    }
  } else if (j.is_array()) {
    for (const json& e : j) CollectIds(e, depth - 1, out);
  }
}

}  // namespace

namespace {

std::vector<Target> ResourcesNamed(const Op& op) {
  std::vector<Target> out;
  const Event& ev = op.event();
  auto add = [&](std::string type, std::string id, std::string arn) {
    if (type.empty() || id.empty()) return;
    Target t = IsGlobalType(type) ? op.Global(type, id) : op.Regional(type, id);
    if (!arn.empty()) t.arn = std::move(arn);
    for (const Target& existing : out) {
      if (existing.type == t.type && existing.key_id == t.key_id) return;
    }
    out.push_back(std::move(t));
  };
  for (const ResourceRef& r : ev.resources) {
    add(r.type, !r.id.empty() ? r.id : ArnLastSegment(r.arn), r.arn);
  }
  for (const json& r : Items(At(op.record(), "resources"))) {
    const std::string arn = Str(r, "ARN");
    add(Str(r, "type"), ArnLastSegment(arn), arn);
  }
  std::vector<std::pair<std::string, std::string>> ids;
  CollectIds(op.req(), 4, &ids);
  for (auto& [type, id] : ids) add(type, id, std::string());
  return out;
}

}  // namespace

void Op::RecordUnknownWrite() {
  for (const Target& t : ResourcesNamed(*this)) RecordUnknown(t);
}

bool Op::ApplyGeneric() {
  const std::string& name = event_.event_name;
  std::string noun;
  bool create = false;
  if (name.rfind("Create", 0) == 0) {
    noun = name.substr(6);
    create = true;
  } else if (name.rfind("Run", 0) == 0) {
    noun = name.substr(3);
    create = true;
  } else if (name.rfind("Delete", 0) == 0) {
    noun = name.substr(6);
  } else {
    return false;
  }
  if (noun.empty()) return false;

  Target t;
  // 1. The resources the record names itself.
  for (const ResourceRef& r : event_.resources) {
    if (r.type.empty() || (r.id.empty() && r.arn.empty())) continue;
    std::string id = r.id.empty() ? ArnLastSegment(r.arn) : r.id;
    t = IsGlobalType(r.type) ? Global(r.type, id) : Regional(r.type, id);
    t.arn = r.arn;
    break;
  }
  if (t.key_id.empty()) {
    for (const json& r : Items(At(record_, "resources"))) {
      const std::string arn = Str(r, "ARN");
      const std::string type = Str(r, "type");
      if (type.empty() || arn.empty()) continue;
      t = IsGlobalType(type) ? Global(type, ArnLastSegment(arn))
                             : Regional(type, ArnLastSegment(arn));
      t.arn = arn;
      break;
    }
  }
  // 2. "<noun>Id" / "<noun>Name" in the response (create) or request.
  const json* holder = nullptr;
  if (t.key_id.empty()) {
    const std::string service = ServiceOf(event_.event_source);
    if (service.empty()) return false;
    std::string type = "AWS::" + service + "::" + noun;
    for (const auto& [from, to] : kTypeSpelling) {
      if (type == from) type = to;
    }
    if (type.empty()) return false;
    std::string singular = noun;
    if (singular.size() > 1 && singular.back() == 's') singular.pop_back();
    std::string id;
    for (const std::string& n : {noun, singular}) {
      for (const char* suffix : {"Id", "Name", "Identifier", "Arn"}) {
        const std::string k = LowerFirst(n) + suffix;
        if ((create && FindMember(resp(), k, 3, &id, &holder)) ||
            FindMember(req(), k, 3, &id, &holder)) {
          break;
        }
      }
      if (!id.empty()) break;
    }
    // A bare "name" at the top of the request (calls no model describes name resources so).
    if (id.empty()) id = ScalarText(At(req(), "name"));
    if (id.empty()) return false;
    t = IsGlobalType(type) ? Global(type, ArnLastSegment(id)) : Regional(type, ArnLastSegment(id));
    if (id.rfind("arn:", 0) == 0) t.arn = id;
  }
  if (create) {
    const json* config =
        (holder != nullptr && holder != &resp() && holder != &req()) ? holder : nullptr;
    Create(t, [config](json& doc, json&) {
      if (config != nullptr) doc["configuration"] = *config;
      return true;
    });
  } else {
    Delete(t);
  }
  return true;
}


// --- Resolving resources from AWS's service models ------------------------------------------
// appliers/aws_resource_calls.h: per write operation, the resource type, the members naming it and
// what the call does to it. Hand-written appliers run first (Dispatch).

namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

void CollectStrings(const json& v, std::vector<std::string>* out) {
  if (out->size() >= 64) return;
  if (v.is_string()) {
    if (!v.get_ref<const std::string&>().empty()) out->push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const json& e : v) CollectStrings(e, out);
  } else if (v.is_object()) {
    // EC2's {"items": [{"instanceId": ...}]} and one-member wrappers.
    for (auto it = v.begin(); it != v.end(); ++it) CollectStrings(*it, out);
  }
}

// Every value of members named `name` (any case), depth first; `holder` gets the object holding
// the first one.
void FindValues(const json& j, std::string_view name, int depth, std::vector<std::string>* out,
                const json** holder) {
  if (depth < 0 || out->size() >= 64) return;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (EqualsNoCase(it.key(), name)) {
        const size_t before = out->size();
        CollectStrings(*it, out);
        if (out->size() > before && *holder == nullptr) *holder = &j;
      } else if (it->is_structured()) {
        FindValues(*it, name, depth - 1, out, holder);
      }
    }
  } else if (j.is_array()) {
    for (const json& e : j) FindValues(e, name, depth - 1, out, holder);
  }
}

// The values of the first of `members` ('|'-separated) that `j` holds.
std::vector<std::string> MemberValues(const json& j, std::string_view members,
                                      const json** holder) {
  std::vector<std::string> out;
  while (!members.empty() && out.empty()) {
    const size_t bar = members.find('|');
    const std::string_view name = members.substr(0, bar);
    members = bar == std::string_view::npos ? std::string_view() : members.substr(bar + 1);
    *holder = nullptr;
    if (!name.empty()) FindValues(j, name, 4, &out, holder);
  }
  return out;
}

// The id a resource is keyed by, from an ARN: the resource part without its kind
// ("function:f:3" -> "f", "secret:db-AbCdEf" -> "db", "parameter/a/b" -> "a/b"); IAM paths
// ("instance-profile/path/name") keep their last segment.
std::string IdFromArn(std::string_view type, std::string_view arn) {
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    pos = arn.find(':', i == 0 ? 0 : pos + 1);
    if (pos == std::string_view::npos) return std::string(arn);
  }
  std::string_view rest = arn.substr(pos + 1);
  const bool s3 = arn.substr(0, 11).find(":s3:") != std::string_view::npos;
  if (s3) return std::string(rest.substr(0, rest.find('/')));
  const size_t sep = rest.find_first_of("/:");
  if (sep != std::string_view::npos) rest = rest.substr(sep + 1);
  if (type.rfind("AWS::IAM::", 0) == 0) {
    const size_t slash = rest.rfind('/');
    if (slash != std::string_view::npos) rest = rest.substr(slash + 1);
  }
  if (type == "AWS::Lambda::Function") rest = rest.substr(0, rest.find(':'));
  std::string id(rest);
  // Secrets Manager appends '-' and six random characters to the name in the ARN.
  if (type == "AWS::SecretsManager::Secret" && id.size() > 7 && id[id.size() - 7] == '-') {
    bool random = true;
    for (size_t i = id.size() - 6; i < id.size(); ++i) {
      random = random && std::isalnum(static_cast<unsigned char>(id[i]));
    }
    if (random) id.resize(id.size() - 7);
  }
  return id;
}

// A name as the resource is keyed: SSM parameters without their leading '/', so that
// "/prod/db" and its ARN ("parameter/prod/db") are one key.
std::string IdFromName(std::string_view type, std::string value) {
  if (type == "AWS::SSM::Parameter" && value.size() > 1 && value[0] == '/') value.erase(0, 1);
  // A queue named by its URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) is keyed by name.
  if (value.rfind("https://", 0) == 0) value.erase(0, value.rfind('/') + 1);
  return value;
}

std::string TypeOfPrefixedId(std::string_view value) {
  std::string best;
  size_t best_len = 0;
  for (const auto& [prefix, type] : kIdPrefixes) {
    const size_t n = std::strlen(prefix);
    if (n > best_len && value.rfind(prefix, 0) == 0) {
      best = type;
      best_len = n;
    }
  }
  return best;
}

// Tags named by a tagging call: {"k": "v"} maps, [{"key", "value"}] lists (any case) and EC2's
// tagSet items. Keys only for untagging calls ("tagKeys" lists, or tag lists without values).
void CollectTags(const json& req, bool keys_only, json* added, std::vector<std::string>* removed) {
  static constexpr std::string_view kTagMembers[] = {"tags", "tagSet", "tagList", "tag",
                                                     "tagKeys", "keys", "tagKeyList"};
  for (const std::string_view name : kTagMembers) {
    const json& v = AtNoCase(req, name);
    if (v.is_null()) continue;
    const json list = v.is_object() && (v.contains("items") || v.contains("item")) ? Items(v) : v;
    if (list.is_object()) {
      for (auto it = list.begin(); it != list.end(); ++it) {
        if (keys_only) {
          removed->push_back(it.key());
        } else {
          (*added)[it.key()] = ScalarText(*it);
        }
      }
    } else if (list.is_array()) {
      for (const json& e : list) {
        if (e.is_string()) {
          removed->push_back(e.get<std::string>());
          continue;
        }
        const std::string key = ScalarText(AtNoCase(e, "key"));
        if (key.empty()) continue;
        if (keys_only) {
          removed->push_back(key);
        } else {
          (*added)[key] = ScalarText(AtNoCase(e, "value"));
        }
      }
    }
  }
}

}  // namespace

bool ApplyResourceCall(Op& op, bool history_only) {
  const Event& ev = op.event();
  const ResourceCall* call = FindResourceCall(ev.event_source, ev.event_name);
  if (call == nullptr) return false;
  if (call->action == ResourceCallAction::kNone) return true;  // the table says: no resource

  // The resources the call names.
  std::vector<Target> targets;
  const json* holder = nullptr;
  auto add = [&](std::string type, const std::string& value) {
    std::string arn;
    std::string id;
    if (value.rfind("arn:", 0) == 0) {
      arn = value;
      const std::string_view from_arn = ResourceTypeOfArn(value);
      if (type.empty() || (!from_arn.empty() && from_arn.substr(0, 5) == "AWS::" &&
                           from_arn.find("::" + type.substr(5, type.find("::", 5) - 5) + "::") ==
                               std::string_view::npos)) {
        if (!from_arn.empty()) type = std::string(from_arn);
      }
      if (type.empty()) return;
      id = IdFromArn(type, value);
    } else {
      if (type.empty()) type = TypeOfPrefixedId(value);
      // Systems Manager names the kind beside the id (AddTagsToResource: Parameter, Document).
      const std::string kind = Str(op.req(), "resourceType");
      if (type.empty() && !kind.empty() && ev.event_source == "ssm.amazonaws.com") {
        type = "AWS::SSM::" + kind;
      }
      if (type.empty()) return;
      id = IdFromName(type, value);
    }
    if (id.empty()) return;
    Target t = (call->global || IsGlobalType(type)) ? op.Global(type, id) : op.Regional(type, id);
    if (!arn.empty() && CanonicalResourceId(t.type, arn) == t.key_id) t.arn = arn;
    for (const Target& existing : targets) {
      if (existing.type == t.type && existing.key_id == t.key_id) return;
    }
    targets.push_back(std::move(t));
  };
  if (call->account_scoped == 1) {
    add(call->type, ev.account);
  } else {
    // The request's name first (what later calls name the resource by), else what the response
    // assigned (an id, an ARN); the response's object for the resource is its configuration.
    for (const std::string& v : MemberValues(op.req(), call->request_members, &holder)) {
      add(call->type, v);
    }
    const json* resp_holder = nullptr;
    const std::vector<std::string> assigned =
        MemberValues(op.resp(), call->response_members, &resp_holder);
    if (targets.empty()) {
      for (const std::string& v : assigned) add(call->type, v);
    }
    holder = resp_holder;
    // An optional identifier left out: the call acts on the account's own.
    if (targets.empty() && call->account_scoped == 2) add(call->type, ev.account);
  }
  if (targets.empty()) return false;  // the record does not carry the members: generic paths

  const ResourceCallAction action = history_only ? ResourceCallAction::kNote : call->action;
  const json& req = op.req();
  // What history keeps of the request (as for unknown writes): its parameters, bounded.
  auto request_change = [&req](json& change) {
    if (req.is_null()) return;
    std::string text = Dump(req);
    if (text.size() <= 4096) {
      change["requestParameters"] = req;
    } else {
      change["requestParametersTruncated"] = text.substr(0, 4096);
    }
  };
  const Principal& p = ev.principal;
  const std::string creator = PrincipalLabel(p);
  for (const Target& t : targets) {
    switch (action) {
      case ResourceCallAction::kCreate: {
        const json* config =
            (holder != nullptr && holder != &op.resp() && holder != &op.req()) ? holder : nullptr;
        json tags = json::object();
        std::vector<std::string> unused;
        CollectTags(req, false, &tags, &unused);
        op.Create(t, [config, &tags](json& doc, json&) {
          if (config != nullptr) doc["configuration"] = *config;
          if (!tags.empty()) doc["tags"] = tags;
          return true;
        });
        break;
      }
      case ResourceCallAction::kDelete:
        op.Delete(t);
        break;
      case ResourceCallAction::kNote:
        op.RecordUnknown(t);
        break;
      case ResourceCallAction::kTag:
      case ResourceCallAction::kUntag: {
        const bool untag = action == ResourceCallAction::kUntag;
        json added = json::object();
        std::vector<std::string> removed;
        CollectTags(req, untag, &added, &removed);
        op.Update(t, [&](json& doc, json& change) {
          json& tags = ObjectAt(doc, "tags");
          bool changed = false;
          for (auto it = added.begin(); it != added.end(); ++it) {
            if (At(tags, it.key()) == it.value()) continue;
            tags[it.key()] = it.value();
            ObjectAt(ObjectAt(change, "tags"), "added")[it.key()] = it.value();
            changed = true;
          }
          for (const std::string& k : removed) {
            if (!tags.contains(k)) continue;
            tags.erase(k);
            ArrayAt(ObjectAt(change, "tags"), "removed").push_back(k);
            changed = true;
          }
          return changed;
        });
        break;
      }
      case ResourceCallAction::kUpsert:
      case ResourceCallAction::kUpdate: {
        const bool upsert = action == ResourceCallAction::kUpsert;
        op.Update(t, [&](json& doc, json& change) {
          json& dw = ObjectAt(doc, "driftwatch");
          // A document started by this very call (never seen before): Put<R> made it.
          if (upsert && !dw.contains("lastChangeMs") && !dw.contains("createdBy")) {
            dw.erase("partial");
            dw["createdBy"] = creator;
            dw["createdByType"] = p.type;
            dw["createdByAccessKey"] = p.access_key_id;
            dw["createdAt"] = FormatTimestamp(ev.time_ms);
            dw["createdByEvent"] = ev.id;
            change["created"] = true;
          } else {
            change["updated"] = true;
          }
          request_change(change);
          return true;
        });
        break;
      }
      case ResourceCallAction::kNone:
        break;
    }
  }
  // Other resources the call names (an instance's security groups, a role passed to a
  // function) keep the call in their history too, as for writes the table does not know.
  for (const Target& t : ResourcesNamed(op)) {
    bool target = false;
    for (const Target& done : targets) {
      target = target || (done.type == t.type && done.key_id == t.key_id);
    }
    if (!target) op.RecordUnknown(t);
  }
  return true;
}

}  // namespace driftwatch::applier
