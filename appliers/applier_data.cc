// Data-protection appliers: S3 buckets, KMS keys, EBS encryption by default, shared snapshots
// and images, RDS instances and snapshots.

#include <cctype>

#include "appliers/applier_internal.h"

namespace driftwatch::applier {
namespace {

constexpr const char* kBucket = "AWS::S3::Bucket";
constexpr const char* kKey = "AWS::KMS::Key";

bool RequireBucket(Op& op, std::string* name) {
  *name = Str(op.req(), "bucketName");
  if (name->empty()) op.RecordUnknownWrite();
  return !name->empty();
}

void CreateBucket(Op& op) {
  std::string name;
  if (!RequireBucket(op, &name)) return;
  Target t = op.Regional(kBucket, name);
  t.name = name;
  const std::string location =
      Str(AtNoCase(op.req(), "CreateBucketConfiguration"), "LocationConstraint");
  if (!location.empty()) t.region = location;
  const int64_t now = op.event().time_ms;
  op.Create(t, [&](json& doc, json&) {
    doc["configuration"] = {{"name", name}, {"creationDate", NormalizeTime(json(), now)}};
    // A new bucket has no policy.
    doc["supplementaryConfiguration"]["BucketPolicy"] = {{"policyText", nullptr}};
    const std::string acl = Str(op.req(), "x-amz-acl");
    if (!acl.empty()) doc["supplementaryConfiguration"]["AccessControlList"] = {{"cannedAcl", acl}};
    return true;
  });
}

void DeleteBucket(Op& op) {
  std::string name;
  if (RequireBucket(op, &name)) op.Delete(op.Regional(kBucket, name));
}

// Sets (or with a null value removes) one supplementaryConfiguration entry of a bucket.
void BucketSupplement(Op& op, const char* field, json value) {
  std::string name;
  if (!RequireBucket(op, &name)) return;
  Target t = op.Regional(kBucket, name);
  t.name = name;
  op.Update(t, [&](json& doc, json& change) {
    json& supp = ObjectAt(doc, "supplementaryConfiguration");
    json from = At(supp, field);
    if (value.is_null()) {
      supp.erase(field);
    } else {
      supp[field] = value;
    }
    ObjectAt(doc, "configuration")["name"] = name;
    if (std::string_view(field) == "BucketPolicy") NoteBucketTls(doc);
    change[field] = {{"from", from}, {"to", value}};
    return from != value;
  });
}

void PutBucketPolicy(Op& op) {
  const json& policy = At(op.req(), "bucketPolicy");
  const json& text = policy.is_null() ? At(op.req(), "policy") : policy;
  BucketSupplement(op, "BucketPolicy", {{"policyText", PolicyText(text)}});
}

void DeleteBucketPolicy(Op& op) { BucketSupplement(op, "BucketPolicy", {{"policyText", nullptr}}); }

void PutBucketPublicAccessBlock(Op& op) {
  const json& in = AtNoCase(op.req(), "PublicAccessBlockConfiguration");
  json block = json::object();
  for (const char* k :
       {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"}) {
    bool b = false;
    block[LowerFirstKey(k)] = BoolOf(AtNoCase(in, k), &b) && b;
  }
  BucketSupplement(op, "PublicAccessBlockConfiguration", block);
}

void DeleteBucketPublicAccessBlock(Op& op) {
  BucketSupplement(op, "PublicAccessBlockConfiguration", json());
}

void PutBucketEncryption(Op& op) {
  const json& in = AtNoCase(op.req(), "ServerSideEncryptionConfiguration");
  json rules = json::array();
  for (const json& r : Items(AtNoCase(in, "Rule"))) {
    const json& by_default = AtNoCase(r, "ApplyServerSideEncryptionByDefault");
    json rule = json::object();
    json d = {{"sseAlgorithm", ScalarText(AtNoCase(by_default, "SSEAlgorithm"))}};
    const std::string kms = ScalarText(AtNoCase(by_default, "KMSMasterKeyID"));
    d["kmsMasterKeyID"] = kms.empty() ? json() : json(kms);
    rule["applyServerSideEncryptionByDefault"] = std::move(d);
    bool key_enabled = false;
    rule["bucketKeyEnabled"] = BoolOf(AtNoCase(r, "BucketKeyEnabled"), &key_enabled) && key_enabled;
    rules.push_back(std::move(rule));
  }
  // The record may hold only the bucket name (the body is not always logged): encryption is on,
  // details unknown.
  if (rules.empty())
    rules.push_back({{"applyServerSideEncryptionByDefault", {{"sseAlgorithm", nullptr}}}});
  BucketSupplement(op, "ServerSideEncryptionConfiguration", {{"rules", rules}});
}

void DeleteBucketEncryption(Op& op) {
  BucketSupplement(op, "ServerSideEncryptionConfiguration", json());
}

std::string AclPermission(std::string p) {
  if (p == "FULL_CONTROL") return "FullControl";
  if (p == "READ") return "Read";
  if (p == "WRITE") return "Write";
  if (p == "READ_ACP") return "ReadAcp";
  if (p == "WRITE_ACP") return "WriteAcp";
  return p;
}

json Grantee(const json& g) {
  const std::string uri = ScalarText(AtNoCase(g, "URI"));
  if (uri.size() >= 9 && uri.compare(uri.size() - 9, 9, "/AllUsers") == 0) return "AllUsers";
  if (uri.size() >= 19 && uri.compare(uri.size() - 19, 19, "/AuthenticatedUsers") == 0) {
    return "AuthenticatedUsers";
  }
  if (!uri.empty()) return {{"uri", uri}};
  const std::string id = ScalarText(AtNoCase(g, "ID"));
  if (!id.empty()) return {{"id", id}};
  const std::string email = ScalarText(AtNoCase(g, "EmailAddress"));
  if (!email.empty()) return {{"emailAddress", email}};
  return json();
}

void PutBucketAcl(Op& op) {
  json acl = json::object();
  json grants = json::array();
  // The header comes as a string or, in S3 data events, as a one-element list.
  const json& header = At(op.req(), "x-amz-acl");
  const std::string canned =
      header.is_array() && !header.empty() ? ScalarText(header[0]) : ScalarText(header);
  if (!canned.empty()) {
    acl["cannedAcl"] = canned;
    if (canned == "public-read" || canned == "public-read-write") {
      grants.push_back({{"grantee", "AllUsers"}, {"permission", "Read"}});
    }
    if (canned == "public-read-write") {
      grants.push_back({{"grantee", "AllUsers"}, {"permission", "Write"}});
    }
    if (canned == "authenticated-read") {
      grants.push_back({{"grantee", "AuthenticatedUsers"}, {"permission", "Read"}});
    }
  }
  const json& list = AtNoCase(AtNoCase(op.req(), "AccessControlPolicy"), "AccessControlList");
  for (const json& g : Items(AtNoCase(list, "Grant"))) {
    grants.push_back({{"grantee", Grantee(AtNoCase(g, "Grantee"))},
                      {"permission", AclPermission(ScalarText(AtNoCase(g, "Permission")))}});
  }
  acl["grantList"] = std::move(grants);
  BucketSupplement(op, "AccessControlList", acl);
}

// --- KMS -----------------------------------------------------------------------------------

// The key a call is about: the resources[] ARN when the record has one (aliases resolved by
// AWS), else the request's keyId (an id or an ARN).
std::string KeyIdOf(const Op& op) {
  for (const ResourceRef& r : op.event().resources) {
    if (r.type == kKey && !(r.id.empty() && r.arn.empty())) {
      return r.id.empty() ? ArnLastSegment(r.arn) : ArnLastSegment(r.id);
    }
  }
  for (const json& r : Items(At(op.record(), "resources"))) {
    if (Str(r, "type") == kKey && !Str(r, "ARN").empty()) return ArnLastSegment(Str(r, "ARN"));
  }
  const std::string from_response = Str(op.resp(), "keyId");
  if (!from_response.empty()) return ArnLastSegment(from_response);
  return ArnLastSegment(Str(op.req(), "keyId"));
}

void KeyUpdate(Op& op, const std::function<void(json& cfg, json& change)>& fn) {
  const std::string id = KeyIdOf(op);
  if (id.empty() || id.rfind("alias/", 0) == 0) {
    op.RecordUnknownWrite();
    return;
  }
  op.Update(op.Regional(kKey, id), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["keyId"] = id;
    cfg["arn"] = Str(doc, "ARN");
    const json before = cfg;
    fn(cfg, change);
    return before != cfg;
  });
}

void SetKeyState(json& cfg, json& change, const char* state) {
  change["keyState"] = {{"from", At(cfg, "keyState")}, {"to", state}};
  cfg["keyState"] = state;
  cfg["enabled"] = std::string_view(state) == "Enabled";
}

void CreateKey(Op& op) {
  const json& meta = At(op.resp(), "keyMetadata");
  const std::string id = Str(meta, "keyId");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Regional(kKey, id);
  t.arn = Str(meta, "arn");
  op.Create(t, [&](json& doc, json&) {
    json cfg = meta.is_object() ? meta : json::object();
    cfg["keyId"] = id;
    cfg["arn"] = Str(doc, "ARN");
    if (!cfg.contains("keyState")) cfg["keyState"] = "Enabled";
    cfg["enabled"] = Str(cfg, "keyState") == "Enabled";
    cfg["keyRotationEnabled"] = false;
    doc["configuration"] = std::move(cfg);
    return true;
  });
}

void ScheduleKeyDeletion(Op& op) {
  const json deletion = At(op.resp(), "deletionDate");
  const int64_t now = op.event().time_ms;
  KeyUpdate(op, [&](json& cfg, json& change) {
    SetKeyState(cfg, change, "PendingDeletion");
    cfg["deletionDate"] = NormalizeTime(deletion, now);
    const json& days = At(op.req(), "pendingWindowInDays");
    if (!days.is_null()) cfg["pendingWindowInDays"] = days;
  });
}

void CancelKeyDeletion(Op& op) {
  KeyUpdate(op, [](json& cfg, json& change) {
    SetKeyState(cfg, change, "Disabled");  // AWS leaves a key disabled after cancelling
    cfg["deletionDate"] = nullptr;
  });
}

void DisableKey(Op& op) {
  KeyUpdate(op, [](json& cfg, json& change) { SetKeyState(cfg, change, "Disabled"); });
}
void EnableKey(Op& op) {
  KeyUpdate(op, [](json& cfg, json& change) { SetKeyState(cfg, change, "Enabled"); });
}

void KeyRotation(Op& op, bool enabled) {
  KeyUpdate(op, [enabled](json& cfg, json& change) {
    change["keyRotationEnabled"] = {{"from", At(cfg, "keyRotationEnabled")}, {"to", enabled}};
    cfg["keyRotationEnabled"] = enabled;
  });
}
void EnableKeyRotation(Op& op) { KeyRotation(op, true); }
void DisableKeyRotation(Op& op) { KeyRotation(op, false); }

// --- EBS, snapshots, images ----------------------------------------------------------------

void EbsDefault(Op& op, bool enabled) {
  op.Update(op.Regional("AWS::EC2::EbsEncryptionByDefault", op.event().account),
            [enabled](json& doc, json& change) {
              json& cfg = ObjectAt(doc, "configuration");
              ObjectAt(doc, "driftwatch").erase("partial");
              change["ebsEncryptionByDefault"] = {{"from", At(cfg, "ebsEncryptionByDefault")},
                                                  {"to", enabled}};
              const bool changed = At(cfg, "ebsEncryptionByDefault") != json(enabled);
              cfg["ebsEncryptionByDefault"] = enabled;
              return changed;
            });
}
void EnableEbsEncryptionByDefault(Op& op) { EbsDefault(op, true); }
void DisableEbsEncryptionByDefault(Op& op) { EbsDefault(op, false); }

// add/remove lists of {userId} / {group} into `list_name`.
void SharePermissions(Op& op, const char* type, const std::string& id, const json& attribute,
                      const char* list_name) {
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Update(op.Regional(type, id), [&](json& doc, json& change) {
    json& list = ArrayAt(ObjectAt(doc, "configuration"), list_name);
    json added = json::array();
    json removed = json::array();
    for (const json& p : Items(AtNoCase(attribute, "remove"))) {
      const std::string user = ScalarText(AtNoCase(p, "userId"));
      const std::string group = ScalarText(AtNoCase(p, "group"));
      if (EraseIf(list, [&](const json& e) {
            return (!user.empty() && Str(e, "userId") == user) ||
                   (!group.empty() && Str(e, "group") == group);
          }) > 0) {
        removed.push_back(p);
      }
    }
    for (const json& p : Items(AtNoCase(attribute, "add"))) {
      json entry = json::object();
      const std::string user = ScalarText(AtNoCase(p, "userId"));
      const std::string group = ScalarText(AtNoCase(p, "group"));
      if (!user.empty()) entry["userId"] = user;
      if (!group.empty()) entry["group"] = group;
      if (entry.empty()) continue;
      bool present = false;
      for (const json& e : list) present = present || e == entry;
      if (!present) {
        list.push_back(entry);
        added.push_back(entry);
      }
    }
    change["added"] = added;
    change["removed"] = removed;
    return !added.empty() || !removed.empty();
  });
}

void ModifySnapshotAttribute(Op& op) {
  SharePermissions(op, "AWS::EC2::Snapshot", Str(op.req(), "snapshotId"),
                   At(op.req(), "createVolumePermission"), "createVolumePermissions");
}

void ModifyImageAttribute(Op& op) {
  SharePermissions(op, "AWS::EC2::Image", Str(op.req(), "imageId"),
                   At(op.req(), "launchPermission"), "launchPermissions");
}

// --- RDS -----------------------------------------------------------------------------------

void ModifyDBSnapshotAttribute(Op& op) {
  const std::string id = Str(op.req(), "dBSnapshotIdentifier");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  const std::string attribute = Str(op.req(), "attributeName");
  const json to_add = Items(At(op.req(), "valuesToAdd"));
  const json to_remove = Items(At(op.req(), "valuesToRemove"));
  const json& reported = At(op.resp(), "dBSnapshotAttributes");
  Target t = op.Regional("AWS::RDS::DBSnapshot", id);
  t.name = id;
  op.Update(t, [&](json& doc, json& change) {
    json& attrs = ArrayAt(ObjectAt(doc, "supplementaryConfiguration"), "DBSnapshotAttributes");
    const json before = attrs;
    if (reported.is_array()) {
      attrs = reported;  // the response states every attribute: authoritative
    } else {
      json* entry = nullptr;
      for (json& a : attrs) {
        if (Str(a, "attributeName") == attribute) entry = &a;
      }
      if (entry == nullptr) {
        attrs.push_back({{"attributeName", attribute}, {"attributeValues", json::array()}});
        entry = &attrs.back();
      }
      json& values = ArrayAt(*entry, "attributeValues");
      for (const json& v : to_remove) EraseIf(values, [&](const json& e) { return e == v; });
      for (const json& v : to_add) {
        bool present = false;
        for (const json& e : values) present = present || e == v;
        if (!present) values.push_back(v);
      }
    }
    change["attributeName"] = attribute;
    change["valuesToAdd"] = to_add;
    change["valuesToRemove"] = to_remove;
    return before != attrs;
  });
}

// Request fields that are parameters of the call, not of the instance.
bool IsCallOnly(const std::string& k) {
  return k == "applyImmediately" || k == "masterUserPassword" || k == "allowMajorVersionUpgrade";
}

// CreateDBInstance and the Restore* calls that make an instance (from a snapshot, to a point in
// time, from S3): the request's settings, with what the response says of the new instance.
void CreateDBInstance(Op& op) {
  std::string id = Str(op.req(), "dBInstanceIdentifier");
  if (id.empty()) id = Str(op.req(), "targetDBInstanceIdentifier");
  if (id.empty()) id = Str(op.resp(), "dBInstanceIdentifier");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Regional("AWS::RDS::DBInstance", id);
  t.name = id;
  t.resource_id = Str(op.resp(), "dbiResourceId");
  t.arn = Str(op.resp(), "dBInstanceArn");
  op.Create(t, [&](json& doc, json&) {
    json cfg = json::object();
    if (op.req().is_object()) {
      for (auto it = op.req().begin(); it != op.req().end(); ++it) {
        if (!IsCallOnly(it.key())) cfg[it.key()] = *it;
      }
    }
    cfg.erase("targetDBInstanceIdentifier");
    cfg["dBInstanceIdentifier"] = id;
    for (const char* k : {"dbiResourceId", "dBInstanceArn", "dBInstanceStatus",
                          "publiclyAccessible", "storageEncrypted"}) {
      const json& v = At(op.resp(), k);
      if (!v.is_null()) cfg[k] = v;
    }
    // RDS's default for a new instance outside a VPC subnet group is not public.
    if (!cfg.contains("publiclyAccessible")) cfg["publiclyAccessible"] = false;
    if (!cfg.contains("storageEncrypted")) cfg["storageEncrypted"] = false;
    doc["configuration"] = std::move(cfg);
    return true;
  });
}

void ModifyDBInstance(Op& op) {
  const std::string id = Str(op.req(), "dBInstanceIdentifier");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  Target t = op.Regional("AWS::RDS::DBInstance", id);
  t.name = id;
  op.Update(t, [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["dBInstanceIdentifier"] = id;
    bool any = false;
    if (op.req().is_object()) {
      for (auto it = op.req().begin(); it != op.req().end(); ++it) {
        if (IsCallOnly(it.key()) || it.key() == "dBInstanceIdentifier") continue;
        const std::string k =
            it.key() == "newDBInstanceIdentifier" ? "dBInstanceIdentifier" : it.key();
        if (At(cfg, k) == *it) continue;
        change[k] = {{"from", At(cfg, k)}, {"to", *it}};
        cfg[k] = *it;
        any = true;
      }
    }
    return any;
  });
}

}  // namespace

void RegisterDataAppliers(HandlerMap* map) {
  (*map)["CreateBucket"] = CreateBucket;
  (*map)["DeleteBucket"] = DeleteBucket;
  (*map)["PutBucketPolicy"] = PutBucketPolicy;
  (*map)["DeleteBucketPolicy"] = DeleteBucketPolicy;
  (*map)["PutBucketAcl"] = PutBucketAcl;
  (*map)["PutBucketPublicAccessBlock"] = PutBucketPublicAccessBlock;
  (*map)["DeleteBucketPublicAccessBlock"] = DeleteBucketPublicAccessBlock;
  (*map)["PutBucketEncryption"] = PutBucketEncryption;
  (*map)["DeleteBucketEncryption"] = DeleteBucketEncryption;
  (*map)["CreateKey"] = CreateKey;
  (*map)["ScheduleKeyDeletion"] = ScheduleKeyDeletion;
  (*map)["CancelKeyDeletion"] = CancelKeyDeletion;
  (*map)["DisableKey"] = DisableKey;
  (*map)["EnableKey"] = EnableKey;
  (*map)["EnableKeyRotation"] = EnableKeyRotation;
  (*map)["DisableKeyRotation"] = DisableKeyRotation;
  (*map)["EnableEbsEncryptionByDefault"] = EnableEbsEncryptionByDefault;
  (*map)["DisableEbsEncryptionByDefault"] = DisableEbsEncryptionByDefault;
  (*map)["ModifySnapshotAttribute"] = ModifySnapshotAttribute;
  (*map)["ModifyImageAttribute"] = ModifyImageAttribute;
  (*map)["ModifyDBSnapshotAttribute"] = ModifyDBSnapshotAttribute;
  (*map)["CreateDBInstance"] = CreateDBInstance;
  (*map)["RestoreDBInstanceFromDBSnapshot"] = CreateDBInstance;
  (*map)["RestoreDBInstanceToPointInTime"] = CreateDBInstance;
  (*map)["RestoreDBInstanceFromS3"] = CreateDBInstance;
  (*map)["ModifyDBInstance"] = ModifyDBInstance;
}

}  // namespace driftwatch::applier
