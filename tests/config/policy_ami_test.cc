// policy.trusted_amis: AMI ids trusted whatever their owner, validated like the other lists.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/policy_loader.h"

namespace driftwatch {
namespace {

TEST(PolicyAmiTest, TrustedAmisAndSelfLoad) {
  Policy p;
  std::vector<std::string> problems;
  Status s = LoadPolicyFromYaml(
      "policy:\n  trusted_ami_owners: [amazon, self, \"123456789012\"]\n"
      "  trusted_amis: [ami-0abcdef1234567890, ami-12345678]\n",
      "c.yaml", &p, &problems);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(p.has_trusted_ami_owners);
  EXPECT_EQ(p.trusted_ami_owners, (std::vector<std::string>{"amazon", "self", "123456789012"}));
  EXPECT_EQ(p.trusted_amis, (std::vector<std::string>{"ami-0abcdef1234567890", "ami-12345678"}));
}

TEST(PolicyAmiTest, BadAmiIdsAreReportedWithTheirLine) {
  Policy p;
  std::vector<std::string> problems;
  Status s = LoadPolicyFromYaml(
      "policy:\n  trusted_ami_owners: [amazon]\n  trusted_amis:\n    - ami-0abcdef12\n"
      "    - snap-0abcdef1234567890\n    - ami-xyz12345\n",
      "c.yaml", &p, &problems);
  EXPECT_FALSE(s.ok());
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("c.yaml:5: policy.trusted_amis: 'snap-0abcdef1234567890'"),
            std::string::npos)
      << problems[0];
  EXPECT_NE(problems[1].find("c.yaml:6:"), std::string::npos) << problems[1];
}

}  // namespace
}  // namespace driftwatch
