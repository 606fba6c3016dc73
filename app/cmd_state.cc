// `driftwatch state` and `driftwatch history`: questions asked of a state directory. The state
// is opened read-only, so both may run beside a replay or the service writing it.

#include <algorithm>
#include <climits>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/flags.h"
#include "app/wiring.h"
#include "state/retention.h"
#include "state/state_queries.h"
#include "state/state_store.h"
#include "vocab/event.h"
#include "vocab/json_parse.h"
#include "vocab/resource_key.h"
#include "vocab/time_util.h"

namespace driftwatch::app {
namespace {

using json = nlohmann::json;

json ParseOrNull(std::string_view text) {
  if (text.empty()) return nullptr;
  json j = ParseJson(text);
  return j.is_discarded() ? json(std::string(text)) : j;
}

std::string Field(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return std::string();
  return it->get<std::string>();
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

int RunState(const Args& args) {
  std::string dir, type, account, region, format = "table";
  int64_t at_ms = INT64_MAX;
  FlagParser flags("state", "resources in a state directory, as they are now or were at a time");
  flags.Flag(StateDirFlag(), &dir)
      .Time({.name = "--at",
             .help = "as they were at TIME (RFC 3339, e.g. 2024-05-01T03:12:00Z); answered from "
                     "history; default: now"},
            &at_ms)
      .Flag({.name = "--type",
             .value = "T",
             .needs = "a resource type",
             .help = "only resources of type T (e.g. AWS::EC2::SecurityGroup)"},
            &type)
      .Flag({.name = "--account",
             .value = "A",
             .needs = "an account id",
             .help = "only resources of account A"},
            &account)
      .Flag({.name = "--region",
             .value = "R",
             .needs = "a region",
             .help = "only resources in region R ('global' for IAM)"},
            &region)
      .Choice({.name = "--format", .help = "a table (default) or one document per line"},
              {"table", "ndjson"}, &format);
  if (auto done = flags.Parse(args)) return *done;
  std::unique_ptr<StateStore> store;
  Status s = OpenExistingStateStore(dir, &store);
  if (!s.ok()) return flags.Fail(s.message());
  if (at_ms != INT64_MAX) {
    // History before the horizon was dropped by retention: an answer from what is left would
    // miss resources and changes, so there is none.
    int64_t history_horizon = INT64_MIN, activity_horizon = INT64_MIN;
    s = StoredHorizons(store.get(), &history_horizon, &activity_horizon);
    if (!s.ok()) {
      std::fprintf(stderr, "driftwatch state: %s\n", s.message().c_str());
      return 2;
    }
    if (at_ms < history_horizon) {
      std::fprintf(stderr,
                   "driftwatch state: --at %s is before the history horizon %s: history older "
                   "than that was dropped by retention (state.history_retention_days); ask about "
                   "%s or later\n",
                   FormatTimestamp(at_ms).c_str(), FormatTimestamp(history_horizon).c_str(),
                   FormatTimestamp(history_horizon).c_str());
      return kExitPastHorizon;
    }
  }

  std::vector<std::vector<std::string>> rows;
  rows.push_back({"ACCOUNT", "REGION", "TYPE", "ID", "LAST CHANGE", "BY", "CREATED BY"});
  auto visit = [&](std::string_view key, std::string_view document) {
    ResourceKeyParts parts;
    if (!ParseResourceKey(key, &parts)) return true;
    if ((!account.empty() && parts.account != account) ||
        (!region.empty() && parts.region != region) || (!type.empty() && parts.type != type)) {
      return true;
    }
    if (format == "ndjson") {
      std::printf("%.*s\n", static_cast<int>(document.size()), document.data());
      return true;
    }
    const json doc = ParseJson(document);
    const json dw = doc.is_object() && doc.contains("driftwatch") ? doc["driftwatch"] : json();
    std::string by = dw.is_object() ? Field(dw, "lastChangedBy") : std::string();
    if (by.empty() && dw.is_object()) by = Field(dw, "source");
    rows.push_back({std::string(parts.account), std::string(parts.region),
                    std::string(parts.type), std::string(parts.id),
                    doc.is_object() ? Field(doc, "configurationItemCaptureTime") : "", by,
                    dw.is_object() ? Field(dw, "createdBy") : ""});
    return true;
  };
  s = at_ms == INT64_MAX ? store->ScanResources(visit) : ScanResourcesAt(store.get(), at_ms, visit);
  if (!s.ok()) {
    std::fprintf(stderr, "driftwatch state: %s\n", s.message().c_str());
    return 2;
  }
  if (format == "table") PrintTable(rows);
  return 0;
}

int RunHistory(const Args& args) {
  std::string dir, format = "table";
  std::vector<std::string> resources;
  bool documents = false;
  bool all = false;
  FlagParser flags("history",
                   "every change of one resource: time, action, principal, source IP, event id, "
                   "what changed, and whether it was applied (changes older than the document "
                   "are kept, not applied)");
  flags.Positional("RESOURCE", "a resource id, name or ARN (or --all)", 0, 1, &resources)
      .Flag(StateDirFlag(), &dir)
      .Switch({.name = "--all", .help = "every resource's history instead of one (no RESOURCE)"},
              &all)
      .Choice({.name = "--format", .help = "a table (default) or one JSON object per line"},
              {"table", "ndjson"}, &format)
      .Switch({.name = "--documents", .help = "ndjson: include each change's document after it"},
              &documents);
  if (auto done = flags.Parse(args)) return *done;
  const std::string resource = resources.empty() ? std::string() : resources.front();
  if (resource.empty() && !all) {
    return flags.Fail("RESOURCE (an id, name or ARN) or --all is required");
  }
  if (!resource.empty() && all) return flags.Fail("give RESOURCE or --all, not both");
  std::unique_ptr<StateStore> store;
  Status s = OpenExistingStateStore(dir, &store);
  if (!s.ok()) return flags.Fail(s.message());
  int64_t horizon = INT64_MIN, activity_horizon = INT64_MIN;
  s = StoredHorizons(store.get(), &horizon, &activity_horizon);
  if (!s.ok()) {
    std::fprintf(stderr, "driftwatch history: %s\n", s.message().c_str());
    return 2;
  }
  // Said whenever retention dropped something: any resource's history may reach past it.
  const std::string horizon_note =
      horizon == INT64_MIN
          ? std::string()
          : "changes before " + FormatTimestamp(horizon) +
                " were dropped by retention (state.history_retention_days); an entry before "
                "then is kept as the resource's state at the horizon";

  // Which resource keys the reference names: the id part of the key, or the resourceId,
  // resourceName or ARN of any document the resource ever had.
  std::vector<std::string> keys;
  auto matches_doc = [&](std::string_view text) {
    const json doc = ParseJson(text);
    if (!doc.is_object()) return false;
    return Field(doc, "ARN") == resource || Field(doc, "resourceId") == resource ||
           Field(doc, "resourceName") == resource;
  };
  s = store->ScanHistory("", [&](const HistoryEntry& e) {
    if (!keys.empty() && keys.back() == e.resource_key) return true;
    if (all) {
      keys.push_back(e.resource_key);
      return true;
    }
    ResourceKeyParts parts;
    if (!ParseResourceKey(e.resource_key, &parts)) return true;
    if (parts.id == resource || (!e.document_after.empty() && matches_doc(e.document_after))) {
      keys.push_back(e.resource_key);
    }
    return true;
  });
  if (!s.ok()) {
    std::fprintf(stderr, "driftwatch history: %s\n", s.message().c_str());
    return 2;
  }
  if (keys.empty() && !all) {
    std::fprintf(stderr, "driftwatch history: no resource '%s' in state %s%s%s\n",
                 resource.c_str(), dir.c_str(), horizon_note.empty() ? "" : "; ",
                 horizon_note.c_str());
    return 1;
  }
  if (!horizon_note.empty()) std::fprintf(stderr, "driftwatch history: %s\n", horizon_note.c_str());

  std::vector<std::vector<std::string>> rows;
  rows.push_back({"TIME", "ACTION", "PRINCIPAL", "SOURCE IP", "EVENT ID", "APPLIED", "CHANGE"});
  for (const std::string& key : keys) {
    if (format == "table" && keys.size() > 1) rows.push_back({"# " + key, "", "", "", "", "", ""});
    s = store->ScanHistory(key, [&](const HistoryEntry& e) {
      if (format == "ndjson") {
        json line = {{"resource", e.resource_key},
                     {"time", FormatTimestamp(e.time_ms)},
                     {"kind", std::string(EventKindName(e.kind))},
                     {"action", e.action},
                     {"principalArn", e.actor.arn},
                     {"principalType", e.actor.type},
                     {"accessKeyId", e.actor.access_key_id},
                     {"sourceIp", e.actor.source_ip},
                     {"eventId", e.event_id},
                     {"applied", e.applied},
                     {"deleted", e.deleted},
                     {"change", ParseOrNull(e.change)}};
        // Older than the history horizon: the resource's state as of then, not every change.
        if (e.time_ms < horizon) line["beforeHorizon"] = true;
        if (documents) line["documentAfter"] = ParseOrNull(e.document_after);
        std::printf("%s\n", line.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
        return true;
      }
      std::string principal = e.actor.arn.empty() ? e.actor.type : e.actor.arn;
      std::string change = e.change;
      if (change.size() > 160) change = change.substr(0, 157) + "...";
      rows.push_back({FormatTimestamp(e.time_ms), e.action, principal, e.actor.source_ip, e.event_id,
                      e.applied ? (e.deleted ? "deleted" : e.time_ms < horizon ? "yes (state at horizon)" : "yes")
                                : "no (older)",
                      change});
      return true;
    });
    if (!s.ok()) {
      std::fprintf(stderr, "driftwatch history: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (format == "table") PrintTable(rows);
  return 0;
}

}  // namespace driftwatch::app
