// Compute and inventory appliers: one document per instance RunInstances started (with its
// image, the image's owner when known, and its creator), TerminateInstances; AMIs the account
// made (CreateImage, RegisterImage, CopyImage: owned by the account the call was made in) and
// DeregisterImage, so that instances launched later can be stamped with their image's owner.

#include <memory>
#include <string>

#include "appliers/applier_internal.h"
#include "vocab/json_parse.h"

namespace driftwatch::applier {
namespace {

constexpr const char* kInstance = "AWS::EC2::Instance";
constexpr const char* kImage = "AWS::EC2::Image";

// The image id RunInstances was asked for: requestParameters.instancesSet.items[].imageId in
// CloudTrail, a top-level imageId in some hand-written records.
std::string RequestedImage(const Op& op) {
  for (const json& i : Items(At(op.req(), "instancesSet"))) {
    const std::string id = Str(i, "imageId");
    if (!id.empty()) return id;
  }
  return Str(op.req(), "imageId");
}

void RunInstances(Op& op) {
  const json instances = Items(At(op.resp(), "instancesSet"));
  if (instances.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  for (const json& inst : instances) {
    const std::string id = Str(inst, "instanceId");
    if (id.empty()) continue;
    op.Create(op.Regional(kInstance, id), [&](json& doc, json&) {
      json cfg = json::object();
      cfg["instanceId"] = id;
      for (const char* k : {"imageId", "instanceType", "keyName", "subnetId", "vpcId",
                            "privateIpAddress", "ipAddress", "launchTime", "architecture"}) {
        const json& v = At(inst, k);
        if (!v.is_null()) cfg[k] = v;
      }
      if (!cfg.contains("imageId")) cfg["imageId"] = RequestedImage(op);
      StampImageOwner(op, op.event().account, op.event().region, json(), cfg);
      const json& state = At(inst, "instanceState");
      cfg["state"] = {{"name", Str(state, "name").empty() ? "pending" : Str(state, "name")}};
      const json& profile = At(inst, "iamInstanceProfile");
      if (profile.is_object()) cfg["iamInstanceProfile"] = profile;
      json groups = json::array();
      for (const json& g : Items(At(inst, "groupSet"))) {
        groups.push_back({{"groupId", Str(g, "groupId")}, {"groupName", Str(g, "groupName")}});
      }
      cfg["securityGroups"] = std::move(groups);
      doc["configuration"] = std::move(cfg);
      return true;
    });
  }
}

void TerminateInstances(Op& op) {
  json ids = json::array();
  for (const json& i : Items(At(op.req(), "instancesSet"))) ids.push_back(Str(i, "instanceId"));
  if (ids.empty()) {
    for (const json& i : Items(At(op.resp(), "instancesSet"))) ids.push_back(Str(i, "instanceId"));
  }
  bool any = false;
  for (const json& id : ids) {
    const std::string s = id.get<std::string>();
    if (s.empty()) continue;
    op.Delete(op.Regional(kInstance, s));
    any = true;
  }
  if (!any) op.RecordUnknownWrite();
}

// CreateImage, RegisterImage, CopyImage: a new AMI owned by the account the call was made in.
void NewImage(Op& op) {
  const std::string id = Str(op.resp(), "imageId");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Create(op.Regional(kImage, id), [&](json& doc, json&) {
    json cfg = json::object();
    cfg["imageId"] = id;
    cfg["ownerId"] = op.event().account;
    cfg["state"] = "pending";
    for (const char* k : {"name", "description", "architecture", "rootDeviceName"}) {
      const std::string v = Str(op.req(), k);
      if (!v.empty()) cfg[k] = v;
    }
    const std::string from_instance = Str(op.req(), "instanceId");
    if (!from_instance.empty()) cfg["sourceInstanceId"] = from_instance;
    const std::string from_image = Str(op.req(), "sourceImageId");
    if (!from_image.empty()) {
      cfg["sourceImageId"] = from_image;
      cfg["sourceRegion"] = Str(op.req(), "sourceRegion");
    }
    doc["configuration"] = std::move(cfg);
    return true;
  });
}

void DeregisterImage(Op& op) {
  const std::string id = Str(op.req(), "imageId");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Delete(op.Regional(kImage, id));
}

}  // namespace

bool Op::Peek(const Target& t, json* doc) const {
  const std::string key = MakeResourceKey(t.account, t.region, t.type, t.key_id);
  if (std::shared_ptr<const json> parsed = ctx_.ParsedResource(key)) {
    *doc = *parsed;
    return doc->is_object();
  }
  std::string text;
  if (!ctx_.GetResource(key, &text)) return false;
  *doc = ParseJson(text);
  return doc->is_object();
}

void StampImageOwner(const Op& op, const std::string& account, const std::string& region,
                     const json& previous, json& cfg) {
  const std::string image_id = Str(cfg, "imageId");
  if (image_id.empty()) return;
  // What the record itself says wins (a Config item written with the owner in it).
  if (!Str(cfg, "imageOwnerId").empty()) return;
  Target t;
  t.type = kImage;
  t.key_id = image_id;
  t.account = account;
  t.region = region;
  json image;
  if (op.Peek(t, &image)) {
    const json& image_cfg = At(image, "configuration");
    const std::string owner = ScalarText(At(image_cfg, "ownerId"));
    if (!owner.empty()) {
      cfg["imageOwnerId"] = owner;
      const std::string alias = Str(image_cfg, "imageOwnerAlias");
      if (!alias.empty()) cfg["imageOwnerAlias"] = alias;
      return;
    }
  }
  // A Config item replaces the document: keep the owner learned earlier for the same image.
  if (Str(previous, "imageId") == image_id && !Str(previous, "imageOwnerId").empty()) {
    cfg["imageOwnerId"] = Str(previous, "imageOwnerId");
    const std::string alias = Str(previous, "imageOwnerAlias");
    if (!alias.empty()) cfg["imageOwnerAlias"] = alias;
  }
}

void RegisterComputeAppliers(HandlerMap* map) {
  (*map)["RunInstances"] = RunInstances;
  (*map)["TerminateInstances"] = TerminateInstances;
  (*map)["CreateImage"] = NewImage;
  (*map)["RegisterImage"] = NewImage;
  (*map)["CopyImage"] = NewImage;
  (*map)["DeregisterImage"] = DeregisterImage;
}

}  // namespace driftwatch::applier
