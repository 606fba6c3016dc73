// `driftwatch incident` and `driftwatch timeline`: post-incident questions over a state
// directory (engine/incident.h).

#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/wiring.h"
#include "engine/incident.h"
#include "engine/time_util.h"

namespace driftwatch::app {
namespace {

constexpr const char* kIncidentUsage =
    "usage: driftwatch incident --state DIR (--principal ARN | --access-key ID | --source-ip IP\n"
    "                           | --session NAME) [--from TIME] [--to TIME] [--format F]\n"
    "  what one principal, access key, source IP or role session did in a window (event time,\n"
    "  RFC 3339), following credentials it issued (AssumeRole*, GetSessionToken, CreateAccessKey):\n"
    "  every call (failed ones too), resources created/modified/deleted and whether they still\n"
    "  exist, access keys created, used, deleted or (de)activated, login profiles created,\n"
    "  changed or deleted, policies, trust policies, findings opened, and what to undo.\n"
    "  --format markdown|ndjson|checklist   the report (default markdown), one JSON object per\n"
    "                       line, or only the undo checklist\n"
    "  Calls that changed nothing are known only for events replayed with the activity index\n"
    "  (`driftwatch replay --state DIR`, on by default); the report says when it is missing.\n";

constexpr const char* kTimelineUsage =
    "usage: driftwatch timeline --state DIR --from TIME --to TIME [--resource R] [--category C]\n"
    "                           [--format table|ndjson]\n"
    "  one line per state change and per finding opened or resolved, in event-time order\n"
    "  --resource R         a resource key (account|region|type|id) or a bare id / name\n"
    "  --category C         identity, network, data-protection, logging, inventory, patching\n";

int Usage(const char* command, const std::string& message) {
  std::fprintf(stderr, "driftwatch %s: %s\n", command, message.c_str());
  return 2;
}

bool ParseTime(const std::string& text, int64_t* out) { return ParseTimestamp(text, out); }

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

}  // namespace

int RunIncident(const Args& args) {
  const char* cmd = "incident";
  std::string state_dir, format = "markdown";
  IncidentQuery q;
  int selectors = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) -> bool {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kIncidentUsage, stdout);
      return 0;
    } else if (a == "--state") {
      if (!value(&state_dir)) return Usage(cmd, "--state needs a directory");
    } else if (a == "--principal" || a == "--access-key" || a == "--source-ip" ||
               a == "--session") {
      if (!value(&q.value) || q.value.empty()) return Usage(cmd, a + " needs a value");
      q.by = a == "--principal"    ? ActivityIndex::kPrincipal
             : a == "--access-key" ? ActivityIndex::kAccessKey
             : a == "--source-ip"  ? ActivityIndex::kSourceIp
                                   : ActivityIndex::kSession;
      ++selectors;
    } else if (a == "--from" || a == "--to") {
      if (!value(&v)) return Usage(cmd, a + " needs a time");
      if (!ParseTime(v, a == "--from" ? &q.from_ms : &q.to_ms)) {
        return Usage(cmd, a + ": '" + v + "' is not a time (e.g. 2026-11-02T03:00:00Z)");
      }
    } else if (a == "--format") {
      if (!value(&format)) return Usage(cmd, "--format needs a value");
      if (format != "markdown" && format != "ndjson" && format != "checklist") {
        return Usage(cmd, "--format must be markdown, ndjson or checklist, not '" + format + "'");
      }
    } else {
      return Usage(cmd, "unknown argument '" + a + "' (see --help)");
    }
  }
  if (state_dir.empty()) return Usage(cmd, "--state DIR is required");
  if (selectors != 1) {
    return Usage(cmd, "give exactly one of --principal, --access-key, --source-ip, --session");
  }
  if (q.from_ms > q.to_ms) return Usage(cmd, "--from is after --to");
  std::unique_ptr<StateStore> store;
  if (Status s = OpenExistingStateStore(state_dir, &store); !s.ok()) {
    return Usage(cmd, s.message());
  }
  IncidentReport report;
  if (Status s = BuildIncidentReport(store.get(), q, &report); !s.ok()) {
    std::fprintf(stderr, "driftwatch incident: %s\n", s.message().c_str());
    return 1;
  }
  if (format == "ndjson") {
    Print(IncidentToNdjson(report));
  } else if (format == "checklist") {
    Print(IncidentToChecklist(report));
  } else {
    Print(IncidentToMarkdown(report));
  }
  return 0;
}

int RunTimeline(const Args& args) {
  const char* cmd = "timeline";
  std::string state_dir, format = "table";
  TimelineQuery q;
  bool have_from = false, have_to = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) -> bool {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kTimelineUsage, stdout);
      return 0;
    } else if (a == "--state") {
      if (!value(&state_dir)) return Usage(cmd, "--state needs a directory");
    } else if (a == "--from" || a == "--to") {
      if (!value(&v)) return Usage(cmd, a + " needs a time");
      if (!ParseTime(v, a == "--from" ? &q.from_ms : &q.to_ms)) {
        return Usage(cmd, a + ": '" + v + "' is not a time (e.g. 2026-11-02T03:00:00Z)");
      }
      (a == "--from" ? have_from : have_to) = true;
    } else if (a == "--resource") {
      if (!value(&q.resource) || q.resource.empty()) return Usage(cmd, "--resource needs a value");
    } else if (a == "--category") {
      if (!value(&v)) return Usage(cmd, "--category needs a value");
      if (!ParseCategory(v, &q.category)) {
        return Usage(cmd, "--category: unknown category '" + v + "'");
      }
      q.has_category = true;
    } else if (a == "--format") {
      if (!value(&format)) return Usage(cmd, "--format needs a value");
      if (format != "table" && format != "ndjson") {
        return Usage(cmd, "--format must be table or ndjson, not '" + format + "'");
      }
    } else {
      return Usage(cmd, "unknown argument '" + a + "' (see --help)");
    }
  }
  if (state_dir.empty()) return Usage(cmd, "--state DIR is required");
  if (!have_from || !have_to) return Usage(cmd, "--from and --to are required");
  if (q.from_ms > q.to_ms) return Usage(cmd, "--from is after --to");
  std::unique_ptr<StateStore> store;
  if (Status s = OpenExistingStateStore(state_dir, &store); !s.ok()) {
    return Usage(cmd, s.message());
  }
  std::vector<TimelineLine> lines;
  if (Status s = BuildTimeline(store.get(), q, &lines); !s.ok()) {
    std::fprintf(stderr, "driftwatch timeline: %s\n", s.message().c_str());
    return 1;
  }
  Print(format == "ndjson" ? TimelineToNdjson(lines) : TimelineToTable(lines));
  return 0;
}

}  // namespace driftwatch::app
