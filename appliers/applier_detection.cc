// Firewalls and detection services: Network Firewall policies, WAF web ACL associations, and the
// on/off state of Security Hub, Amazon Inspector and Amazon Macie in an account and region.
// Services turned on and off by account get one document per account and region (keyed by the
// account id), as EBS encryption by default does: a later call turns them back on.

#include "appliers/applier_internal.h"

namespace driftwatch::applier {
namespace {

constexpr const char* kFirewallPolicy = "AWS::NetworkFirewall::FirewallPolicy";
constexpr const char* kWebAclAssociation = "AWS::WAFv2::WebACLAssociation";
constexpr const char* kHub = "AWS::SecurityHub::Hub";
constexpr const char* kInspector = "AWS::Inspector2::AccountStatus";
constexpr const char* kMacie = "AWS::Macie::Session";

// A call of the same name made to another service: resolved the generic way.
bool FromSource(Op& op, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes) {
    if (op.event().event_source.rfind(p, 0) == 0) return true;
  }
  if (!op.ApplyGeneric()) op.RecordUnknownWrite();
  return false;
}

// --- Network Firewall policies -------------------------------------------------------------

// The policy's name: the request's, the response's, else the tail of its ARN.
std::string PolicyNameOf(const Op& op, std::string* arn) {
  const json& described = At(op.resp(), "firewallPolicyResponse");
  *arn = Str(described, "firewallPolicyArn");
  if (arn->empty()) *arn = Str(op.req(), "firewallPolicyArn");
  std::string name = Str(op.req(), "firewallPolicyName");
  if (name.empty()) name = Str(described, "firewallPolicyName");
  if (name.empty() && !arn->empty()) name = ArnLastSegment(*arn);
  return name;
}

void PutFirewallPolicy(Op& op) {
  if (!FromSource(op, {"network-firewall."})) return;
  std::string arn;
  const std::string name = PolicyNameOf(op, &arn);
  const json& policy = At(op.req(), "firewallPolicy");
  if (name.empty() || !policy.is_object()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Regional(kFirewallPolicy, name);
  t.name = name;
  if (!arn.empty()) t.arn = arn;
  auto fill = [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    const json before = At(cfg, "firewallPolicy");
    cfg["firewallPolicyName"] = name;
    if (!arn.empty()) cfg["firewallPolicyArn"] = arn;
    cfg["firewallPolicy"] = policy;  // the call states the whole policy
    ObjectAt(doc, "driftwatch").erase("partial");
    change["firewallPolicy"] = {{"from", before}, {"to", policy}};
    return before != policy;
  };
  if (op.event().event_name == "CreateFirewallPolicy") {
    op.Create(t, fill);
  } else {
    op.Update(t, fill);
  }
}

void DeleteFirewallPolicy(Op& op) {
  if (!FromSource(op, {"network-firewall."})) return;
  std::string arn;
  const std::string name = PolicyNameOf(op, &arn);
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Delete(op.Regional(kFirewallPolicy, name));
}

// --- WAF web ACL associations --------------------------------------------------------------

// One document per protected resource (load balancer, API stage, ...), keyed by its ARN:
// configuration.webAclArn names the web ACL protecting it (wafv2), or configuration.webAclId
// (WAF Classic regional); both absent once it is disassociated.
void WebAclAssociation(Op& op, bool associate) {
  if (!FromSource(op, {"wafv2.", "waf-regional."})) return;
  const std::string resource = Str(op.req(), "resourceArn");
  if (resource.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  const std::string acl_arn = Str(op.req(), "webACLArn");
  const std::string acl_id = Str(op.req(), "webACLId");
  Target t = op.Regional(kWebAclAssociation, resource);
  op.Update(t, [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    const json before = cfg;
    ObjectAt(doc, "driftwatch").erase("partial");
    cfg["resourceArn"] = resource;
    cfg["wafService"] = op.event().event_source.rfind("wafv2.", 0) == 0 ? "wafv2" : "waf-regional";
    cfg.erase("webAclArn");
    cfg.erase("webAclId");
    if (associate && !acl_arn.empty()) cfg["webAclArn"] = acl_arn;
    if (associate && !acl_id.empty()) cfg["webAclId"] = acl_id;
    if (associate && acl_arn.empty() && acl_id.empty()) cfg["webAclArn"] = "unknown";
    change[associate ? "associated" : "disassociated"] =
        associate ? json(acl_arn.empty() ? acl_id : acl_arn) : At(before, "webAclArn");
    return before != cfg;
  });
}
void AssociateWebACL(Op& op) { WebAclAssociation(op, true); }
void DisassociateWebACL(Op& op) { WebAclAssociation(op, false); }

// --- Services on or off, per account and region ---------------------------------------------

// Sets configuration[field] = value on the service's document of `account` (the caller's
// account by default).
void ServiceState(Op& op, const char* type, const std::string& account, const char* field,
                  const json& value) {
  Target t = op.Regional(type, account);
  t.account = account;
  op.Update(t, [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    ObjectAt(doc, "driftwatch").erase("partial");
    change[field] = {{"from", At(cfg, field)}, {"to", value}};
    const bool changed = At(cfg, field) != value;
    cfg[field] = value;
    return changed;
  });
}

void EnableSecurityHub(Op& op) {
  if (FromSource(op, {"securityhub."})) {
    ServiceState(op, kHub, op.event().account, "enabled", true);
  }
}
void DisableSecurityHub(Op& op) {
  if (FromSource(op, {"securityhub."})) {
    ServiceState(op, kHub, op.event().account, "enabled", false);
  }
}

// inspector2 Enable / Disable: {resourceTypes: [EC2, ECR, LAMBDA, ...], accountIds: [...]}.
// configuration.status is DISABLED after a Disable of every type; configuration.resourceTypes
// lists each type a call named with its status.
void Inspector(Op& op, bool enable) {
  if (!FromSource(op, {"inspector2."})) return;
  // An account's state is written from its own stream (partitions and changelog go by
  // account): a delegated administrator's call naming member accounts changes only the caller's
  // own document, when it names it (the members' trails do not log the call).
  const std::string& own = op.event().account;
  bool names_own = false, names_any = false;
  for (const json& a : Items(At(op.req(), "accountIds"))) {
    names_any = names_any || !ScalarText(a).empty();
    names_own = names_own || ScalarText(a) == own;
  }
  if (names_any && !names_own) {
    op.RecordUnknownWrite();
    return;
  }
  const std::vector<std::string> accounts = {own};
  std::vector<std::string> types;
  for (const json& r : Items(At(op.req(), "resourceTypes"))) {
    if (!ScalarText(r).empty()) types.push_back(ScalarText(r));
  }
  const char* status = enable ? "ENABLED" : "DISABLED";
  for (const std::string& account : accounts) {
    Target t = op.Regional(kInspector, account);
    t.account = account;
    op.Update(t, [&](json& doc, json& change) {
      json& cfg = ObjectAt(doc, "configuration");
      ObjectAt(doc, "driftwatch").erase("partial");
      const json before = cfg;
      json& list = ArrayAt(cfg, "resourceTypes");
      // Disable without types turns off every type; Enable turns the service on.
      if (!enable && types.empty()) {
        cfg["status"] = "DISABLED";
        for (json& e : list) e["status"] = "DISABLED";
      }
      if (enable) cfg["status"] = "ENABLED";
      for (const std::string& type : types) {
        EraseIf(list, [&](const json& e) { return Str(e, "resourceType") == type; });
        list.push_back({{"resourceType", type}, {"status", status}});
      }
      if (!cfg.contains("status")) cfg["status"] = "ENABLED";  // some types off, not the service
      change["inspector"] = {{"from", before}, {"to", cfg}};
      return before != cfg;
    });
  }
}
void EnableInspector(Op& op) { Inspector(op, true); }
void DisableInspector(Op& op) { Inspector(op, false); }

// macie2: EnableMacie {status: ENABLED | PAUSED}, UpdateMacieSession {status}, DisableMacie.
void MacieStatus(Op& op, const std::string& status) {
  if (FromSource(op, {"macie2."})) {
    ServiceState(op, kMacie, op.event().account, "status", status);
  }
}
void EnableMacie(Op& op) {
  const std::string status = Str(op.req(), "status");
  MacieStatus(op, status.empty() ? "ENABLED" : status);
}
void UpdateMacieSession(Op& op) {
  const std::string status = Str(op.req(), "status");
  if (status.empty()) {
    FromSource(op, {});  // nothing this applier tracks changed
    return;
  }
  MacieStatus(op, status);
}
void DisableMacie(Op& op) { MacieStatus(op, "DISABLED"); }

}  // namespace

void RegisterDetectionAppliers(HandlerMap* map) {
  (*map)["CreateFirewallPolicy"] = PutFirewallPolicy;
  (*map)["UpdateFirewallPolicy"] = PutFirewallPolicy;
  (*map)["DeleteFirewallPolicy"] = DeleteFirewallPolicy;
  (*map)["AssociateWebACL"] = AssociateWebACL;
  (*map)["DisassociateWebACL"] = DisassociateWebACL;
  (*map)["EnableSecurityHub"] = EnableSecurityHub;
  (*map)["DisableSecurityHub"] = DisableSecurityHub;
  (*map)["Enable"] = EnableInspector;
  (*map)["Disable"] = DisableInspector;
  (*map)["EnableMacie"] = EnableMacie;
  (*map)["DisableMacie"] = DisableMacie;
  (*map)["UpdateMacieSession"] = UpdateMacieSession;
}

}  // namespace driftwatch::applier
