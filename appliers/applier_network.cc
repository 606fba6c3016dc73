// Network appliers: security groups, network ACLs, routes, internet gateways.

#include <cctype>

#include "appliers/applier_internal.h"

namespace driftwatch::applier {
namespace {

std::string NormalizeProtocol(const json& v) {
  std::string p = ScalarText(v);
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (p == "6") return "tcp";
  if (p == "17") return "udp";
  if (p == "1") return "icmp";
  if (p == "58") return "icmpv6";
  if (p.empty() || p == "all" || p == "-1") return "-1";
  return p;
}

json PortOf(const json& v) {
  if (v.is_number_integer()) return v;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    const long n = std::strtol(s.c_str(), &end, 10);
    if (end != s.c_str() && *end == '\0') return json(static_cast<int64_t>(n));
  }
  return json();
}

json EmptyPermission(const std::string& protocol, const json& from, const json& to) {
  json p = json::object();
  p["ipProtocol"] = protocol;
  p["fromPort"] = protocol == "-1" ? json() : from;
  p["toPort"] = protocol == "-1" ? json() : to;
  p["ipRanges"] = json::array();
  p["ipv4Ranges"] = json::array();
  p["ipv6Ranges"] = json::array();
  p["prefixListIds"] = json::array();
  p["userIdGroupPairs"] = json::array();
  return p;
}

bool HasCidr(const json& list, const char* field, const std::string& cidr) {
  for (const json& r : list) {
    if (Str(r, field) == cidr) return true;
  }
  return false;
}

// Adds a range object {field: cidr[, description]} unless present; keeps ipRanges in step.
bool AddRange(json& perm, bool v6, const std::string& cidr, const std::string& description) {
  if (cidr.empty()) return false;
  const char* list = v6 ? "ipv6Ranges" : "ipv4Ranges";
  const char* field = v6 ? "cidrIpv6" : "cidrIp";
  json& ranges = ArrayAt(perm, list);
  if (HasCidr(ranges, field, cidr)) return false;
  json r = {{field, cidr}};
  if (!description.empty()) r["description"] = description;
  ranges.push_back(std::move(r));
  if (!v6) ArrayAt(perm, "ipRanges").push_back(cidr);
  return true;
}

bool RemoveRange(json& perm, bool v6, const std::string& cidr) {
  const char* field = v6 ? "cidrIpv6" : "cidrIp";
  const size_t n = EraseIf(ArrayAt(perm, v6 ? "ipv6Ranges" : "ipv4Ranges"),
                           [&](const json& r) { return Str(r, field) == cidr; });
  if (!v6) {
    EraseIf(ArrayAt(perm, "ipRanges"),
            [&](const json& r) { return r.is_string() && r.get<std::string>() == cidr; });
  }
  return n > 0;
}

bool PermissionEmpty(const json& p) {
  for (const char* k : {"ipv4Ranges", "ipv6Ranges", "prefixListIds", "userIdGroupPairs"}) {
    const json& v = At(p, k);
    if (v.is_array() && !v.empty()) return false;
  }
  return true;
}

bool SamePorts(const json& p, const std::string& protocol, const json& from, const json& to) {
  if (Str(p, "ipProtocol") != protocol) return false;
  if (protocol == "-1") return true;
  return At(p, "fromPort") == from && At(p, "toPort") == to;
}

// One permission as a request gives it (either shape), in stored form.
json PermissionFromRequest(const json& item) {
  const std::string protocol = NormalizeProtocol(At(item, "ipProtocol"));
  json p = EmptyPermission(protocol, PortOf(At(item, "fromPort")), PortOf(At(item, "toPort")));
  for (const json& r : Items(At(item, "ipRanges"))) {
    AddRange(p, false, r.is_string() ? r.get<std::string>() : Str(r, "cidrIp"),
             Str(r, "description"));
  }
  for (const json& r : Items(At(item, "ipv6Ranges"))) {
    AddRange(p, true, r.is_string() ? r.get<std::string>() : Str(r, "cidrIpv6"),
             Str(r, "description"));
  }
  for (const json& r : Items(At(item, "prefixListIds"))) {
    const std::string id = Str(r, "prefixListId");
    if (!id.empty()) p["prefixListIds"].push_back({{"prefixListId", id}});
  }
  for (const json& g : Items(At(item, "groups"))) {
    json pair = json::object();
    for (const char* k : {"groupId", "userId", "groupName"}) {
      const std::string v = Str(g, k);
      if (!v.empty()) pair[k] = v;
    }
    if (!pair.empty()) p["userIdGroupPairs"].push_back(std::move(pair));
  }
  return p;
}

// Both request shapes: `ipPermissions.items[]`, or flat cidrIp/cidrIpv6/fromPort/ipProtocol.
json PermissionsFromRequest(const json& req) {
  json out = json::array();
  for (const json& item : Items(At(req, "ipPermissions")))
    out.push_back(PermissionFromRequest(item));
  const std::string cidr = Str(req, "cidrIp");
  const std::string cidr6 = Str(req, "cidrIpv6");
  const std::string source_group = Str(req, "sourceSecurityGroupName");
  if (!cidr.empty() || !cidr6.empty() || !source_group.empty()) {
    const std::string protocol = NormalizeProtocol(At(req, "ipProtocol"));
    json p = EmptyPermission(protocol, PortOf(At(req, "fromPort")), PortOf(At(req, "toPort")));
    AddRange(p, false, cidr, "");
    AddRange(p, true, cidr6, "");
    if (!source_group.empty()) {
      json pair = {{"groupName", source_group}};
      const std::string owner = Str(req, "sourceSecurityGroupOwnerId");
      if (!owner.empty()) pair["userId"] = owner;
      p["userIdGroupPairs"].push_back(std::move(pair));
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Adds `add` into the list; returns the part that was new.
json MergePermission(json& list, const json& add) {
  const std::string protocol = Str(add, "ipProtocol");
  json* target = nullptr;
  for (json& p : list) {
    if (SamePorts(p, protocol, At(add, "fromPort"), At(add, "toPort"))) {
      target = &p;
      break;
    }
  }
  json added = EmptyPermission(protocol, At(add, "fromPort"), At(add, "toPort"));
  if (target == nullptr) {
    list.push_back(EmptyPermission(protocol, At(add, "fromPort"), At(add, "toPort")));
    target = &list.back();
  }
  for (const json& r : At(add, "ipv4Ranges")) {
    if (AddRange(*target, false, Str(r, "cidrIp"), Str(r, "description"))) {
      AddRange(added, false, Str(r, "cidrIp"), "");
    }
  }
  for (const json& r : At(add, "ipv6Ranges")) {
    if (AddRange(*target, true, Str(r, "cidrIpv6"), Str(r, "description"))) {
      AddRange(added, true, Str(r, "cidrIpv6"), "");
    }
  }
  for (const char* k : {"prefixListIds", "userIdGroupPairs"}) {
    json& dest = ArrayAt(*target, k);
    for (const json& v : At(add, k)) {
      bool present = false;
      for (const json& e : dest) present = present || e == v;
      if (!present) {
        dest.push_back(v);
        added[k].push_back(v);
      }
    }
  }
  return added;
}

json RevokePermission(json& list, const json& revoke) {
  const std::string protocol = Str(revoke, "ipProtocol");
  json removed = EmptyPermission(protocol, At(revoke, "fromPort"), At(revoke, "toPort"));
  for (size_t i = list.size(); i-- > 0;) {
    json& p = list[i];
    if (!SamePorts(p, protocol, At(revoke, "fromPort"), At(revoke, "toPort"))) continue;
    for (const json& r : At(revoke, "ipv4Ranges")) {
      if (RemoveRange(p, false, Str(r, "cidrIp"))) AddRange(removed, false, Str(r, "cidrIp"), "");
    }
    for (const json& r : At(revoke, "ipv6Ranges")) {
      if (RemoveRange(p, true, Str(r, "cidrIpv6"))) AddRange(removed, true, Str(r, "cidrIpv6"), "");
    }
    for (const char* k : {"prefixListIds", "userIdGroupPairs"}) {
      for (const json& v : At(revoke, k)) {
        const std::string gid = Str(v, "groupId");
        const std::string gname = Str(v, "groupName");
        const std::string pl = Str(v, "prefixListId");
        if (EraseIf(ArrayAt(p, k), [&](const json& e) {
              return e == v || (!gid.empty() && Str(e, "groupId") == gid) ||
                     (!gname.empty() && Str(e, "groupName") == gname) ||
                     (!pl.empty() && Str(e, "prefixListId") == pl);
            }) > 0) {
          removed[k].push_back(v);
        }
      }
    }
    if (PermissionEmpty(p)) list.erase(i);
  }
  return removed;
}

// securityGroupRuleSet entries of a response -> driftwatch.sgRules.
void RememberRuleIds(json& doc, const json& resp) {
  for (const json& r : Items(At(resp, "securityGroupRuleSet"))) {
    const std::string id = Str(r, "securityGroupRuleId");
    if (id.empty()) continue;
    json rule = json::object();
    bool egress = false;
    BoolOf(At(r, "isEgress"), &egress);
    rule["isEgress"] = egress;
    rule["ipProtocol"] = NormalizeProtocol(At(r, "ipProtocol"));
    rule["fromPort"] = PortOf(At(r, "fromPort"));
    rule["toPort"] = PortOf(At(r, "toPort"));
    for (const char* k : {"cidrIpv4", "cidrIpv6", "prefixListId"}) {
      const std::string v = Str(r, k);
      if (!v.empty()) rule[k] = v;
    }
    ObjectAt(ObjectAt(doc, "driftwatch"), "sgRules")[id] = std::move(rule);
  }
}

json PermissionFromRule(const json& rule) {
  const std::string protocol = NormalizeProtocol(AtNoCase(rule, "ipProtocol"));
  json p = EmptyPermission(protocol, PortOf(AtNoCase(rule, "fromPort")),
                           PortOf(AtNoCase(rule, "toPort")));
  AddRange(p, false, ScalarText(AtNoCase(rule, "cidrIpv4")), "");
  AddRange(p, true, ScalarText(AtNoCase(rule, "cidrIpv6")), "");
  const std::string pl = ScalarText(AtNoCase(rule, "prefixListId"));
  if (!pl.empty()) p["prefixListIds"].push_back({{"prefixListId", pl}});
  const std::string group = ScalarText(AtNoCase(rule, "referencedGroupId"));
  if (!group.empty()) p["userIdGroupPairs"].push_back({{"groupId", group}});
  return p;
}

std::string GroupIdOf(const Op& op) {
  std::string id = Str(op.req(), "groupId");
  if (id.empty())
    id = ScalarText(AtNoCase(AtNoCase(op.req(), "ModifySecurityGroupRulesRequest"), "GroupId"));
  if (id.empty()) {
    for (const json& r : Items(At(op.resp(), "securityGroupRuleSet"))) {
      id = Str(r, "groupId");
      if (!id.empty()) break;
    }
  }
  return id;
}

void ChangeRules(Op& op, bool egress, bool authorize) {
  const std::string group = GroupIdOf(op);
  if (group.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  const json requested = PermissionsFromRequest(op.req());
  json rule_ids = json::array();
  for (const json& id : Items(At(op.req(), "securityGroupRuleIds"))) {
    const std::string s = id.is_string() ? id.get<std::string>() : Str(id, "securityGroupRuleId");
    if (!s.empty()) rule_ids.push_back(s);
  }
  const json& resp = op.resp();
  op.Update(op.Regional("AWS::EC2::SecurityGroup", group), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["groupId"] = group;
    json& list = ArrayAt(cfg, egress ? "ipPermissionsEgress" : "ipPermissions");
    json done = json::array();
    if (authorize) {
      for (const json& p : requested) {
        json added = MergePermission(list, p);
        if (!PermissionEmpty(added)) done.push_back(std::move(added));
      }
      RememberRuleIds(doc, resp);
    } else {
      json& rules = ObjectAt(ObjectAt(doc, "driftwatch"), "sgRules");
      json wanted = requested;
      for (const json& id : rule_ids) {
        const std::string rid = id.get<std::string>();
        if (rules.contains(rid)) {
          wanted.push_back(PermissionFromRule(rules[rid]));
          rules.erase(rid);
        } else {
          change["unknownRuleIds"].push_back(rid);
        }
      }
      for (const json& p : wanted) {
        json removed = RevokePermission(list, p);
        if (!PermissionEmpty(removed)) done.push_back(std::move(removed));
      }
    }
    change[authorize ? "added" : "removed"] = {
        {egress ? "ipPermissionsEgress" : "ipPermissions", done}};
    return !done.empty();
  });
}

void AuthorizeIngress(Op& op) { ChangeRules(op, false, true); }
void RevokeIngress(Op& op) { ChangeRules(op, false, false); }
void AuthorizeEgress(Op& op) { ChangeRules(op, true, true); }
void RevokeEgress(Op& op) { ChangeRules(op, true, false); }

void ModifySecurityGroupRules(Op& op) {
  const json& wrapped = AtNoCase(op.req(), "ModifySecurityGroupRulesRequest");
  const json& req = wrapped.is_object() ? wrapped : op.req();
  const std::string group =
      GroupIdOf(op).empty() ? ScalarText(AtNoCase(req, "GroupId")) : GroupIdOf(op);
  json updates = Items(AtNoCase(req, "SecurityGroupRule"));
  if (updates.empty()) updates = Items(AtNoCase(req, "SecurityGroupRules"));
  if (group.empty() || updates.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Update(op.Regional("AWS::EC2::SecurityGroup", group), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["groupId"] = group;
    json& rules = ObjectAt(ObjectAt(doc, "driftwatch"), "sgRules");
    json modified = json::array();
    for (const json& u : updates) {
      const std::string id = ScalarText(AtNoCase(u, "SecurityGroupRuleId"));
      const json& new_rule = AtNoCase(u, "SecurityGroupRule");
      if (id.empty() || !new_rule.is_object()) continue;
      bool egress = false;
      json entry = {{"securityGroupRuleId", id}};
      if (rules.contains(id)) {
        const json old_rule = rules[id];
        BoolOf(At(old_rule, "isEgress"), &egress);
        RevokePermission(ArrayAt(cfg, egress ? "ipPermissionsEgress" : "ipPermissions"),
                         PermissionFromRule(old_rule));
        entry["from"] = old_rule;
      } else {
        entry["from"] = nullptr;  // rule never seen: only the new form is known
      }
      const json perm = PermissionFromRule(new_rule);
      MergePermission(ArrayAt(cfg, egress ? "ipPermissionsEgress" : "ipPermissions"), perm);
      json stored = {{"isEgress", egress},
                     {"ipProtocol", Str(perm, "ipProtocol")},
                     {"fromPort", At(perm, "fromPort")},
                     {"toPort", At(perm, "toPort")}};
      for (const char* k : {"CidrIpv4", "CidrIpv6", "PrefixListId"}) {
        const std::string v = ScalarText(AtNoCase(new_rule, k));
        if (!v.empty()) stored[LowerFirstKey(k)] = v;
      }
      entry["to"] = stored;
      rules[id] = std::move(stored);
      modified.push_back(std::move(entry));
    }
    change["modifiedRules"] = modified;
    return !modified.empty();
  });
}

void CreateSecurityGroup(Op& op) {
  const std::string id = Str(op.resp(), "groupId");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  const json& req = op.req();
  const std::string account = op.event().account;
  op.Create(op.Regional("AWS::EC2::SecurityGroup", id), [&](json& doc, json&) {
    json cfg = json::object();
    cfg["groupId"] = id;
    cfg["groupName"] = Str(req, "groupName");
    cfg["description"] = Str(req, "groupDescription");
    cfg["vpcId"] = Str(req, "vpcId");
    cfg["ownerId"] = account;
    cfg["ipPermissions"] = json::array();
    cfg["ipPermissionsEgress"] = json::array();
    if (!Str(req, "vpcId").empty()) {
      // AWS gives every VPC security group an allow-all egress rule.
      json egress = EmptyPermission("-1", json(), json());
      AddRange(egress, false, "0.0.0.0/0", "");
      cfg["ipPermissionsEgress"].push_back(std::move(egress));
    }
    cfg["tags"] = json::array();
    doc["configuration"] = std::move(cfg);
    return true;
  });
}

void DeleteSecurityGroup(Op& op) {
  const std::string id = Str(op.req(), "groupId");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Delete(op.Regional("AWS::EC2::SecurityGroup", id));
}

// --- Network ACLs --------------------------------------------------------------------------

json AclEntryFromRequest(const json& req) {
  json e = json::object();
  e["ruleNumber"] = PortOf(At(req, "ruleNumber"));
  const json& protocol =
      At(req, "aclProtocol").is_null() ? At(req, "protocol") : At(req, "aclProtocol");
  e["protocol"] = NormalizeProtocol(protocol);
  e["ruleAction"] = Str(req, "ruleAction");
  bool egress = false;
  BoolOf(At(req, "egress"), &egress);
  e["egress"] = egress;
  for (const char* k : {"cidrBlock", "ipv6CidrBlock"}) {
    const std::string v = Str(req, k);
    if (!v.empty()) e[k] = v;
  }
  const json& range = At(req, "portRange");
  if (range.is_object() && !range.empty()) {
    e["portRange"] = {{"from", PortOf(At(range, "from"))}, {"to", PortOf(At(range, "to"))}};
  }
  const json& icmp = At(req, "icmpTypeCode");
  if (icmp.is_object() && !icmp.empty()) e["icmpTypeCode"] = icmp;
  return e;
}

void AclEntry(Op& op, bool remove) {
  const std::string acl = Str(op.req(), "networkAclId");
  if (acl.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  const json entry = AclEntryFromRequest(op.req());
  op.Update(op.Regional("AWS::EC2::NetworkAcl", acl), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["networkAclId"] = acl;
    json& entries = ArrayAt(cfg, "entries");
    json old = nullptr;
    for (size_t i = entries.size(); i-- > 0;) {
      if (At(entries[i], "ruleNumber") == entry["ruleNumber"] &&
          At(entries[i], "egress") == entry["egress"]) {
        old = entries[i];
        entries.erase(i);
      }
    }
    if (!remove) entries.push_back(entry);
    change["entry"] = {{"from", old}, {"to", remove ? json() : entry}};
    return remove ? !old.is_null() : true;
  });
}

void CreateNetworkAclEntry(Op& op) { AclEntry(op, false); }
void ReplaceNetworkAclEntry(Op& op) { AclEntry(op, false); }
void DeleteNetworkAclEntry(Op& op) { AclEntry(op, true); }

// --- Routes and gateways -------------------------------------------------------------------

constexpr const char* kRouteDestinations[] = {"destinationCidrBlock", "destinationIpv6CidrBlock",
                                              "destinationPrefixListId"};
constexpr const char* kRouteTargets[] = {"gatewayId",
                                         "natGatewayId",
                                         "instanceId",
                                         "networkInterfaceId",
                                         "vpcPeeringConnectionId",
                                         "transitGatewayId",
                                         "egressOnlyInternetGatewayId",
                                         "localGatewayId",
                                         "carrierGatewayId",
                                         "vpcEndpointId"};

bool SameDestination(const json& a, const json& b) {
  for (const char* k : kRouteDestinations) {
    if (!Str(a, k).empty() && Str(a, k) == Str(b, k)) return true;
  }
  return false;
}

void Route(Op& op, bool remove) {
  const std::string table = Str(op.req(), "routeTableId");
  if (table.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  json route = json::object();
  for (const char* k : kRouteDestinations) {
    const std::string v = Str(op.req(), k);
    if (!v.empty()) route[k] = v;
  }
  for (const char* k : kRouteTargets) {
    const std::string v = Str(op.req(), k);
    if (!v.empty()) route[k] = v;
  }
  route["state"] = "active";
  route["origin"] = "CreateRoute";
  op.Update(op.Regional("AWS::EC2::RouteTable", table), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["routeTableId"] = table;
    json& routes = ArrayAt(cfg, "routes");
    json old = nullptr;
    for (size_t i = routes.size(); i-- > 0;) {
      if (SameDestination(routes[i], route)) {
        old = routes[i];
        routes.erase(i);
      }
    }
    if (!remove) routes.push_back(route);
    change["route"] = {{"from", old}, {"to", remove ? json() : route}};
    return remove ? !old.is_null() : true;
  });
}

void CreateRoute(Op& op) { Route(op, false); }
void ReplaceRoute(Op& op) { Route(op, false); }
void DeleteRoute(Op& op) { Route(op, true); }

void Gateway(Op& op, bool attach) {
  const std::string igw = Str(op.req(), "internetGatewayId");
  const std::string vpc = Str(op.req(), "vpcId");
  if (igw.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Update(op.Regional("AWS::EC2::InternetGateway", igw), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["internetGatewayId"] = igw;
    json& attachments = ArrayAt(cfg, "attachments");
    const size_t removed =
        EraseIf(attachments, [&](const json& a) { return Str(a, "vpcId") == vpc; });
    if (attach) attachments.push_back({{"vpcId", vpc}, {"state", "available"}});
    change[attach ? "attached" : "detached"] = vpc;
    return attach || removed > 0;
  });
}

void AttachInternetGateway(Op& op) { Gateway(op, true); }
void DetachInternetGateway(Op& op) { Gateway(op, false); }

}  // namespace

std::string LowerFirstKey(std::string_view k) {
  std::string s(k);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

void NormalizeSecurityGroupPermissions(json& permissions) {
  if (!permissions.is_array()) {
    permissions = json::array();
    return;
  }
  for (json& p : permissions) {
    if (!p.is_object()) continue;
    const std::string protocol = NormalizeProtocol(At(p, "ipProtocol"));
    p["ipProtocol"] = protocol;
    if (protocol == "-1") {
      p["fromPort"] = nullptr;
      p["toPort"] = nullptr;
    } else {
      p["fromPort"] = PortOf(At(p, "fromPort"));
      p["toPort"] = PortOf(At(p, "toPort"));
    }
    json v4 = At(p, "ipv4Ranges").is_array() ? p["ipv4Ranges"] : json::array();
    json strings = json::array();
    for (const json& r : At(p, "ipRanges")) {
      const std::string cidr = r.is_string() ? r.get<std::string>() : Str(r, "cidrIp");
      if (!cidr.empty() && !HasCidr(v4, "cidrIp", cidr)) v4.push_back({{"cidrIp", cidr}});
    }
    for (const json& r : v4) strings.push_back(Str(r, "cidrIp"));
    p["ipv4Ranges"] = std::move(v4);
    p["ipRanges"] = std::move(strings);
    json v6 = json::array();
    for (const json& r : At(p, "ipv6Ranges")) {
      if (r.is_string()) {
        v6.push_back({{"cidrIpv6", r}});
      } else if (r.is_object()) {
        v6.push_back(r);
      }
    }
    p["ipv6Ranges"] = std::move(v6);
    for (const char* k : {"prefixListIds", "userIdGroupPairs"}) {
      if (!At(p, k).is_array()) p[k] = json::array();
    }
  }
}

void RegisterNetworkAppliers(HandlerMap* map) {
  (*map)["CreateSecurityGroup"] = CreateSecurityGroup;
  (*map)["DeleteSecurityGroup"] = DeleteSecurityGroup;
  (*map)["AuthorizeSecurityGroupIngress"] = AuthorizeIngress;
  (*map)["RevokeSecurityGroupIngress"] = RevokeIngress;
  (*map)["AuthorizeSecurityGroupEgress"] = AuthorizeEgress;
  (*map)["RevokeSecurityGroupEgress"] = RevokeEgress;
  (*map)["ModifySecurityGroupRules"] = ModifySecurityGroupRules;
  (*map)["CreateNetworkAclEntry"] = CreateNetworkAclEntry;
  (*map)["ReplaceNetworkAclEntry"] = ReplaceNetworkAclEntry;
  (*map)["DeleteNetworkAclEntry"] = DeleteNetworkAclEntry;
  (*map)["CreateRoute"] = CreateRoute;
  (*map)["ReplaceRoute"] = ReplaceRoute;
  (*map)["DeleteRoute"] = DeleteRoute;
  (*map)["AttachInternetGateway"] = AttachInternetGateway;
  (*map)["DetachInternetGateway"] = DetachInternetGateway;
}

}  // namespace driftwatch::applier
