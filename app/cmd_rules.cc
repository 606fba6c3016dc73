// `driftwatch rules check [--config FILE] [--format table|json] [PATH...]`: validates rule
// files and reports every problem at once (file:line, rule id, what is wrong). With --config the
// file's policy is used, so rules it turns off show as disabled. Exit 0 clean, 1 problems,
// 2 usage or unreadable config.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/flags.h"
#include "app/wiring.h"
#include "config/policy.h"
#include "rules/rule_engine_impl.h"

namespace driftwatch::app {
namespace {

std::vector<std::string> RulePathsOrDefault(const std::vector<std::string>& given) {
  if (!given.empty()) return given;
  std::vector<std::string> paths = DefaultRulePaths();
  std::error_code ec;
  if (paths.size() == 1 && !std::filesystem::exists(paths.front(), ec)) {
    // Run from a build directory inside the source tree: look upwards for config/rules.
    std::filesystem::path dir = std::filesystem::current_path(ec);
    for (int i = 0; i < 4 && !dir.empty(); ++i, dir = dir.parent_path()) {
      const auto candidate = dir / "config" / "rules";
      if (std::filesystem::is_directory(candidate, ec)) return {candidate.string()};
      if (dir == dir.parent_path()) break;
    }
  }
  return paths;
}

void PrintTable(const RuleLoadResult& r) {
  if (!r.rules.empty()) {
    std::printf("%-48s %-6s %-16s %-9s %s\n", "RULE", "KIND", "CATEGORY", "SEVERITY", "STATUS");
    for (const RuleSummary& s : r.rules) {
      std::string status =
          s.enabled ? (s.indexed ? "ok" : "ok (unindexed)") : "disabled: " + s.disabled_reason;
      std::printf("%-48s %-6s %-16s %-9s %s\n", s.id.c_str(), s.is_state ? "state" : "event",
                  std::string(CategoryName(s.category)).c_str(),
                  std::string(SeverityName(s.severity)).c_str(), status.c_str());
    }
    std::printf("\n");
  }
  std::fputs(r.ToText().c_str(), r.ok() ? stdout : stderr);
}

// The `rules check` command line; `rules --help` shows the same usage.
FlagParser CheckFlags(std::string* format, std::string* config_path,
                      std::vector<std::string>* paths) {
  FlagParser flags("rules check", "validate rule files and report every problem at once");
  flags
      .Positional("PATH", "rule files or directories of *.yaml (default: the built-in pack)", 0,
                  SIZE_MAX, paths)
      .Flag({.name = "--config",
             .value = "FILE",
             .needs = "a file",
             .help = "take policy (approved regions, trusted accounts, ...) from this config "
                     "file"},
            config_path)
      .Choice({.name = "--format",
               .help = "table (default, for people) or json (one object, "
                       "for tools)"},
              {"table", "json"}, format)
      .Epilog("exit status: 0 no problems, 1 problems found, 2 usage error");
  return flags;
}

}  // namespace

int RunRules(const Args& args) {
  std::string format = "table";
  std::string config_path;
  std::vector<std::string> paths;
  FlagParser flags = CheckFlags(&format, &config_path, &paths);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    const std::string usage = flags.Usage();
    std::fputs(usage.c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "check") {
    std::fprintf(stderr, "driftwatch rules: unknown sub-command '%s' (only 'check'; see --help)\n",
                 args[0].c_str());
    return 2;
  }
  if (auto done = flags.Parse(Args(args.begin() + 1, args.end()))) return *done;
  Policy policy;
  if (!config_path.empty()) {
    std::vector<std::string> problems;
    Status s = LoadPolicy(config_path, &policy, &problems);
    if (!s.ok()) {
      for (const std::string& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
      std::fprintf(stderr, "driftwatch rules check: %s\n", s.message().c_str());
      return 2;
    }
  }
  RuleLoadResult result;
  auto engine = CompiledRuleEngine::Load(RulePathsOrDefault(paths), policy, &result);
  if (format == "json") {
    std::printf("%s\n", result.ToJson().c_str());
  } else {
    PrintTable(result);
  }
  return result.ok() ? 0 : 1;
}

}  // namespace driftwatch::app
