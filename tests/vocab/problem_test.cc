#include "vocab/problem.h"

#include <gtest/gtest.h>

namespace driftwatch {
namespace {

TEST(ProblemTest, TextLeavesOutWhatIsUnknown) {
  Problem p = Problem::At(ProblemCode::kInvalid, "bad.yaml", 2, "must be an integer");
  p.key = "state.cache_mb";
  EXPECT_EQ(ProblemText(p), "bad.yaml:2: state.cache_mb: must be an integer");
  p.line = 0;
  EXPECT_EQ(ProblemText(p), "bad.yaml: state.cache_mb: must be an integer");
  p.key.clear();
  EXPECT_EQ(ProblemText(p), "bad.yaml: must be an integer");
  p.file.clear();
  EXPECT_EQ(ProblemText(p), "<config>: must be an integer");
}

TEST(ProblemTest, RuleProblemsNameTheRuleAndNotTheColumn) {
  Problem p = Problem::At(ProblemCode::kUnknownKey, "r.yaml", 4, "unknown key 'titel'");
  p.column = 3;
  p.rule_id = "x";
  EXPECT_EQ(ProblemText(p), "r.yaml:4: rule x: unknown key 'titel'");
  p.rule_id = "list:admins";
  EXPECT_EQ(ProblemText(p), "r.yaml:4: rule list:admins: unknown key 'titel'");
}

TEST(ProblemTest, JsonCarriesEveryFieldAndTheCodeName) {
  Problem p = Problem::At(ProblemCode::kSyntax, "r.yaml", 3, "YAML syntax error: \"bad\"");
  p.column = 7;
  EXPECT_EQ(ProblemJson(p).dump(),
            "{\"file\":\"r.yaml\",\"line\":3,\"rule_id\":\"\",\"message\":\"YAML syntax error: "
            "\\\"bad\\\"\",\"code\":\"syntax\",\"key\":\"\",\"column\":7}");
  EXPECT_EQ(ProblemJson(Problem{}).at("code"), "invalid");
}

TEST(ProblemTest, CodeNamesAreStable) {
  EXPECT_EQ(ProblemCodeName(ProblemCode::kInvalid), "invalid");
  EXPECT_EQ(ProblemCodeName(ProblemCode::kUnreadable), "unreadable");
  EXPECT_EQ(ProblemCodeName(ProblemCode::kSyntax), "syntax");
  EXPECT_EQ(ProblemCodeName(ProblemCode::kUnknownKey), "unknown-key");
  EXPECT_EQ(ProblemCodeName(ProblemCode::kDuplicate), "duplicate");
  EXPECT_EQ(ProblemCodeName(ProblemCode::kMissing), "missing");
  EXPECT_EQ(ProblemCodeName(ProblemCode::kUnknownName), "unknown-name");
}

}  // namespace
}  // namespace driftwatch
