#pragma once
// A problem found while loading a file people write (the service config, the policy, rule
// files): where it is, what kind it is, and what is wrong. Loaders report every problem at once;
// `driftwatch` prints them as text lines for people and `rules check --format json` as JSON for
// tools.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

namespace driftwatch {

// What kind of problem. The names (ProblemCodeName) are part of the JSON output: do not change
// them, add new ones.
enum class ProblemCode : uint8_t {
  kInvalid = 0,  // a value of the wrong type, out of bounds, or not allowed where it stands
  kUnreadable,   // the file or directory cannot be found or read
  kSyntax,       // not valid YAML
  kUnknownKey,   // a key the loader does not know here
  kDuplicate,    // a key, rule, list or macro given twice
  kMissing,      // something required is absent
  kUnknownName,  // a reference to a list, macro, rule, field, operator or API that does not exist
};

// "invalid", "unreadable", "syntax", "unknown-key", "duplicate", "missing", "unknown-name".
std::string_view ProblemCodeName(ProblemCode code);

struct Problem {
  ProblemCode code = ProblemCode::kInvalid;
  std::string file;     // "" when not from a file (built-in defaults, text in tests)
  int line = 0;         // 1-based, 0 when unknown
  int column = 0;       // 1-based, 0 when unknown (JSON only; the text line omits it)
  std::string key;      // config: dotted path, e.g. "kafka.batch_size"; "" when none
  std::string rule_id;  // rules: rule id, "list:NAME" or "macro:NAME"; "" when none
  std::string message;

  // A problem at `line` (0: unknown) of `file`, without key or rule.
  static Problem At(ProblemCode code, std::string file, int line, std::string message) {
    Problem p;
    p.code = code;
    p.file = std::move(file);
    p.line = line;
    p.message = std::move(message);
    return p;
  }
};

// "file:line: key: rule ID: message", each part left out when unknown or empty; a problem of
// no file reads "<config>" in its place. The lines the loaders have always printed.
std::string ProblemText(const Problem& p);
// {"file","line","rule_id","message","code","key","column"}, every field always present.
nlohmann::ordered_json ProblemJson(const Problem& p);

}  // namespace driftwatch
