#include "vocab/problem.h"

namespace driftwatch {

std::string_view ProblemCodeName(ProblemCode code) {
  switch (code) {
    case ProblemCode::kInvalid:
      return "invalid";
    case ProblemCode::kUnreadable:
      return "unreadable";
    case ProblemCode::kSyntax:
      return "syntax";
    case ProblemCode::kUnknownKey:
      return "unknown-key";
    case ProblemCode::kDuplicate:
      return "duplicate";
    case ProblemCode::kMissing:
      return "missing";
    case ProblemCode::kUnknownName:
      return "unknown-name";
  }
  return "invalid";
}

std::string ProblemText(const Problem& p) {
  std::string s = p.file.empty() ? "<config>" : p.file;
  if (p.line > 0) s += ":" + std::to_string(p.line);
  s += ": ";
  if (!p.key.empty()) s += p.key + ": ";
  if (!p.rule_id.empty()) s += "rule " + p.rule_id + ": ";
  s += p.message;
  return s;
}

nlohmann::ordered_json ProblemJson(const Problem& p) {
  return {{"file", p.file},
          {"line", p.line},
          {"rule_id", p.rule_id},
          {"message", p.message},
          {"code", std::string(ProblemCodeName(p.code))},
          {"key", p.key},
          {"column", p.column}};
}

}  // namespace driftwatch
