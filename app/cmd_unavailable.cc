// Weak fall-backs so the binary links while a command's own file is not in the tree. A command
// with a real implementation (app/cmd_*.cc) overrides its fall-back at link time.

#include <cstdio>

#include "app/commands.h"

namespace driftwatch::app {
namespace {
int Unavailable(const char* name) {
  std::fprintf(stderr, "driftwatch: '%s' is not available in this build\n", name);
  return 2;
}
}  // namespace

__attribute__((weak)) int RunReplay(const Args&) { return Unavailable("replay"); }
__attribute__((weak)) int RunService(const Args&) { return Unavailable("run"); }
__attribute__((weak)) int RunState(const Args&) { return Unavailable("state"); }
__attribute__((weak)) int RunHistory(const Args&) { return Unavailable("history"); }
__attribute__((weak)) int RunFindings(const Args&) { return Unavailable("findings"); }
__attribute__((weak)) int RunRules(const Args&) { return Unavailable("rules"); }
__attribute__((weak)) int RunIncident(const Args&) { return Unavailable("incident"); }
__attribute__((weak)) int RunTimeline(const Args&) { return Unavailable("timeline"); }

}  // namespace driftwatch::app
