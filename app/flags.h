#pragma once
// The command line of one `driftwatch` sub-command, declared once: parsing, the usage text and
// the error messages all come from the declarations.
//
//   FlagParser flags("state", "resources in a state directory, as they are now or were at a time");
//   flags.Flag({.name = "--state", .value = "DIR", .needs = "a directory",
//               .help = "the state directory", .required = true}, &dir);
//   flags.Choice({.name = "--format", .help = "..."}, {"table", "ndjson"}, &format);
//   if (auto done = flags.Parse(args)) return *done;
//
// Accepted: `--flag VALUE`, `--flag=VALUE`, switches (`--quiet`, an alias such as `-q`),
// positional arguments, `--` (everything after it is positional), `--help` / `-h` (the usage on
// stdout, exit 0). Every usage error is one line on stderr, "driftwatch COMMAND: what is wrong",
// naming the flag, and exit code 2 (app/commands.h). A flag given twice keeps the last value,
// unless its callback collects them. Not thread-safe; one parser per command invocation.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.h"
#include "vocab/finding.h"

namespace driftwatch::app {

struct FlagSpec {
  std::string name{};   // "--state"
  std::string value{};  // placeholder in the usage, "DIR"; empty for a switch (Choice fills it in)
  std::string needs{};  // what the value is, for "--state needs a directory"; default "a value"
  std::string help{};   // the usage line(s); wrapped to 100 columns, '\n' starts a new paragraph
  bool required = false;  // "--state DIR is required" when absent
  std::string alias{};    // a short form, "-q"; empty for none
};

class FlagParser {
 public:
  // Takes a flag's value; returns "" when it is good, else what is wrong with it. The parser
  // puts the flag's name before it: "--flag must be ..." for a problem that starts with "must ",
  // else "--flag: 'x' is not ...".
  using OnValue = std::function<std::string(const std::string& value)>;

  // `command` names the sub-command in the usage and in errors ("rules check"); `description`
  // is the paragraph under the usage line (may be empty).
  FlagParser(std::string command, std::string description);

  FlagParser& Flag(FlagSpec spec, std::string* target);
  FlagParser& Flag(FlagSpec spec, OnValue on_value);
  // One of `choices`: "--format must be table or ndjson, not 'xml'". The placeholder defaults to
  // the choices joined by '|'.
  FlagParser& Choice(FlagSpec spec, std::vector<std::string> choices, std::string* target);
  // A whole number in [min, max].
  FlagParser& Integer(FlagSpec spec, int64_t min, int64_t max, int64_t* target);
  // A time as vocab/time_util.h ParseTimestamp reads it (RFC 3339), in ms since the epoch;
  // `given` (optional) is set when the flag appears.
  FlagParser& Time(FlagSpec spec, int64_t* target_ms, bool* given = nullptr);
  // Sets *target to `value` when the switch is given.
  FlagParser& Switch(FlagSpec spec, bool* target, bool value = true);
  // Positional arguments in order; fewer than `min` or more than `max` is a usage error.
  FlagParser& Positional(std::string name, std::string help, size_t min, size_t max,
                         std::vector<std::string>* target);
  // Exactly one of these (already declared) flags must be given, once.
  FlagParser& ExactlyOneOf(std::vector<std::string> names);
  // Text after the flag list (exit status, signals); wrapped like help.
  FlagParser& Epilog(std::string text);

  // Parses `args`. Returns nothing when the command should go on, or the exit code to return
  // now: 0 after --help, 2 after a usage error (already reported).
  [[nodiscard]] std::optional<int> Parse(const Args& args);

  // Reports a usage error found after parsing ("--from is after --to"); returns 2.
  int Fail(const std::string& message) const;
  std::string Usage() const;
  const std::string& command() const { return command_; }

  // Where usage and errors go; tests point these at memory streams.
  void set_streams(FILE* out, FILE* err) {
    out_ = out;
    err_ = err;
  }

 private:
  struct Declared {
    FlagSpec spec;
    OnValue on_value;              // value flags
    std::function<void()> on_set;  // switches
    int seen = 0;
  };
  struct PositionalSpec {
    std::string name, help;
    size_t min = 0, max = 0;
    std::vector<std::string>* target = nullptr;
  };

  FlagParser& Add(FlagSpec spec, OnValue on_value, std::function<void()> on_set);
  Declared* Find(const std::string& name);
  std::string Synopsis() const;
  int Error(const std::string& message) const;

  std::string command_, description_, epilog_;
  std::vector<Declared> flags_;
  std::vector<PositionalSpec> positionals_;
  std::vector<std::vector<std::string>> exactly_one_;
  FILE* out_ = stdout;
  FILE* err_ = stderr;
};

// Declarations several commands share, so that they read the same everywhere.
// `--state DIR`, required: the state directory a query command reads.
FlagSpec StateDirFlag();
// `--category C`, with CategoryValue: one of the finding categories into *out, *given set.
FlagSpec CategoryFlag();
FlagParser::OnValue CategoryValue(Category* out, bool* given);

}  // namespace driftwatch::app
