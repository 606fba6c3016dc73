// IAM appliers: users (keys, login profile, MFA, policies, groups), roles, the password policy.
// IAM is global: documents live under region "global", keyed by user / role name.

#include "appliers/applier_internal.h"
#include "vocab/time_util.h"

namespace driftwatch::applier {
namespace {

constexpr const char* kUser = "AWS::IAM::User";
constexpr const char* kRole = "AWS::IAM::Role";

// The user a call is about: the request's userName, else the calling IAM user (AWS's default).
std::string UserOf(const Op& op) {
  std::string name = Str(op.req(), "userName");
  if (name.empty() && op.event().principal.type == "IAMUser") name = op.event().principal.user_name;
  return name;
}

bool RequireUser(Op& op, std::string* name) {
  *name = UserOf(op);
  if (name->empty()) op.RecordUnknownWrite();
  return !name->empty();
}

void CreateUser(Op& op) {
  const json& user = At(op.resp(), "user");
  std::string name = Str(user, "userName");
  if (name.empty()) name = Str(op.req(), "userName");
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Global(kUser, name);
  t.resource_id = Str(user, "userId");
  t.name = name;
  t.arn = Str(user, "arn");
  const int64_t now = op.event().time_ms;
  const json& req = op.req();
  op.Create(t, [&](json& doc, json&) {
    json cfg = json::object();
    cfg["userName"] = name;
    cfg["userId"] = Str(user, "userId");
    cfg["arn"] = Str(doc, "ARN");
    cfg["path"] = Str(user, "path").empty() ? (Str(req, "path").empty() ? "/" : Str(req, "path"))
                                            : Str(user, "path");
    cfg["createDate"] = NormalizeTime(At(user, "createDate"), now);
    cfg["attachedManagedPolicies"] = json::array();
    cfg["userPolicyList"] = json::array();
    cfg["groupList"] = json::array();
    cfg["accessKeys"] = json::array();
    cfg["loginProfile"] = nullptr;
    cfg["mfaDevices"] = json::array();
    const std::string boundary = Str(req, "permissionsBoundary");
    if (!boundary.empty()) cfg["permissionsBoundary"] = {{"permissionsBoundaryArn", boundary}};
    doc["configuration"] = std::move(cfg);
    for (const json& tag : Items(At(req, "tags"))) {
      const std::string k = Str(tag, "key");
      if (!k.empty()) doc["tags"][k] = Str(tag, "value");
    }
    return true;
  });
}

void DeleteUser(Op& op) {
  std::string name;
  if (RequireUser(op, &name)) op.Delete(op.Global(kUser, name));
}

void CreateAccessKey(Op& op) {
  const json& key = At(op.resp(), "accessKey");
  std::string name = Str(key, "userName");
  if (name.empty()) name = UserOf(op);
  const std::string id = Str(key, "accessKeyId");
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  const int64_t now = op.event().time_ms;
  op.Update(op.Global(kUser, name), [&](json& doc, json& change) {
    json& keys = ArrayAt(ObjectAt(doc, "configuration"), "accessKeys");
    EraseIf(keys, [&](const json& k) { return Str(k, "accessKeyId") == id; });
    json entry = {{"accessKeyId", id},
                  {"status", Str(key, "status").empty() ? "Active" : Str(key, "status")},
                  {"createDate", NormalizeTime(At(key, "createDate"), now)}};
    keys.push_back(entry);
    change["addedAccessKey"] = entry;
    return true;
  });
}

void UpdateAccessKey(Op& op) {
  std::string name;
  if (!RequireUser(op, &name)) return;
  const std::string id = Str(op.req(), "accessKeyId");
  const std::string status = Str(op.req(), "status");
  op.Update(op.Global(kUser, name), [&](json& doc, json& change) {
    json& keys = ArrayAt(ObjectAt(doc, "configuration"), "accessKeys");
    json from = nullptr;
    bool found = false;
    for (json& k : keys) {
      if (Str(k, "accessKeyId") != id) continue;
      from = At(k, "status");
      k["status"] = status;
      found = true;
    }
    if (!found) keys.push_back({{"accessKeyId", id}, {"status", status}, {"createDate", nullptr}});
    change["accessKey"] = id;
    change["status"] = {{"from", from}, {"to", status}};
    return from != json(status);
  });
}

void DeleteAccessKey(Op& op) {
  std::string name;
  if (!RequireUser(op, &name)) return;
  const std::string id = Str(op.req(), "accessKeyId");
  op.Update(op.Global(kUser, name), [&](json& doc, json& change) {
    json& keys = ArrayAt(ObjectAt(doc, "configuration"), "accessKeys");
    change["removedAccessKey"] = id;
    return EraseIf(keys, [&](const json& k) { return Str(k, "accessKeyId") == id; }) > 0;
  });
}

void LoginProfile(Op& op, bool create, bool remove) {
  std::string name;
  if (!RequireUser(op, &name)) return;
  const json& profile = At(op.resp(), "loginProfile");
  const json& reset = At(op.req(), "passwordResetRequired");
  const int64_t now = op.event().time_ms;
  op.Update(op.Global(kUser, name), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    const json from = At(cfg, "loginProfile");
    if (remove) {
      cfg["loginProfile"] = nullptr;
      change["loginProfile"] = "deleted";
      return !from.is_null();
    }
    json lp = from.is_object() ? from : json::object();
    if (create || !lp.contains("createDate")) {
      lp["createDate"] = create ? json(NormalizeTime(At(profile, "createDate"), now)) : json();
    }
    bool b = false;
    if (BoolOf(reset, &b)) {
      lp["passwordResetRequired"] = b;
    } else if (!lp.contains("passwordResetRequired")) {
      lp["passwordResetRequired"] = false;
    }
    if (!create) lp["passwordLastChanged"] = FormatTimestamp(now);
    cfg["loginProfile"] = lp;
    change["loginProfile"] = create ? "created" : "updated";
    return true;
  });
}

void CreateLoginProfile(Op& op) { LoginProfile(op, true, false); }
void UpdateLoginProfile(Op& op) { LoginProfile(op, false, false); }
void DeleteLoginProfile(Op& op) { LoginProfile(op, false, true); }

std::string PolicyNameOf(const std::string& arn) {
  const size_t slash = arn.rfind('/');
  return slash == std::string::npos ? arn : arn.substr(slash + 1);
}

// Attach/detach a managed policy on a user or role document.
void ManagedPolicy(Op& op, const Target& t, bool attach) {
  const std::string arn = Str(op.req(), "policyArn");
  op.Update(t, [&](json& doc, json& change) {
    json& list = ArrayAt(ObjectAt(doc, "configuration"), "attachedManagedPolicies");
    const size_t removed = EraseIf(list, [&](const json& p) { return Str(p, "policyArn") == arn; });
    json entry = {{"policyName", PolicyNameOf(arn)}, {"policyArn", arn}};
    if (attach) list.push_back(entry);
    change[attach ? "attachedPolicy" : "detachedPolicy"] = entry;
    return attach ? removed == 0 : removed > 0;
  });
}

// Put/delete an inline policy on a user or role document.
void InlinePolicy(Op& op, const Target& t, const char* list_name, bool put) {
  const std::string name = Str(op.req(), "policyName");
  const std::string text = PolicyText(At(op.req(), "policyDocument"));
  op.Update(t, [&](json& doc, json& change) {
    json& list = ArrayAt(ObjectAt(doc, "configuration"), list_name);
    const size_t removed =
        EraseIf(list, [&](const json& p) { return Str(p, "policyName") == name; });
    if (put) {
      list.push_back({{"policyName", name}, {"policyDocument", text}});
      change["putInlinePolicy"] = {{"policyName", name}, {"policyDocument", text}};
      return true;
    }
    change["deletedInlinePolicy"] = name;
    return removed > 0;
  });
}

void AttachUserPolicy(Op& op) {
  std::string name;
  if (RequireUser(op, &name)) ManagedPolicy(op, op.Global(kUser, name), true);
}
void DetachUserPolicy(Op& op) {
  std::string name;
  if (RequireUser(op, &name)) ManagedPolicy(op, op.Global(kUser, name), false);
}
void PutUserPolicy(Op& op) {
  std::string name;
  if (RequireUser(op, &name)) InlinePolicy(op, op.Global(kUser, name), "userPolicyList", true);
}
void DeleteUserPolicy(Op& op) {
  std::string name;
  if (RequireUser(op, &name)) InlinePolicy(op, op.Global(kUser, name), "userPolicyList", false);
}

void GroupMembership(Op& op, bool add) {
  std::string name;
  if (!RequireUser(op, &name)) return;
  const std::string group = Str(op.req(), "groupName");
  op.Update(op.Global(kUser, name), [&](json& doc, json& change) {
    json& groups = ArrayAt(ObjectAt(doc, "configuration"), "groupList");
    const size_t removed = EraseIf(
        groups, [&](const json& g) { return g.is_string() && g.get<std::string>() == group; });
    if (add) groups.push_back(group);
    change[add ? "addedToGroup" : "removedFromGroup"] = group;
    return add ? removed == 0 : removed > 0;
  });
}
void AddUserToGroup(Op& op) { GroupMembership(op, true); }
void RemoveUserFromGroup(Op& op) { GroupMembership(op, false); }

void MfaDevice(Op& op, bool enable) {
  std::string name;
  if (!RequireUser(op, &name)) return;
  const std::string serial = Str(op.req(), "serialNumber");
  const int64_t now = op.event().time_ms;
  op.Update(op.Global(kUser, name), [&](json& doc, json& change) {
    json& devices = ArrayAt(ObjectAt(doc, "configuration"), "mfaDevices");
    const size_t removed =
        EraseIf(devices, [&](const json& d) { return Str(d, "serialNumber") == serial; });
    if (enable) devices.push_back({{"serialNumber", serial}, {"enableDate", FormatTimestamp(now)}});
    change[enable ? "enabledMfaDevice" : "deactivatedMfaDevice"] = serial;
    return enable || removed > 0;
  });
}
void EnableMFADevice(Op& op) { MfaDevice(op, true); }
void DeactivateMFADevice(Op& op) { MfaDevice(op, false); }

// --- Roles ---------------------------------------------------------------------------------

bool RequireRole(Op& op, std::string* name) {
  *name = Str(op.req(), "roleName");
  if (name->empty()) op.RecordUnknownWrite();
  return !name->empty();
}

void CreateRole(Op& op) {
  const json& role = At(op.resp(), "role");
  std::string name = Str(role, "roleName");
  if (name.empty()) name = Str(op.req(), "roleName");
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Global(kRole, name);
  t.resource_id = Str(role, "roleId");
  t.name = name;
  t.arn = Str(role, "arn");
  const json& req = op.req();
  const int64_t now = op.event().time_ms;
  op.Create(t, [&](json& doc, json&) {
    json cfg = json::object();
    cfg["roleName"] = name;
    cfg["roleId"] = Str(role, "roleId");
    cfg["arn"] = Str(doc, "ARN");
    cfg["path"] = Str(req, "path").empty() ? "/" : Str(req, "path");
    cfg["createDate"] = NormalizeTime(At(role, "createDate"), now);
    const json& policy = At(req, "assumeRolePolicyDocument");
    cfg["assumeRolePolicyDocument"] =
        PolicyText(policy.is_null() ? At(role, "assumeRolePolicyDocument") : policy);
    cfg["attachedManagedPolicies"] = json::array();
    cfg["rolePolicyList"] = json::array();
    const std::string description = Str(req, "description");
    if (!description.empty()) cfg["description"] = description;
    const json& max_session = At(req, "maxSessionDuration");
    if (!max_session.is_null()) cfg["maxSessionDuration"] = max_session;
    doc["configuration"] = std::move(cfg);
    for (const json& tag : Items(At(req, "tags"))) {
      const std::string k = Str(tag, "key");
      if (!k.empty()) doc["tags"][k] = Str(tag, "value");
    }
    return true;
  });
}

void DeleteRole(Op& op) {
  std::string name;
  if (RequireRole(op, &name)) op.Delete(op.Global(kRole, name));
}
void AttachRolePolicy(Op& op) {
  std::string name;
  if (RequireRole(op, &name)) ManagedPolicy(op, op.Global(kRole, name), true);
}
void DetachRolePolicy(Op& op) {
  std::string name;
  if (RequireRole(op, &name)) ManagedPolicy(op, op.Global(kRole, name), false);
}
void PutRolePolicy(Op& op) {
  std::string name;
  if (RequireRole(op, &name)) InlinePolicy(op, op.Global(kRole, name), "rolePolicyList", true);
}
void DeleteRolePolicy(Op& op) {
  std::string name;
  if (RequireRole(op, &name)) InlinePolicy(op, op.Global(kRole, name), "rolePolicyList", false);
}

void UpdateAssumeRolePolicy(Op& op) {
  std::string name;
  if (!RequireRole(op, &name)) return;
  const std::string text = PolicyText(At(op.req(), "policyDocument"));
  op.Update(op.Global(kRole, name), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    change["assumeRolePolicyDocument"] = {{"from", At(cfg, "assumeRolePolicyDocument")},
                                          {"to", text}};
    cfg["assumeRolePolicyDocument"] = text;
    return true;
  });
}

// --- Account password policy ---------------------------------------------------------------

void UpdateAccountPasswordPolicy(Op& op) {
  json policy = op.req().is_object() ? op.req() : json::object();
  op.Update(op.Global("AWS::IAM::AccountPasswordPolicy", op.event().account),
            [&](json& doc, json& change) {
              ObjectAt(doc, "driftwatch").erase("partial");  // the call states the whole policy
              change["passwordPolicy"] = {{"from", At(doc, "configuration")}, {"to", policy}};
              doc["configuration"] = policy;
              return true;
            });
}

void DeleteAccountPasswordPolicy(Op& op) {
  op.Delete(op.Global("AWS::IAM::AccountPasswordPolicy", op.event().account));
}

}  // namespace

void RegisterIamAppliers(HandlerMap* map) {
  (*map)["CreateUser"] = CreateUser;
  (*map)["DeleteUser"] = DeleteUser;
  (*map)["CreateAccessKey"] = CreateAccessKey;
  (*map)["UpdateAccessKey"] = UpdateAccessKey;
  (*map)["DeleteAccessKey"] = DeleteAccessKey;
  (*map)["CreateLoginProfile"] = CreateLoginProfile;
  (*map)["UpdateLoginProfile"] = UpdateLoginProfile;
  (*map)["DeleteLoginProfile"] = DeleteLoginProfile;
  (*map)["AttachUserPolicy"] = AttachUserPolicy;
  (*map)["DetachUserPolicy"] = DetachUserPolicy;
  (*map)["PutUserPolicy"] = PutUserPolicy;
  (*map)["DeleteUserPolicy"] = DeleteUserPolicy;
  (*map)["AddUserToGroup"] = AddUserToGroup;
  (*map)["RemoveUserFromGroup"] = RemoveUserFromGroup;
  (*map)["EnableMFADevice"] = EnableMFADevice;
  (*map)["DeactivateMFADevice"] = DeactivateMFADevice;
  (*map)["CreateRole"] = CreateRole;
  (*map)["DeleteRole"] = DeleteRole;
  (*map)["AttachRolePolicy"] = AttachRolePolicy;
  (*map)["DetachRolePolicy"] = DetachRolePolicy;
  (*map)["PutRolePolicy"] = PutRolePolicy;
  (*map)["DeleteRolePolicy"] = DeleteRolePolicy;
  (*map)["UpdateAssumeRolePolicy"] = UpdateAssumeRolePolicy;
  (*map)["UpdateAccountPasswordPolicy"] = UpdateAccountPasswordPolicy;
  (*map)["DeleteAccountPasswordPolicy"] = DeleteAccountPasswordPolicy;
}

}  // namespace driftwatch::applier
