#include "config/policy_loader.h"

#include <gtest/gtest.h>

namespace driftwatch {
namespace {

TEST(PolicyLoaderTest, DefaultsWhenAbsent) {
  Policy p;
  std::vector<std::string> problems;
  ASSERT_TRUE(LoadPolicyFromYaml("kafka: {}\n", "c.yaml", &p, &problems).ok());
  EXPECT_TRUE(problems.empty());
  EXPECT_FALSE(p.has_approved_regions);
  EXPECT_FALSE(p.has_trusted_ami_owners);
  EXPECT_TRUE(p.public_ports.empty());
  EXPECT_EQ(p.access_key_max_age_days, 90);
  EXPECT_EQ(p.unused_credential_days, 90);
}

TEST(PolicyLoaderTest, ReadsEveryKey) {
  const char* text = R"(
policy:
  approved_regions: [us-east-1, eu-west-1]
  approved_resource_types: ["AWS::EC2::Instance"]
  trusted_accounts: ["111122223333"]
  trusted_ami_owners: [amazon, "123456789012"]
  public_ports: [80, 443]
  access_key_max_age_days: 30
  unused_credential_days: 45
  iam_admin_principals: ["arn:aws:iam::111122223333:role/admin*"]
  suppressions:
    - rule: network-sg-open-to-world
      resource: sg-1
      reason: reviewed
    - tag: env=sandbox
      reason: sandbox
    - principal: arn:aws:iam::111122223333:role/ci
      tag: {key: team, value: infra}
      reason: ci
)";
  Policy p;
  std::vector<std::string> problems;
  Status s = LoadPolicyFromYaml(text, "c.yaml", &p, &problems);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(p.has_approved_regions);
  EXPECT_EQ(p.approved_regions, (std::vector<std::string>{"us-east-1", "eu-west-1"}));
  EXPECT_EQ(p.approved_resource_types.size(), 1u);
  EXPECT_EQ(p.trusted_accounts, std::vector<std::string>{"111122223333"});
  EXPECT_EQ(p.trusted_ami_owners.size(), 2u);
  EXPECT_EQ(p.public_ports, (std::vector<int>{80, 443}));
  EXPECT_EQ(p.access_key_max_age_days, 30);
  EXPECT_EQ(p.unused_credential_days, 45);
  EXPECT_TRUE(p.has_iam_admin_principals);
  ASSERT_EQ(p.suppressions.size(), 3u);
  EXPECT_EQ(p.suppressions[0].rule_id, "network-sg-open-to-world");
  EXPECT_EQ(p.suppressions[1].tag_key, "env");
  EXPECT_EQ(p.suppressions[1].tag_value, "sandbox");
  EXPECT_EQ(p.suppressions[2].tag_key, "team");
  EXPECT_EQ(p.suppressions[2].tag_value, "infra");
}

TEST(PolicyLoaderTest, EmptyListIsSetAndDiffersFromUnset) {
  Policy p;
  ASSERT_TRUE(LoadPolicyFromYaml("policy:\n  approved_regions: []\n", "c.yaml", &p, nullptr).ok());
  EXPECT_TRUE(p.has_approved_regions);
  EXPECT_TRUE(p.approved_regions.empty());
}

TEST(PolicyLoaderTest, ReportsEveryProblemWithFileAndLine) {
  const char* text =
      "policy:\n"                                  // 1
      "  approved_regions: [us-east-1, Mars]\n"    // 2
      "  trusted_accounts: [12345]\n"              // 3
      "  public_ports: [80, 70000]\n"              // 4
      "  access_key_max_age_days: 0\n"             // 5
      "  colour: blue\n"                           // 6
      "  suppressions:\n"                          // 7
      "    - reason: nothing selected\n"           // 8
      "    - rule: x\n";                           // 9
  Policy p;
  p.access_key_max_age_days = 7;
  std::vector<std::string> problems;
  Status s = LoadPolicyFromYaml(text, "svc.yaml", &p, &problems);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(p.access_key_max_age_days, 7) << "out is untouched on error";
  ASSERT_EQ(problems.size(), 7u);
  EXPECT_EQ(problems[0].rfind("svc.yaml:2: policy.approved_regions:", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind("svc.yaml:3: policy.trusted_accounts:", 0), 0u) << problems[1];
  EXPECT_EQ(problems[2].rfind("svc.yaml:4: policy.public_ports:", 0), 0u) << problems[2];
  EXPECT_EQ(problems[3].rfind("svc.yaml:5: policy.access_key_max_age_days:", 0), 0u);
  EXPECT_EQ(problems[4].rfind("svc.yaml:6: policy.colour: unknown key", 0), 0u) << problems[4];
  EXPECT_NE(problems[5].find("needs at least one of rule"), std::string::npos) << problems[5];
  EXPECT_NE(problems[6].find("needs a reason"), std::string::npos) << problems[6];
}

TEST(PolicyLoaderTest, UnusedCredentialDaysIsBounded) {
  for (const char* bad : {"0", "3651", "soon"}) {
    Policy p;
    std::vector<std::string> problems;
    const std::string text = std::string("policy:\n  unused_credential_days: ") + bad + "\n";
    EXPECT_FALSE(LoadPolicyFromYaml(text, "c.yaml", &p, &problems).ok()) << bad;
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_EQ(problems[0].rfind("c.yaml:2: policy.unused_credential_days:", 0), 0u) << problems[0];
  }
  Policy p;
  ASSERT_TRUE(
      LoadPolicyFromYaml("policy:\n  unused_credential_days: 3650\n", "c.yaml", &p, nullptr).ok());
  EXPECT_EQ(p.unused_credential_days, 3650);
}

TEST(PolicyLoaderTest, SyntaxErrorIsAProblem) {
  Policy p;
  std::vector<std::string> problems;
  EXPECT_FALSE(LoadPolicyFromYaml("policy: [\n", "x.yaml", &p, &problems).ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("x.yaml:", 0), 0u);
}

}  // namespace
}  // namespace driftwatch
