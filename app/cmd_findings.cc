// `driftwatch findings --state DIR [--status open|resolved] [--category C] [--severity S]
// [--rule ID] [--format table|ndjson|ocsf]`: the findings kept in a state directory. Table for
// people (most severe, then most recent first), NDJSON in the finding format or OCSF for tools.
// Exit 0 (also when nothing matches), 2 usage error or unreadable state.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/flags.h"
#include "app/wiring.h"
#include "exporters/ocsf.h"
#include "vocab/finding.h"
#include "vocab/time_util.h"

namespace driftwatch::app {
namespace {

std::string Truncate(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

}  // namespace

int RunFindings(const Args& args) {
  if (!args.empty() && args.front() == "close") {
    return RunFindingsClose(Args(args.begin() + 1, args.end()));
  }
  std::string state_dir, status, severity, rule, format = "table";
  bool has_category = false;
  Category want_category = Category::kIdentity;
  Severity min_severity = Severity::kInfo;
  FlagParser flags("findings", "the findings kept in a state directory");
  flags.Flag(StateDirFlag(), &state_dir)
      .Choice({.name = "--status", .help = "only findings with this status"}, {"open", "resolved"},
              &status)
      .Flag(CategoryFlag(), CategoryValue(&want_category, &has_category))
      .Flag({.name = "--severity",
             .value = "S",
             .needs = "a severity",
             .help = "critical, high, medium, low, info (that severity and above)"},
            [&](const std::string& v) {
              severity = v;
              return ParseSeverity(v, &min_severity) ? "" : "unknown severity '" + v + "'";
            })
      .Flag({.name = "--rule", .value = "ID", .needs = "a rule id", .help = "only this rule's"},
            &rule)
      .Flag({.name = "--format",
             .value = "table|ndjson|ocsf",
             .help = "table (default, for people), ndjson (the finding format, for tools) or "
                     "ocsf (one OCSF 1.8.0 object per finding, as of its current status)"},
            [&](const std::string& v) {
              // "json" is the old name of ndjson, still accepted.
              if (v != "table" && v != "ndjson" && v != "json" && v != "ocsf") {
                return "must be table, ndjson or ocsf, not '" + v + "'";
              }
              format = v;
              return std::string();
            })
      .Epilog("exit status: 0 (also when nothing matches), 2 usage error or unreadable state");
  if (auto done = flags.Parse(args)) return *done;

  std::unique_ptr<StateStore> store;
  Status s = OpenExistingStateStore(state_dir, &store);
  if (!s.ok()) {
    std::fprintf(stderr, "driftwatch findings: %s\n", s.message().c_str());
    return 2;
  }
  std::vector<Finding> found;
  s = store->ScanFindings([&](const Finding& f) {
    if (!status.empty() && FindingStatusName(f.status) != status) return true;
    if (has_category && f.category != want_category) return true;
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
    const FindingFormat as = format == "ocsf" ? FindingFormat::kOcsf : FindingFormat::kDriftwatch;
    for (const Finding& f : found) std::printf("%s\n", FindingText(f, as).c_str());
    return 0;
  }
  std::stable_sort(found.begin(), found.end(), [](const Finding& a, const Finding& b) {
    if (a.status != b.status) return a.status == FindingStatus::kOpen;
    if (a.severity != b.severity) return a.severity > b.severity;
    return a.last_seen_ms > b.last_seen_ms;
  });
  std::printf("%-16s %-8s %-8s %-7s %-15s %-40s %-40s %s\n", "FINDING", "STATUS", "SEVERITY",
              "KIND", "CATEGORY", "RULE", "RESOURCE", "LAST SEEN");
  for (const Finding& f : found) {
    const std::string resource = f.resource.type + " " + f.resource.id;
    std::printf("%-16s %-8s %-8s %-7s %-15s %-40s %-40s %s\n", f.finding_id.c_str(),
                std::string(FindingStatusName(f.status)).c_str(),
                std::string(SeverityName(f.severity)).c_str(),
                std::string(FindingKindName(f.kind)).c_str(),
                std::string(CategoryName(f.category)).c_str(), Truncate(f.rule_id, 40).c_str(),
                Truncate(resource, 40).c_str(),
                f.last_seen_ms == 0 ? "-" : FormatTimestamp(f.last_seen_ms).c_str());
  }
  std::printf("%zu finding(s)\n", found.size());
  return 0;
}

}  // namespace driftwatch::app
