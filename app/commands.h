#pragma once
// One function per `driftwatch` sub-command. Each takes the arguments after the sub-command name
// and returns the process exit code: 0 success, 1 the command ran and found a problem (e.g. bad
// rules), 2 usage error or unreadable input (one line on stderr naming the culprit), 3 the
// question reaches past the retention horizon: what it needs was dropped (kExitPastHorizon).

#include <string>
#include <vector>

namespace driftwatch::app {

using Args = std::vector<std::string>;

// Exit status of a query whose answer would need records retention dropped (`state --at` before
// the history horizon); one line on stderr names the horizon.
inline constexpr int kExitPastHorizon = 3;

int RunReplay(const Args& args);    // app/cmd_replay.cc
int RunService(const Args& args);   // app/cmd_run.cc       `driftwatch run --config FILE`
int RunState(const Args& args);     // app/cmd_state.cc     `driftwatch state --state DIR ...`
int RunHistory(const Args& args);   // app/cmd_state.cc     `driftwatch history --state DIR R`
int RunFindings(const Args& args);  // app/cmd_findings.cc  `driftwatch findings --state DIR`
int RunFindingsClose(const Args& args);  // app/cmd_findings_close.cc  `findings close ID...`
int RunRules(const Args& args);     // app/cmd_rules.cc     `driftwatch rules check [PATH...]`
int RunIncident(const Args& args);  // app/cmd_incident.cc
int RunTimeline(const Args& args);  // app/cmd_incident.cc

}  // namespace driftwatch::app
