// Encryption in transit: load balancer listeners, RDS parameter groups (rds.force_ssl,
// require_secure_transport), CloudFront viewer protocol policies, and whether a bucket's policy
// requires TLS (NoteBucketTls, called by the bucket and Config appliers).

#include <cctype>

#include "appliers/applier_internal.h"
#include "vocab/json_parse.h"

namespace driftwatch::applier {
namespace {

constexpr const char* kListener = "AWS::ElasticLoadBalancingV2::Listener";
constexpr const char* kLoadBalancer = "AWS::ElasticLoadBalancingV2::LoadBalancer";
constexpr const char* kParameterGroup = "AWS::RDS::DBParameterGroup";
constexpr const char* kClusterParameterGroup = "AWS::RDS::DBClusterParameterGroup";
constexpr const char* kDistribution = "AWS::CloudFront::Distribution";

// A call of the same name made to another service (Global Accelerator and VPC Lattice have
// listeners, Lightsail has distributions): resolved the generic way, as if no applier matched.
bool FromSource(Op& op, std::string_view prefix) {
  if (op.event().event_source.rfind(prefix, 0) == 0) return true;
  if (!op.ApplyGeneric()) op.RecordUnknownWrite();
  return false;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --- Load balancer listeners ---------------------------------------------------------------

// "arn:...:loadbalancer/app/NAME/ID" -> "NAME".
std::string LoadBalancerName(const std::string& arn) {
  const size_t at = arn.find(":loadbalancer/");
  if (at == std::string::npos) return std::string();
  std::string rest = arn.substr(at + 14);  // "app/NAME/ID"
  const size_t first = rest.find('/');
  if (first == std::string::npos) return rest;
  rest = rest.substr(first + 1);
  return rest.substr(0, rest.find('/'));
}

// The load balancer's scheme (internet-facing, internal) when driftwatch holds its document
// (CreateLoadBalancer's response, keyed by name, or a Config item, keyed by ARN); "" when not.
std::string SchemeOf(const Op& op, const std::string& lb_arn) {
  if (lb_arn.empty()) return std::string();
  for (const std::string& id : {LoadBalancerName(lb_arn), lb_arn}) {
    if (id.empty()) continue;
    json doc;
    if (!op.Peek(op.Regional(kLoadBalancer, id), &doc)) continue;
    const json& cfg = At(doc, "configuration");
    std::string scheme = ScalarText(AtNoCase(cfg, "scheme"));
    if (!scheme.empty()) return scheme;
  }
  return std::string();
}

// The listener as the response describes it, else the request.
const json& ListenerOf(const Op& op) {
  const json& listeners = At(op.resp(), "listeners");
  if (listeners.is_array() && !listeners.empty() && listeners[0].is_object()) return listeners[0];
  if (listeners.is_object()) return listeners;
  return op.req();
}

constexpr const char* kListenerFields[] = {"loadBalancerArn", "protocol",     "port",
                                           "defaultActions",  "sslPolicy",    "certificates",
                                           "alpnPolicy",      "mutualAuthentication"};

void PutListener(Op& op) {
  if (!FromSource(op, "elasticloadbalancing.")) return;
  const json& described = ListenerOf(op);
  std::string arn = Str(described, "listenerArn");
  if (arn.empty()) arn = Str(op.req(), "listenerArn");
  if (arn.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  const bool create = op.event().event_name == "CreateListener";
  Target t = op.Regional(kListener, arn);
  t.arn = arn;
  auto fill = [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    const json before = cfg;
    cfg["listenerArn"] = arn;
    // The request states what changed; the response (when logged) the whole listener.
    for (const json* source : {&op.req(), &described}) {
      for (const char* k : kListenerFields) {
        const json& v = At(*source, k);
        if (!v.is_null()) cfg[k] = v;
      }
    }
    std::string scheme = SchemeOf(op, Str(cfg, "loadBalancerArn"));
    if (!scheme.empty()) cfg["loadBalancerScheme"] = scheme;
    for (const char* k : {"protocol", "port", "defaultActions", "loadBalancerScheme"}) {
      if (At(before, k) != At(cfg, k)) change[k] = {{"from", At(before, k)}, {"to", At(cfg, k)}};
    }
    return before != cfg;
  };
  if (create) {
    op.Create(t, fill);
  } else {
    op.Update(t, fill);
  }
}

void DeleteListener(Op& op) {
  if (!FromSource(op, "elasticloadbalancing.")) return;
  const std::string arn = Str(op.req(), "listenerArn");
  if (arn.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Regional(kListener, arn);
  t.arn = arn;
  op.Delete(t);
}

// --- RDS parameter groups ------------------------------------------------------------------

// Modify/Reset(DB|DBCluster)ParameterGroup: configuration.parameters lists the parameters set
// by calls seen ({parameterName, parameterValue}); a reset forgets them (back to the family's
// default, which driftwatch does not know).
void ParameterGroup(Op& op, bool reset) {
  if (!FromSource(op, "rds.")) return;
  const bool cluster = op.event().event_name.find("Cluster") != std::string::npos;
  const char* name_key = cluster ? "dBClusterParameterGroupName" : "dBParameterGroupName";
  std::string name = Str(op.req(), name_key);
  if (name.empty()) name = Str(op.resp(), name_key);
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Regional(cluster ? kClusterParameterGroup : kParameterGroup, name);
  t.name = name;
  bool all = false;
  BoolOf(At(op.req(), "resetAllParameters"), &all);
  const json params = Items(At(op.req(), "parameters"));
  op.Update(t, [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg[name_key] = name;
    json& list = ArrayAt(cfg, "parameters");
    const json before = list;
    if (reset && all) list = json::array();
    for (const json& p : params) {
      const std::string pname = ScalarText(AtNoCase(p, "parameterName"));
      if (pname.empty()) continue;
      EraseIf(list, [&](const json& e) { return Str(e, "parameterName") == pname; });
      if (!reset) {
        list.push_back({{"parameterName", pname},
                        {"parameterValue", ScalarText(AtNoCase(p, "parameterValue"))}});
      }
    }
    change["parameters"] = {{"from", before}, {"to", list}};
    if (reset) change["reset"] = all ? json("all") : json(params);
    return before != list;
  });
}
void ModifyParameterGroup(Op& op) { ParameterGroup(op, false); }
void ResetParameterGroup(Op& op) { ParameterGroup(op, true); }

// --- CloudFront ----------------------------------------------------------------------------

const json& DistributionConfigOf(const Op& op) {
  const json& direct = At(op.req(), "distributionConfig");
  if (direct.is_object()) return direct;
  const json& tagged = At(At(op.req(), "distributionConfigWithTags"), "distributionConfig");
  if (tagged.is_object()) return tagged;
  return At(At(op.resp(), "distribution"), "distributionConfig");
}

void PutDistribution(Op& op) {
  if (!FromSource(op, "cloudfront.")) return;
  const json& described = At(op.resp(), "distribution");
  std::string id = Str(described, "id");
  if (id.empty()) id = Str(op.req(), "id");
  const json& config = DistributionConfigOf(op);
  if (id.empty() || !config.is_object()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Global(kDistribution, id);
  std::string arn = Str(described, "aRN");
  if (arn.empty()) arn = Str(described, "arn");
  if (arn.empty()) arn = "arn:aws:cloudfront::" + t.account + ":distribution/" + id;
  t.arn = arn;
  auto fill = [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    const json before = At(cfg, "distributionConfig");
    cfg["id"] = id;
    cfg["arn"] = arn;
    cfg["distributionConfig"] = config;
    const json& from = At(At(before, "defaultCacheBehavior"), "viewerProtocolPolicy");
    const json& to = At(At(config, "defaultCacheBehavior"), "viewerProtocolPolicy");
    if (from != to) change["viewerProtocolPolicy"] = {{"from", from}, {"to", to}};
    if (before != config) change["changed"] = json::array({"configuration.distributionConfig"});
    return before != config;
  };
  if (op.event().event_name == "UpdateDistribution") {
    op.Update(t, fill);
  } else {
    op.Create(t, fill);
  }
}

void DeleteDistribution(Op& op) {
  if (!FromSource(op, "cloudfront.")) return;
  const std::string id = Str(op.req(), "id");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Delete(op.Global(kDistribution, id));
}

// --- Bucket policies and TLS ---------------------------------------------------------------

// True when the condition value says "false" (a string, a boolean, or a list holding one).
bool SaysFalse(const json& v) {
  if (v.is_array()) {
    for (const json& e : v) {
      if (SaysFalse(e)) return true;
    }
    return false;
  }
  bool b = true;
  return BoolOf(v, &b) && !b;
}

// A statement denying requests made without TLS: Effect Deny with a Bool or BoolIfExists
// condition aws:SecureTransport false (condition keys compare without regard to case).
bool DeniesInsecureTransport(const json& statement) {
  if (Str(statement, "Effect") != "Deny") return false;
  const json& condition = AtNoCase(statement, "Condition");
  if (!condition.is_object()) return false;
  for (auto op = condition.begin(); op != condition.end(); ++op) {
    const std::string name = Lower(op.key());
    if (name != "bool" && name != "boolifexists") continue;
    if (SaysFalse(AtNoCase(*op, "aws:SecureTransport"))) return true;
  }
  return false;
}

}  // namespace

void NoteListenerScheme(const Op& op, json& doc) {
  json& cfg = ObjectAt(doc, "configuration");
  if (!ScalarText(AtNoCase(cfg, "loadBalancerScheme")).empty()) return;
  const std::string scheme = SchemeOf(op, ScalarText(AtNoCase(cfg, "loadBalancerArn")));
  if (!scheme.empty()) cfg["loadBalancerScheme"] = scheme;
}

void NoteBucketTls(json& doc) {
  const json& supp = At(doc, "supplementaryConfiguration");
  if (!supp.is_object() || !supp.contains("BucketPolicy")) return;  // the policy is not known
  const json& text = At(At(supp, "BucketPolicy"), "policyText");
  bool required = false;
  if (text.is_string()) {
    const json policy = ParseJson(text.get_ref<const std::string&>());
    if (!policy.is_object()) return;  // unreadable: what it says about TLS is not known
    for (const json& s : Items(AtNoCase(policy, "Statement"))) {
      required = required || DeniesInsecureTransport(s);
    }
  } else if (!text.is_null()) {
    return;
  }
  json& cfg = ObjectAt(doc, "configuration");
  cfg["tlsRequired"] = required;
  if (required) cfg["tlsWasRequired"] = true;
}

void RegisterTransitAppliers(HandlerMap* map) {
  (*map)["CreateListener"] = PutListener;
  (*map)["ModifyListener"] = PutListener;
  (*map)["DeleteListener"] = DeleteListener;
  (*map)["ModifyDBParameterGroup"] = ModifyParameterGroup;
  (*map)["ResetDBParameterGroup"] = ResetParameterGroup;
  (*map)["ModifyDBClusterParameterGroup"] = ModifyParameterGroup;
  (*map)["ResetDBClusterParameterGroup"] = ResetParameterGroup;
  (*map)["CreateDistribution"] = PutDistribution;
  (*map)["CreateDistributionWithTags"] = PutDistribution;
  (*map)["UpdateDistribution"] = PutDistribution;
  (*map)["DeleteDistribution"] = DeleteDistribution;
}

}  // namespace driftwatch::applier
