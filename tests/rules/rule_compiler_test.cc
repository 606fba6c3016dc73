// Validation of rule files: every problem at once, with file:line, rule id and what is wrong.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules/rule_engine_impl.h"

namespace driftwatch {
namespace {

constexpr const char* kGoodRule = R"(
- rule: good-rule
  title: Good rule
  category: identity
  severity: low
  description: Something happened; do the thing about it.
  event: {source: iam.amazonaws.com, names: [CreateUser]}
)";

RuleLoadResult Check(const std::string& text, const Policy& policy = Policy()) {
  RuleLoadResult result;
  CompiledRuleEngine::LoadTexts({{"r.yaml", text}}, policy, &result);
  return result;
}

bool HasProblem(const RuleLoadResult& r, int line, const std::string& rule_id,
                const std::string& fragment) {
  for (const Problem& p : r.problems) {
    if (p.file == "r.yaml" && p.line == line && p.rule_id == rule_id &&
        p.message.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string Dump(const RuleLoadResult& r) { return r.ToText(); }

TEST(RuleCompilerTest, GoodRuleLoads) {
  RuleLoadResult r = Check(kGoodRule);
  EXPECT_TRUE(r.ok()) << Dump(r);
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_TRUE(r.rules[0].indexed);
  EXPECT_FALSE(r.rules[0].is_state);
}

TEST(RuleCompilerTest, ReportsEveryProblemAtOnceWithLines) {
  const char* text = R"(- rule: bad-one
  title: Bad one
  category: identiti
  severity: urgent
  description: Something happened; do the thing about it.
  colour: red
  event: {source: iam.amazonaws.com, names: [CreateUsr]}
  condition: {field: requestParameters.userName, looks_like: admin}
- rule: bad-two
  title: Bad two
  category: network
  severity: high
  description: Something happened; do the thing about it.
  event: {source: ec2.amazonaws.com, names: [AuthorizeSecurityGroupIngress]}
  condition: {field: sourceIPAddress, regex: "([a-z]"}
- rule: bad-one
  title: Duplicate
  category: network
  severity: high
  description: Something happened; do the thing about it.
  event: {source: nosuchservice.amazonaws.com, names: [Anything]}
)";
  RuleLoadResult r = Check(text);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasProblem(r, 3, "bad-one", "unknown category 'identiti'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 4, "bad-one", "unknown severity 'urgent'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 6, "bad-one", "unknown key 'colour'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 7, "bad-one", "eventName 'CreateUsr' is not an API of "
                                          "iam.amazonaws.com (did you mean 'CreateUser'?)"))
      << Dump(r);
  EXPECT_TRUE(HasProblem(r, 8, "bad-one", "unknown operator 'looks_like'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 15, "bad-two", "bad regex")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 21, "bad-one", "unknown eventSource 'nosuchservice.amazonaws.com'"))
      << Dump(r);
  EXPECT_GE(r.problems.size(), 7u);
}

TEST(RuleCompilerTest, DuplicateIdsNameTheFirstDefinition) {
  RuleLoadResult r;
  CompiledRuleEngine::LoadTexts({{"a.yaml", kGoodRule}, {"b.yaml", kGoodRule}}, Policy(), &r);
  ASSERT_EQ(r.problems.size(), 1u) << r.ToText();
  EXPECT_EQ(r.problems[0].file, "b.yaml");
  EXPECT_EQ(r.problems[0].rule_id, "good-rule");
  EXPECT_NE(r.problems[0].message.find("duplicate rule id (first defined at a.yaml:2)"),
            std::string::npos)
      << r.problems[0].message;
}

TEST(RuleCompilerTest, MissingPartsAndBadShapes) {
  const char* text = R"(- rule: Not_Lower
  severity: high
  event: {source: iam.amazonaws.com}
- rule: both
  title: Both
  category: logging
  severity: low
  description: Something happened; do the thing about it.
  event: {source: iam.amazonaws.com, names: [CreateUser]}
  state: {resource_types: ["AWS::IAM::User"]}
- rule: state-no-cond
  title: State
  category: logging
  severity: low
  description: Something happened; do the thing about it.
  state: {resource_types: [NotAType]}
- something: else
)";
  RuleLoadResult r = Check(text);
  EXPECT_TRUE(HasProblem(r, 1, "Not_Lower", "rule id must be lower-case")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 1, "Not_Lower", "missing 'title'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 1, "Not_Lower", "missing 'category'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 1, "Not_Lower", "missing 'description'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 1, "Not_Lower", "without event names needs a 'condition'"))
      << Dump(r);
  EXPECT_TRUE(HasProblem(r, 4, "both", "exactly one of 'event'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 11, "state-no-cond", "a state rule needs a 'condition'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 16, "state-no-cond", "'NotAType' is not a resource type")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 17, "", "expected one of 'rule', 'list', 'macro'")) << Dump(r);
}

TEST(RuleCompilerTest, UnknownFieldsListsMacrosAndPolicyNames) {
  const char* text = R"(- macro: loop
  condition: {macro: loop}
- rule: refs
  title: Refs
  category: identity
  severity: low
  description: Something happened; do the thing about it.
  event: {source: iam.amazonaws.com, names: [CreateUser]}
  condition:
    all:
      - {field: requestParameter.userName, equals: x}
      - {field: eventName, in: {list: nope}}
      - {field: eventName, in: {policy: favourite_regions}}
      - {macro: missing}
      - {macro: loop}
      - {field: sourceIPAddress, cidr_contains: 10.0.0.0/33}
      - {field: eventName, equals: a, prefix: b}
      - {field: "requestParameters.x.@nope", exists: true}
      - {field: eventName}
)";
  RuleLoadResult r = Check(text);
  EXPECT_TRUE(HasProblem(r, 11, "refs", "unknown field 'requestParameter.userName'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 12, "refs", "unknown list 'nope'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 13, "refs", "unknown policy value 'favourite_regions'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 14, "refs", "unknown macro 'missing'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 2, "refs", "refers to itself")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 16, "refs", "'10.0.0.0/33' is not an IPv4 or IPv6 CIDR")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 17, "refs", "one operator per condition")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 18, "refs", "unknown modifier '@nope'")) << Dump(r);
  EXPECT_TRUE(HasProblem(r, 19, "refs", "needs an operator")) << Dump(r);
}

TEST(RuleCompilerTest, YamlSyntaxErrorIsAProblemWithALine) {
  RuleLoadResult r = Check("- rule: x\n  title: [unclosed\n");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].file, "r.yaml");
  EXPECT_GT(r.problems[0].line, 0);
  EXPECT_NE(r.problems[0].message.find("YAML syntax error"), std::string::npos);
}

TEST(RuleCompilerTest, ProblemsCarryACode) {
  EXPECT_EQ(Check("- rule: x\n  title: [unclosed\n").problems.at(0).code, ProblemCode::kSyntax);
  RuleLoadResult r = Check("- rule: x\n  title: y\n  titel: z\n");
  bool unknown_key = false;
  for (const Problem& p : r.problems) unknown_key |= p.code == ProblemCode::kUnknownKey;
  EXPECT_TRUE(unknown_key) << Dump(r);
  EXPECT_NE(r.ToJson().find("\"code\":\"unknown-key\""), std::string::npos) << r.ToJson();
  RuleLoadResult missing;
  EXPECT_EQ(CompiledRuleEngine::Load({"/nonexistent/rules"}, Policy(), &missing), nullptr);
  EXPECT_EQ(missing.problems.at(0).code, ProblemCode::kUnreadable);
}

TEST(RuleCompilerTest, UnsetOptionalPolicyDisablesTheRuleButNotInExceptions) {
  const char* text = R"(- rule: region-check
  title: Region
  category: inventory
  severity: low
  description: Something happened; do the thing about it.
  event: {}
  condition: {field: region, not_in: {policy: approved_regions}}
- rule: admin-exception
  title: Admin
  category: identity
  severity: low
  description: Something happened; do the thing about it.
  event: {source: iam.amazonaws.com, names: [CreateUser]}
  exceptions: [{field: principal.arn, in: {policy: iam_admin_principals}}]
)";
  RuleLoadResult r = Check(text);
  ASSERT_TRUE(r.ok()) << Dump(r);
  ASSERT_EQ(r.rules.size(), 2u);
  EXPECT_FALSE(r.rules[0].enabled);
  EXPECT_EQ(r.rules[0].disabled_reason, "policy.approved_regions is not set");
  EXPECT_FALSE(r.rules[0].indexed);
  EXPECT_TRUE(r.rules[1].enabled);

  Policy policy;
  policy.has_approved_regions = true;
  policy.approved_regions = {"us-east-1"};
  r = Check(text, policy);
  EXPECT_TRUE(r.rules[0].enabled);
}

TEST(RuleCompilerTest, TrustedAmisBelongToTheAmiOwnerCheck) {
  const char* text = R"(- rule: ami-check
  title: AMI
  category: inventory
  severity: low
  description: Something happened; do the thing about it.
  state: {resource_types: ["AWS::EC2::Instance"]}
  condition: {field: configuration.imageId, not_in: {policy: trusted_amis}}
)";
  RuleLoadResult r = Check(text);
  ASSERT_TRUE(r.ok()) << Dump(r);
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_FALSE(r.rules[0].enabled) << "trusted_amis alone does not turn the AMI check on";
  EXPECT_EQ(r.rules[0].disabled_reason, "policy.trusted_ami_owners is not set");

  Policy policy;
  policy.has_trusted_ami_owners = true;
  policy.trusted_ami_owners = {"self"};
  r = Check(text, policy);
  EXPECT_TRUE(r.rules[0].enabled) << "an empty trusted_amis is a valid list";
}

TEST(RuleCompilerTest, JsonOutputForTools) {
  RuleLoadResult r = Check("- rule: x\n  title: y\n");
  const std::string json = r.ToJson();
  EXPECT_NE(json.find("\"ok\":false"), std::string::npos) << json;
  EXPECT_NE(json.find("\"problems\":[{\"file\":\"r.yaml\",\"line\":1,\"rule_id\":\"x\""),
            std::string::npos)
      << json;
}

TEST(RuleCompilerTest, MissingPathIsAProblem) {
  RuleLoadResult r;
  auto engine = CompiledRuleEngine::Load({"/nonexistent/rules"}, Policy(), &r);
  EXPECT_EQ(engine, nullptr);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems[0].message.find("no such file or directory"), std::string::npos);
}

}  // namespace
}  // namespace driftwatch

namespace driftwatch {
namespace {

// An event rule and a posture rule of one category on one resource type: one drift, one finding.
constexpr const char* kPair = R"(
- rule: sg-opened
  title: Group opened
  category: network
  severity: high
  description: Someone opened the group; revoke the permission.
  event: {source: ec2.amazonaws.com, names: [AuthorizeSecurityGroupIngress]}
  resource: {type: "AWS::EC2::SecurityGroup", id: requestParameters.groupId}
  LINK
- rule: sg-open
  title: Group open
  category: network
  severity: high
  description: The group is open to the world; close it.
  state: {resource_types: ["AWS::EC2::SecurityGroup"]}
  condition: {field: configuration.groupId, exists: true}
)";

RuleLoadResult CheckPair(const std::string& link) {
  std::string text = kPair;
  text.replace(text.find("LINK"), 4, link);
  return Check(text);
}

TEST(RuleCompilerTest, AnEventRuleAndAPostureRuleWatchingOneThingMustBePaired) {
  RuleLoadResult unpaired = CheckPair("");
  EXPECT_TRUE(HasProblem(unpaired, 2, "sg-opened", "both watch AWS::EC2::SecurityGroup unpaired"))
      << Dump(unpaired);
  RuleLoadResult paired = CheckPair("evidence_for: sg-open");
  EXPECT_TRUE(paired.ok()) << Dump(paired);
  ASSERT_EQ(paired.rules.size(), 2u);
  EXPECT_EQ(paired.rules[0].evidence_for, "sg-open");
  EXPECT_EQ(paired.rules[0].kind, FindingKind::kEvent);
  EXPECT_EQ(paired.rules[1].kind, FindingKind::kPosture);
  EXPECT_TRUE(CheckPair("kind: event").ok()) << "a point-in-time act of its own, said so";
  EXPECT_TRUE(CheckPair("evidence_for: {rule: sg-open, names: [AuthorizeSecurityGroupIngress]}")
                  .ok());
  RuleLoadResult wrong_name = CheckPair("evidence_for: {rule: sg-open, names: [CreateUser]}");
  EXPECT_TRUE(HasProblem(wrong_name, 9, "sg-opened", "'CreateUser' is not one of event.names"))
      << Dump(wrong_name);
  RuleLoadResult missing = CheckPair("evidence_for: no-such-rule");
  EXPECT_TRUE(HasProblem(missing, 2, "sg-opened", "evidence_for: no rule 'no-such-rule'"))
      << Dump(missing);
  RuleLoadResult posture_kind = CheckPair("kind: posture");
  EXPECT_TRUE(HasProblem(posture_kind, 9, "sg-opened", "kind: posture needs a state rule"))
      << Dump(posture_kind);
}

TEST(RuleCompilerTest, ExpireAfterIsADurationForEventFindingsOnly) {
  RuleLoadResult two_days = CheckPair("kind: event\n  expire_after: 2d");
  ASSERT_TRUE(two_days.ok()) << Dump(two_days);
  EXPECT_FALSE(CheckPair("kind: event\n  expire_after: soon").ok());
  EXPECT_TRUE(CheckPair("kind: event\n  expire_after: never").ok());
  std::string text = kPair;
  text.replace(text.find("LINK"), 4, "kind: event");
  text += "  expire_after: 1h\n";
  RuleLoadResult on_posture = Check(text);
  EXPECT_TRUE(HasProblem(on_posture, 17, "sg-open", "'expire_after' is for event findings"))
      << Dump(on_posture);
}

}  // namespace
}  // namespace driftwatch
