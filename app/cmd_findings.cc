// `driftwatch findings --state DIR [--status open|resolved] [--category C] [--severity S]
// [--rule ID] [--format table|ndjson]`: the findings kept in a state directory. Table for
// people (most severe, then most recent first), NDJSON in the finding format for tools.
// Exit 0 (also when nothing matches), 2 usage error or unreadable state.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/wiring.h"
#include "engine/finding.h"
#include "engine/time_util.h"

namespace driftwatch::app {
namespace {

constexpr const char* kFindingsUsage =
    "usage: driftwatch findings --state DIR [--status open|resolved] [--category C]\n"
    "                           [--severity S] [--rule ID] [--format table|ndjson]\n"
    "  --category  identity, network, data-protection, logging, inventory, patching\n"
    "  --severity  critical, high, medium, low, info (that severity and above)\n"
    "  --format    table (default, for people) or ndjson (the finding format, for tools)\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "driftwatch findings: %s\n%s", message.c_str(), kFindingsUsage);
  return 2;
}

std::string Truncate(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

}  // namespace

int RunFindings(const Args& args) {
  std::string state_dir, status, category, severity, rule, format = "table";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kFindingsUsage, stdout);
      return 0;
    }
    std::string* target = nullptr;
    if (a == "--state") target = &state_dir;
    if (a == "--status") target = &status;
    if (a == "--category") target = &category;
    if (a == "--severity") target = &severity;
    if (a == "--rule") target = &rule;
    if (a == "--format") target = &format;
    if (target == nullptr) return Usage("unknown argument '" + a + "'");
    if (i + 1 >= args.size()) return Usage(a + " needs a value");
    *target = args[++i];
  }
  if (state_dir.empty()) return Usage("--state DIR is required");
  if (!status.empty() && status != "open" && status != "resolved") {
    return Usage("--status is open or resolved, not '" + status + "'");
  }
  Category want_category = Category::kIdentity;
  if (!category.empty() && !ParseCategory(category, &want_category)) {
    return Usage("unknown category '" + category + "'");
  }
  Severity min_severity = Severity::kInfo;
  if (!severity.empty() && !ParseSeverity(severity, &min_severity)) {
    return Usage("unknown severity '" + severity + "'");
  }
  if (format != "table" && format != "ndjson" && format != "json") {
    return Usage("--format is table or ndjson, not '" + format + "'");
  }

  std::unique_ptr<StateStore> store;
  Status s = OpenExistingStateStore(state_dir, &store);
  if (!s.ok()) {
    std::fprintf(stderr, "driftwatch findings: %s\n", s.message().c_str());
    return 2;
  }
  std::vector<Finding> found;
  s = store->ScanFindings([&](const Finding& f) {
    if (!status.empty() && FindingStatusName(f.status) != status) return true;
    if (!category.empty() && f.category != want_category) return true;
    if (f.severity < min_severity) return true;
    if (!rule.empty() && f.rule_id != rule) return true;
    found.push_back(f);
    return true;
  });
  if (!s.ok()) {
    std::fprintf(stderr, "driftwatch findings: %s\n", s.message().c_str());
    return 2;
  }
  if (format != "table") {
    for (const Finding& f : found) std::printf("%s\n", FindingToJson(f).c_str());
    return 0;
  }
  std::stable_sort(found.begin(), found.end(), [](const Finding& a, const Finding& b) {
    if (a.status != b.status) return a.status == FindingStatus::kOpen;
    if (a.severity != b.severity) return a.severity > b.severity;
    return a.last_seen_ms > b.last_seen_ms;
  });
  std::printf("%-16s %-8s %-8s %-15s %-40s %-40s %s\n", "FINDING", "STATUS", "SEVERITY",
              "CATEGORY", "RULE", "RESOURCE", "LAST SEEN");
  for (const Finding& f : found) {
    const std::string resource = f.resource.type + " " + f.resource.id;
    std::printf("%-16s %-8s %-8s %-15s %-40s %-40s %s\n", f.finding_id.c_str(),
                std::string(FindingStatusName(f.status)).c_str(),
                std::string(SeverityName(f.severity)).c_str(),
                std::string(CategoryName(f.category)).c_str(), Truncate(f.rule_id, 40).c_str(),
                Truncate(resource, 40).c_str(),
                f.last_seen_ms == 0 ? "-" : FormatTimestamp(f.last_seen_ms).c_str());
  }
  std::printf("%zu finding(s)\n", found.size());
  return 0;
}

}  // namespace driftwatch::app
