#pragma once
// Compiles rule files (config/rule_file.h trees) into CompiledRules, reporting every problem at
// once with file:line, the rule id and what is wrong. Lists and macros are global across the
// files of one load, in any order. Policy values are bound at compile time; a rule whose
// condition needs a policy list that is unset (approved_regions, approved_resource_types,
// trusted_ami_owners, iam_admin_principals) is disabled, with the reason recorded. In exceptions,
// an unset list is simply empty.

#include <string>
#include <vector>

#include "config/policy.h"
#include "config/rule_file.h"
#include "rules/rule_model.h"
#include "vocab/problem.h"

namespace driftwatch {

struct CompiledRuleSet {
  std::vector<CompiledRule> rules;
  size_t cache_slots = 0;  // distinct single-valued root paths (RuleEvalContext cache size)
  int lists = 0;
  int macros = 0;
};

// `files` are (file name, parsed root) pairs. Problems are appended (rule_id: "" when not inside
// a rule; "list:NAME", "macro:NAME" for those); the set is usable only when none were added.
void CompileRules(const std::vector<std::pair<std::string, YamlNode>>& files, const Policy& policy,
                  CompiledRuleSet* out, std::vector<Problem>* problems);

// Names of the normalized Event fields rules may use (for documentation and messages).
std::vector<std::string> NormalizedFieldNames();

}  // namespace driftwatch
