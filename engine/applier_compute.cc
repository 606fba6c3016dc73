// Compute and inventory appliers: one document per instance RunInstances started (with its
// image and its creator), TerminateInstances.

#include "engine/applier_internal.h"

namespace driftwatch::applier {
namespace {

constexpr const char* kInstance = "AWS::EC2::Instance";

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
      if (!cfg.contains("imageId")) cfg["imageId"] = Str(op.req(), "imageId");
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

}  // namespace

void RegisterComputeAppliers(HandlerMap* map) {
  (*map)["RunInstances"] = RunInstances;
  (*map)["TerminateInstances"] = TerminateInstances;
}

}  // namespace driftwatch::applier
