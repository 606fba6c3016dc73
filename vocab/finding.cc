#include "vocab/finding.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "vocab/json_parse.h"
#include "vocab/json_text.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

constexpr std::string_view kCategoryNames[] = {"identity", "network",   "data-protection",
                                               "logging",  "inventory", "patching"};
constexpr std::string_view kSeverityNames[] = {"info", "low", "medium", "high", "critical"};

std::string TimeOrEmpty(int64_t ms) { return ms == 0 ? std::string() : FormatTimestamp(ms); }

}  // namespace

std::string_view CategoryName(Category c) { return kCategoryNames[static_cast<int>(c)]; }
std::string_view SeverityName(Severity s) { return kSeverityNames[static_cast<int>(s)]; }
std::string_view FindingStatusName(FindingStatus s) {
  return s == FindingStatus::kOpen ? "open" : "resolved";
}

std::string_view FindingKindName(FindingKind k) {
  return k == FindingKind::kEvent ? "event" : "posture";
}

std::string_view ResolutionName(Resolution r) {
  switch (r) {
    case Resolution::kState:
      return "state";
    case Resolution::kExpired:
      return "expired";
    case Resolution::kClosed:
      return "closed";
    case Resolution::kNone:
      break;
  }
  return "";
}

bool ParseFindingKind(std::string_view name, FindingKind* out) {
  if (name == "posture") {
    *out = FindingKind::kPosture;
  } else if (name == "event") {
    *out = FindingKind::kEvent;
  } else {
    return false;
  }
  return true;
}

bool ParseCategory(std::string_view name, Category* out) {
  for (int i = 0; i < 6; ++i) {
    if (kCategoryNames[i] == name) {
      *out = static_cast<Category>(i);
      return true;
    }
  }
  return false;
}

bool ParseSeverity(std::string_view name, Severity* out) {
  for (int i = 0; i < 5; ++i) {
    if (kSeverityNames[i] == name) {
      *out = static_cast<Severity>(i);
      return true;
    }
  }
  return false;
}

std::string MakeFindingId(std::string_view rule_id, const FindingResource& r) {
  return MakeFindingId(rule_id, r, std::string_view());
}

std::string MakeFindingId(std::string_view rule_id, const FindingResource& r,
                          std::string_view qualifier) {
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view part) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0;
    h *= 1099511628211ULL;
  };
  mix(rule_id);
  mix(r.account);
  mix(r.region);
  mix(r.type);
  mix(r.id);
  if (!qualifier.empty()) mix(qualifier);
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {

// Written field by field (every status change is emitted and stored, so this is per finding
// change), in the order and bytes an ordered_json of the same fields would dump to.
std::string ToJson(const Finding& f, bool stored) {
  std::string o;
  o.reserve(512 + f.description.size() + f.evidence.size() + f.event_ids.size() * 48);
  auto field = [&o](const char* name, std::string_view value) {
    o += name;
    AppendJsonString(value, &o);
  };
  field("{\"finding_id\":", f.finding_id);
  field(",\"rule_id\":", f.rule_id);
  field(",\"title\":", f.title);
  field(",\"category\":", CategoryName(f.category));
  field(",\"kind\":", FindingKindName(f.kind));
  field(",\"severity\":", SeverityName(f.severity));
  field(",\"status\":", FindingStatusName(f.status));
  o += ",\"resolution\":";
  if (f.resolution == Resolution::kNone) {
    o += "null";
  } else {
    AppendJsonString(ResolutionName(f.resolution), &o);
  }
  field(",\"resource\":{\"type\":", f.resource.type);
  field(",\"id\":", f.resource.id);
  field(",\"arn\":", f.resource.arn);
  field(",\"account\":", f.resource.account);
  field(",\"region\":", f.resource.region);
  field("},\"actor\":{\"type\":", f.actor.type);
  field(",\"arn\":", f.actor.arn);
  field(",\"access_key_id\":", f.actor.access_key_id);
  field(",\"source_ip\":", f.actor.source_ip);
  o += "},\"event_ids\":[";
  for (size_t i = 0; i < f.event_ids.size(); ++i) {
    if (i > 0) o += ',';
    AppendJsonString(f.event_ids[i], &o);
  }
  field("],\"first_seen\":", TimeOrEmpty(f.first_seen_ms));
  field(",\"last_seen\":", TimeOrEmpty(f.last_seen_ms));
  o += ",\"resolved_at\":";
  if (f.resolved_at_ms == 0) {
    o += "null";
  } else {
    AppendJsonString(FormatTimestamp(f.resolved_at_ms), &o);
  }
  // Evidence comes out as one compact JSON object (an unreadable one as {}): text already in
  // that form (as the rules write it) is copied, other text is parsed and written again.
  o += ",\"evidence\":";
  if (f.evidence.empty()) {
    o += "{}";
  } else if (!AppendCanonicalJsonObject(f.evidence, &o)) {
    nlohmann::ordered_json evidence = nlohmann::ordered_json::parse(f.evidence, nullptr, false);
    if (evidence.is_discarded()) evidence = nlohmann::ordered_json::object();
    AppendJsonText(evidence, &o);
  }
  if (f.resolution != Resolution::kNone) {
    o += ",\"resolution_detail\":";
    if (f.resolution_detail.empty() || !AppendCanonicalJsonObject(f.resolution_detail, &o)) {
      nlohmann::ordered_json d =
          nlohmann::ordered_json::parse(f.resolution_detail, nullptr, false);
      if (d.is_discarded() || !d.is_object()) d = nlohmann::ordered_json::object();
      AppendJsonText(d, &o);
    }
  }
  field(",\"description\":", f.description);
  if (stored) {
    if (f.expires_at_ms != 0) o += ",\"expires_at_ms\":" + std::to_string(f.expires_at_ms);
    if (f.actor_time_ms != 0) o += ",\"actor_time_ms\":" + std::to_string(f.actor_time_ms);
    o += ",\"event_times_ms\":[";
    for (size_t i = 0; i < f.event_times_ms.size(); ++i) {
      if (i > 0) o += ',';
      o += std::to_string(f.event_times_ms[i]);
    }
    o += ']';
  }
  o += '}';
  return o;
}

}  // namespace

std::string FindingToJson(const Finding& f) { return ToJson(f, false); }
std::string FindingToStoredJson(const Finding& f) { return ToJson(f, true); }

bool FindingFromJson(std::string_view json, Finding* out) {
  nlohmann::json j = ParseJson(json);
  if (j.is_discarded() || !j.is_object()) return false;
  auto str = [](const nlohmann::json& o, const char* key) -> std::string {
    auto it = o.find(key);
    return (it != o.end() && it->is_string()) ? it->get<std::string>() : std::string();
  };
  auto time = [&](const char* key) -> int64_t {
    int64_t ms = 0;
    std::string s = str(j, key);
    return (!s.empty() && ParseTimestamp(s, &ms)) ? ms : 0;
  };
  Finding f;
  f.finding_id = str(j, "finding_id");
  f.rule_id = str(j, "rule_id");
  if (f.finding_id.empty() || f.rule_id.empty()) return false;
  f.title = str(j, "title");
  if (!ParseCategory(str(j, "category"), &f.category)) return false;
  if (!ParseSeverity(str(j, "severity"), &f.severity)) return false;
  // Absent in findings stored before kinds existed: those were all opened as posture findings
  // or by event rules that the engine re-reads by rule id.
  if (!ParseFindingKind(str(j, "kind"), &f.kind)) f.kind = FindingKind::kPosture;
  f.status = str(j, "status") == "resolved" ? FindingStatus::kResolved : FindingStatus::kOpen;
  {
    const std::string r = str(j, "resolution");
    f.resolution = r == "state"     ? Resolution::kState
                   : r == "expired" ? Resolution::kExpired
                   : r == "closed"  ? Resolution::kClosed
                                    : Resolution::kNone;
    if (f.status == FindingStatus::kResolved && f.resolution == Resolution::kNone) {
      f.resolution = Resolution::kState;
    }
  }
  if (auto it = j.find("resolution_detail"); it != j.end() && it->is_object()) {
    f.resolution_detail = it->dump();
  }
  if (auto it = j.find("expires_at_ms"); it != j.end() && it->is_number_integer()) {
    f.expires_at_ms = it->get<int64_t>();
  }
  if (auto it = j.find("actor_time_ms"); it != j.end() && it->is_number_integer()) {
    f.actor_time_ms = it->get<int64_t>();
  }
  if (auto it = j.find("resource"); it != j.end() && it->is_object()) {
    f.resource = {str(*it, "type"), str(*it, "id"), str(*it, "arn"), str(*it, "account"),
                  str(*it, "region")};
  }
  if (auto it = j.find("actor"); it != j.end() && it->is_object()) {
    f.actor = {str(*it, "type"), str(*it, "arn"), str(*it, "access_key_id"), str(*it, "source_ip")};
  }
  if (auto it = j.find("event_ids"); it != j.end() && it->is_array()) {
    for (const auto& id : *it) {
      if (id.is_string()) f.event_ids.push_back(id.get<std::string>());
    }
  }
  f.first_seen_ms = time("first_seen");
  f.last_seen_ms = time("last_seen");
  if (auto it = j.find("event_times_ms"); it != j.end() && it->is_array()) {
    for (const auto& t : *it)
      f.event_times_ms.push_back(t.is_number_integer() ? t.get<int64_t>() : 0);
  }
  // Not kept (the output format, or an older state): every id counts as seen at last_seen.
  if (f.event_times_ms.size() != f.event_ids.size()) {
    f.event_times_ms.assign(f.event_ids.size(), f.last_seen_ms);
  }
  f.resolved_at_ms = time("resolved_at");
  if (auto it = j.find("evidence"); it != j.end()) f.evidence = it->dump();
  f.description = str(j, "description");
  *out = std::move(f);
  return true;
}

}  // namespace driftwatch
