// `driftwatch incident` and `driftwatch timeline`: post-incident questions over a state
// directory (incident/incident.h).

#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/flags.h"
#include "app/wiring.h"
#include "incident/incident.h"
#include "state/retention.h"
#include "vocab/time_util.h"

namespace driftwatch::app {
namespace {

// A value that must not be empty (an empty selector would match every call without an actor).
FlagParser::OnValue NonEmpty(std::string* target) {
  return [target](const std::string& v) {
    if (v.empty()) return std::string("must not be empty");
    *target = v;
    return std::string();
  };
}

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

}  // namespace

int RunIncident(const Args& args) {
  std::string state_dir, format = "markdown";
  IncidentQuery q;
  auto selector = [&q](ActivityIndex by) -> FlagParser::OnValue {
    return [&q, by](const std::string& v) {
      if (v.empty()) return std::string("must not be empty");
      q.by = by;
      q.value = v;
      return std::string();
    };
  };
  FlagParser flags(
      "incident",
      "what one principal, access key, source IP or role session did in a window (event time, "
      "RFC 3339), following credentials it issued (AssumeRole*, GetSessionToken, "
      "CreateAccessKey): every call (failed ones too), resources created/modified/deleted and "
      "whether they still exist, access keys created, used, deleted or (de)activated, login "
      "profiles created, changed or deleted, policies, trust policies, findings opened, and what "
      "to undo.");
  flags.Flag(StateDirFlag(), &state_dir)
      .Flag({.name = "--principal", .value = "ARN", .needs = "an ARN", .help = "a principal"},
            selector(ActivityIndex::kPrincipal))
      .Flag({.name = "--access-key", .value = "ID", .needs = "a key id", .help = "an access key"},
            selector(ActivityIndex::kAccessKey))
      .Flag({.name = "--source-ip", .value = "IP", .needs = "an address", .help = "a source IP"},
            selector(ActivityIndex::kSourceIp))
      .Flag({.name = "--session",
             .value = "NAME",
             .needs = "a session name",
             .help = "a role session name"},
            selector(ActivityIndex::kSession))
      .ExactlyOneOf({"--principal", "--access-key", "--source-ip", "--session"})
      .Time({.name = "--from", .help = "the window's start (default: the beginning)"}, &q.from_ms)
      .Time({.name = "--to", .help = "the window's end (default: the end)"}, &q.to_ms)
      .Choice({.name = "--format",
               .value = "F",
               .help = "markdown (the report, default), ndjson (one JSON object per line) or "
                       "checklist (only the undo checklist)"},
              {"markdown", "ndjson", "checklist"}, &format)
      .Epilog(
          "Calls that changed nothing are known only for events replayed with the activity index "
          "(`driftwatch replay --state DIR`, on by default); the report says when it is "
          "missing.");
  if (auto done = flags.Parse(args)) return *done;
  if (q.from_ms > q.to_ms) return flags.Fail("--from is after --to");
  std::unique_ptr<StateStore> store;
  if (Status s = OpenExistingStateStore(state_dir, &store); !s.ok()) {
    return flags.Fail(s.message());
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
  std::string state_dir, format = "table";
  TimelineQuery q;
  FlagParser flags("timeline",
                   "one line per state change and per finding opened or resolved, in event-time "
                   "order");
  flags.Flag(StateDirFlag(), &state_dir)
      .Time({.name = "--from", .help = "the window's start", .required = true}, &q.from_ms)
      .Time({.name = "--to", .help = "the window's end", .required = true}, &q.to_ms)
      .Flag({.name = "--resource",
             .value = "R",
             .needs = "a resource",
             .help = "a resource key (account|region|type|id) or a bare id / name"},
            NonEmpty(&q.resource))
      .Flag(CategoryFlag(), CategoryValue(&q.category, &q.has_category))
      .Choice({.name = "--format", .help = "a table (default) or one JSON object per line"},
              {"table", "ndjson"}, &format);
  if (auto done = flags.Parse(args)) return *done;
  if (q.from_ms > q.to_ms) return flags.Fail("--from is after --to");
  std::unique_ptr<StateStore> store;
  if (Status s = OpenExistingStateStore(state_dir, &store); !s.ok()) {
    return flags.Fail(s.message());
  }
  int64_t history_horizon = INT64_MIN, activity_horizon = INT64_MIN;
  if (Status s = StoredHorizons(store.get(), &history_horizon, &activity_horizon); !s.ok()) {
    std::fprintf(stderr, "driftwatch timeline: %s\n", s.message().c_str());
    return 1;
  }
  if (q.from_ms < history_horizon) {
    std::fprintf(stderr,
                 "driftwatch timeline: changes before %s were dropped by retention "
                 "(state.history_retention_days): the window's lines before then are incomplete\n",
                 FormatTimestamp(history_horizon).c_str());
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
