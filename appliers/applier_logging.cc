// Logging appliers: CloudTrail trails, AWS Config recorders and delivery channels, VPC flow
// logs, GuardDuty detectors.

#include "appliers/applier_internal.h"

namespace driftwatch::applier {
namespace {

constexpr const char* kTrail = "AWS::CloudTrail::Trail";
constexpr const char* kRecorder = "AWS::Config::ConfigurationRecorder";
constexpr const char* kChannel = "AWS::Config::DeliveryChannel";
constexpr const char* kFlowLog = "AWS::EC2::FlowLog";
constexpr const char* kDetector = "AWS::GuardDuty::Detector";

// Trail fields a Create/UpdateTrail request or response states.
constexpr const char* kTrailFields[] = {
    "s3BucketName",
    "s3KeyPrefix",
    "snsTopicName",
    "snsTopicARN",
    "includeGlobalServiceEvents",
    "isMultiRegionTrail",
    "kmsKeyId",
    "cloudWatchLogsLogGroupArn",
    "cloudWatchLogsRoleArn",
    "isOrganizationTrail",
    "homeRegion",
    "trailARN",
};

// Trails are named by name or ARN; the document is keyed by name.
std::string TrailNameOf(const Op& op) {
  std::string name = Str(op.req(), "name");
  if (name.empty()) name = Str(op.req(), "trailName");
  if (name.empty()) name = Str(op.resp(), "name");
  return ArnLastSegment(name);
}

Target TrailTarget(const Op& op, const std::string& name) {
  Target t = op.Regional(kTrail, name);
  t.name = name;
  std::string arn = Str(op.resp(), "trailARN");
  const std::string requested = Str(op.req(), "name");
  if (arn.empty() && requested.rfind("arn:", 0) == 0) arn = requested;
  t.arn = arn;
  return t;
}

// Copies the trail fields the request and response state; returns what changed.
json CopyTrailFields(const json& req, const json& resp, json& cfg) {
  json change = json::object();
  for (const json* source : {&req, &resp}) {
    for (const char* k : kTrailFields) {
      const json& v = At(*source, k);
      if (v.is_null() || At(cfg, k) == v) continue;
      change[k] = {{"from", At(cfg, k)}, {"to", v}};
      cfg[k] = v;
    }
    const json& validation = At(*source, "enableLogFileValidation").is_null()
                                 ? At(*source, "logFileValidationEnabled")
                                 : At(*source, "enableLogFileValidation");
    if (!validation.is_null() && At(cfg, "logFileValidationEnabled") != validation) {
      change["logFileValidationEnabled"] = {{"from", At(cfg, "logFileValidationEnabled")},
                                            {"to", validation}};
      cfg["logFileValidationEnabled"] = validation;
    }
  }
  return change;
}

void CreateTrail(Op& op) {
  const std::string name = TrailNameOf(op);
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Create(TrailTarget(op, name), [&](json& doc, json&) {
    json cfg = {{"name", name}, {"isLogging", false}};  // a new trail logs after StartLogging
    CopyTrailFields(op.req(), op.resp(), cfg);
    if (!cfg.contains("trailARN")) cfg["trailARN"] = Str(doc, "ARN");
    if (!cfg.contains("homeRegion")) cfg["homeRegion"] = op.event().region;
    doc["configuration"] = std::move(cfg);
    return true;
  });
}

void DeleteTrail(Op& op) {
  const std::string name = TrailNameOf(op);
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Delete(TrailTarget(op, name));
}

void UpdateTrail(Op& op) {
  const std::string name = TrailNameOf(op);
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Update(TrailTarget(op, name), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["name"] = name;
    change = CopyTrailFields(op.req(), op.resp(), cfg);
    return !change.empty();
  });
}

void Logging(Op& op, bool on) {
  const std::string name = TrailNameOf(op);
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Update(TrailTarget(op, name), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["name"] = name;
    change["isLogging"] = {{"from", At(cfg, "isLogging")}, {"to", on}};
    const bool changed = At(cfg, "isLogging") != json(on);
    cfg["isLogging"] = on;
    return changed;
  });
}
void StartLogging(Op& op) { Logging(op, true); }
void StopLogging(Op& op) { Logging(op, false); }

void PutEventSelectors(Op& op) {
  const std::string name = TrailNameOf(op);
  if (name.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Update(TrailTarget(op, name), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["name"] = name;
    bool any = false;
    for (const char* k : {"eventSelectors", "advancedEventSelectors"}) {
      const json& v = At(op.req(), k);
      const json value = v.is_null() ? json::array() : v;
      // Setting one kind of selector clears the other.
      if (v.is_null() && At(op.req(), k == std::string("eventSelectors") ? "advancedEventSelectors"
                                                                         : "eventSelectors")
                             .is_null()) {
        continue;
      }
      if (At(cfg, k) == value) continue;
      change[k] = {{"from", At(cfg, k)}, {"to", value}};
      cfg[k] = value;
      any = true;
    }
    cfg["hasCustomEventSelectors"] = true;
    return any;
  });
}

// --- AWS Config ----------------------------------------------------------------------------

void PutConfigurationRecorder(Op& op) {
  const json& recorder = At(op.req(), "configurationRecorder");
  const std::string name = Str(recorder, "name").empty() ? "default" : Str(recorder, "name");
  Target t = op.Regional(kRecorder, name);
  t.name = name;
  op.Update(t, [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    json before = cfg;
    for (const char* k : {"roleARN", "recordingGroup", "recordingMode"}) {
      const json& v = At(recorder, k);
      if (!v.is_null()) cfg[k] = v;
    }
    cfg["name"] = name;
    if (!cfg.contains("recording")) cfg["recording"] = false;  // a new recorder is stopped
    change["configurationRecorder"] = recorder;
    return before != cfg;
  });
}

std::string RecorderNameOf(const Op& op) {
  std::string name = Str(op.req(), "configurationRecorderName");
  return name.empty() ? "default" : name;
}

void Recording(Op& op, bool on) {
  const std::string name = RecorderNameOf(op);
  Target t = op.Regional(kRecorder, name);
  t.name = name;
  op.Update(t, [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["name"] = name;
    change["recording"] = {{"from", At(cfg, "recording")}, {"to", on}};
    const bool changed = At(cfg, "recording") != json(on);
    cfg["recording"] = on;
    return changed;
  });
}
void StartConfigurationRecorder(Op& op) { Recording(op, true); }
void StopConfigurationRecorder(Op& op) { Recording(op, false); }

void DeleteConfigurationRecorder(Op& op) { op.Delete(op.Regional(kRecorder, RecorderNameOf(op))); }

void PutDeliveryChannel(Op& op) {
  const json& channel = At(op.req(), "deliveryChannel");
  const std::string name = Str(channel, "name").empty() ? "default" : Str(channel, "name");
  Target t = op.Regional(kChannel, name);
  t.name = name;
  op.Update(t, [&](json& doc, json& change) {
    const json before = At(doc, "configuration");
    doc["configuration"] = channel.is_object() ? channel : json::object();
    doc["configuration"]["name"] = name;
    ObjectAt(doc, "driftwatch").erase("partial");
    change["deliveryChannel"] = channel;
    return before != doc["configuration"];
  });
}

void DeleteDeliveryChannel(Op& op) {
  std::string name = Str(op.req(), "deliveryChannelName");
  if (name.empty()) name = "default";
  op.Delete(op.Regional(kChannel, name));
}

// --- Flow logs -----------------------------------------------------------------------------

// CreateFlowLogs / DeleteFlowLogs come as {"CreateFlowLogsRequest": {"ResourceId": {"content":
// "vpc-1"}, ...}} (EC2's query shape) or flat; ids are strings, lists, or {content} objects.
std::vector<std::string> Strings(const json& v) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const json& e : v) {
      for (std::string& s : Strings(e)) out.push_back(std::move(s));
    }
  } else if (v.is_object()) {
    if (At(v, "content").is_string()) {
      out.push_back(Str(v, "content"));
    } else {
      for (const char* k : {"items", "item"}) {
        for (std::string& s : Strings(At(v, k))) out.push_back(std::move(s));
      }
    }
  }
  return out;
}

const json& Unwrap(const json& req, const char* wrapper) {
  const json& inner = AtNoCase(req, wrapper);
  return inner.is_object() ? inner : req;
}

void CreateFlowLogs(Op& op) {
  const json& req = Unwrap(op.req(), "CreateFlowLogsRequest");
  const json& resp = Unwrap(op.resp(), "CreateFlowLogsResponse");
  std::vector<std::string> ids = Strings(AtNoCase(resp, "flowLogIdSet"));
  if (ids.empty()) ids = Strings(AtNoCase(resp, "flowLogIds"));
  std::vector<std::string> resources = Strings(AtNoCase(req, "ResourceId"));
  if (resources.empty()) resources = Strings(AtNoCase(req, "resourceIds"));
  if (ids.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    op.Create(op.Regional(kFlowLog, ids[i]), [&](json& doc, json&) {
      json cfg = {{"flowLogId", ids[i]}};
      if (i < resources.size()) cfg["resourceId"] = resources[i];
      for (const char* k : {"ResourceType", "TrafficType", "LogDestinationType", "LogDestination",
                            "LogGroupName", "DeliverLogsPermissionArn"}) {
        const std::string v = ScalarText(AtNoCase(req, k));
        if (!v.empty()) cfg[LowerFirstKey(k)] = v;
      }
      doc["configuration"] = std::move(cfg);
      return true;
    });
  }
}

void DeleteFlowLogs(Op& op) {
  const json& req = Unwrap(op.req(), "DeleteFlowLogsRequest");
  std::vector<std::string> ids = Strings(AtNoCase(req, "FlowLogId"));
  if (ids.empty()) ids = Strings(AtNoCase(req, "flowLogIds"));
  if (ids.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  for (const std::string& id : ids) op.Delete(op.Regional(kFlowLog, id));
}

// --- GuardDuty -----------------------------------------------------------------------------

void CreateDetector(Op& op) {
  const std::string id = Str(op.resp(), "detectorId");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Create(op.Regional(kDetector, id), [&](json& doc, json&) {
    json cfg = {{"detectorId", id}};
    bool enable = true;
    BoolOf(At(op.req(), "enable"), &enable);
    cfg["enable"] = enable;
    for (const char* k : {"findingPublishingFrequency", "dataSources", "features"}) {
      const json& v = At(op.req(), k);
      if (!v.is_null()) cfg[k] = v;
    }
    doc["configuration"] = std::move(cfg);
    return true;
  });
}

void UpdateDetector(Op& op) {
  const std::string id = Str(op.req(), "detectorId");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Update(op.Regional(kDetector, id), [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    cfg["detectorId"] = id;
    bool any = false;
    bool enable = false;
    if (BoolOf(At(op.req(), "enable"), &enable) && At(cfg, "enable") != json(enable)) {
      change["enable"] = {{"from", At(cfg, "enable")}, {"to", enable}};
      cfg["enable"] = enable;
      any = true;
    }
    for (const char* k : {"findingPublishingFrequency", "dataSources", "features"}) {
      const json& v = At(op.req(), k);
      if (v.is_null() || At(cfg, k) == v) continue;
      change[k] = {{"from", At(cfg, k)}, {"to", v}};
      cfg[k] = v;
      any = true;
    }
    return any;
  });
}

void DeleteDetector(Op& op) {
  const std::string id = Str(op.req(), "detectorId");
  if (id.empty()) {
    op.RecordUnknownWrite();
    return;
  }
  op.Delete(op.Regional(kDetector, id));
}

}  // namespace

void RegisterLoggingAppliers(HandlerMap* map) {
  (*map)["CreateTrail"] = CreateTrail;
  (*map)["DeleteTrail"] = DeleteTrail;
  (*map)["UpdateTrail"] = UpdateTrail;
  (*map)["StartLogging"] = StartLogging;
  (*map)["StopLogging"] = StopLogging;
  (*map)["PutEventSelectors"] = PutEventSelectors;
  (*map)["PutConfigurationRecorder"] = PutConfigurationRecorder;
  (*map)["StartConfigurationRecorder"] = StartConfigurationRecorder;
  (*map)["StopConfigurationRecorder"] = StopConfigurationRecorder;
  (*map)["DeleteConfigurationRecorder"] = DeleteConfigurationRecorder;
  (*map)["PutDeliveryChannel"] = PutDeliveryChannel;
  (*map)["DeleteDeliveryChannel"] = DeleteDeliveryChannel;
  (*map)["CreateFlowLogs"] = CreateFlowLogs;
  (*map)["DeleteFlowLogs"] = DeleteFlowLogs;
  (*map)["CreateDetector"] = CreateDetector;
  (*map)["UpdateDetector"] = UpdateDetector;
  (*map)["DeleteDetector"] = DeleteDetector;
}

}  // namespace driftwatch::applier
