// driftwatch: watches the customer's half of the AWS Shared Responsibility Model as a stream.
// The composition root: parses the sub-command and hands over to app/cmd_*.cc.

#include <cstdio>
#include <cstring>
#include <string>

#include "app/commands.h"

namespace {

constexpr const char* kUsage =
    "driftwatch " DW_VERSION
    " - drift monitor for the customer's side of the AWS Shared Responsibility Model\n"
    "\n"
    "usage: driftwatch COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  run [--config FILE]           the live service: Kafka in, findings and metrics out\n"
    "                                (no kafka.brokers: an embedded broker for trying it out)\n"
    "  replay INPUT...               run the pipeline over files, '-' or kafka://BROKERS/TOPIC\n"
    "  state --state DIR             resources as they are (or were, --at TIME)\n"
    "  history --state DIR RESOURCE  every change of one resource\n"
    "  findings --state DIR          findings kept in a state directory\n"
    "  findings close ID... --reason TEXT   close findings by hand, through the stream\n"
    "  rules check [PATH...]         validate rule files\n"
    "  incident --state DIR ...      what a principal, key, IP or session did and left behind\n"
    "  timeline --state DIR ...      state changes and findings in event-time order\n"
    "  version                       print the version\n"
    "\n"
    "Run 'driftwatch COMMAND --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  driftwatch::app::Args args(argv + 2, argv + argc);
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::printf("driftwatch %s\n", DW_VERSION);
    return 0;
  }
  if (command == "replay") return driftwatch::app::RunReplay(args);
  if (command == "run") return driftwatch::app::RunService(args);
  if (command == "state") return driftwatch::app::RunState(args);
  if (command == "history") return driftwatch::app::RunHistory(args);
  if (command == "findings") return driftwatch::app::RunFindings(args);
  if (command == "rules") return driftwatch::app::RunRules(args);
  if (command == "incident") return driftwatch::app::RunIncident(args);
  if (command == "timeline") return driftwatch::app::RunTimeline(args);
  std::fprintf(stderr, "driftwatch: unknown command '%s' (try 'driftwatch help')\n",
               command.c_str());
  return 2;
}
