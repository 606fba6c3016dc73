#include "vocab/resource_key.h"

#include <gtest/gtest.h>

#include <string>

namespace driftwatch {
namespace {

TEST(ResourceKeyTest, MakeWritesTheStoredLayout) {
  EXPECT_EQ(MakeResourceKey("111122223333", "us-east-1", "AWS::EC2::SecurityGroup", "sg-0abc"),
            "111122223333|us-east-1|AWS::EC2::SecurityGroup|sg-0abc");
  std::string buffer = "kept:";
  AppendResourceKey(&buffer, "1", "global", "AWS::IAM::User", "alice");
  EXPECT_EQ(buffer, "kept:1|global|AWS::IAM::User|alice");
}

TEST(ResourceKeyTest, ParseGivesBackWhatMakeWasGiven) {
  const struct {
    const char *account, *region, *type, *id;
  } cases[] = {
      {"111122223333", "us-east-1", "AWS::EC2::SecurityGroup", "sg-0abc"},
      {"1", "global", "AWS::IAM::User", "alice"},
      {"1", "eu-west-1", "AWS::SSM::Parameter", "a|b||c|"},  // the id may hold '|'
      {"", "", "", ""},
      {"1", "us-east-1", "AWS::S3::Bucket", ""},
  };
  for (const auto& c : cases) {
    const std::string key = MakeResourceKey(c.account, c.region, c.type, c.id);
    ResourceKeyParts parts;
    ASSERT_TRUE(ParseResourceKey(key, &parts)) << key;
    EXPECT_EQ(parts.account, c.account) << key;
    EXPECT_EQ(parts.region, c.region) << key;
    EXPECT_EQ(parts.type, c.type) << key;
    EXPECT_EQ(parts.id, c.id) << key;
    EXPECT_EQ(MakeResourceKey(parts.account, parts.region, parts.type, parts.id), key);
  }
}

TEST(ResourceKeyTest, MalformedKeysGiveThePartsTheyHave) {
  const struct {
    const char *key, *account, *region, *type;
  } cases[] = {
      {"", "", "", ""},
      {"abc", "abc", "", ""},
      {"a|b", "a", "b", ""},
      {"a|b|c", "a", "b", "c"},
  };
  for (const auto& c : cases) {
    ResourceKeyParts parts;
    // What an earlier key left is overwritten.
    ASSERT_TRUE(ParseResourceKey("1|r|T|x", &parts));
    EXPECT_FALSE(ParseResourceKey(c.key, &parts)) << c.key;
    EXPECT_EQ(parts.account, c.account) << c.key;
    EXPECT_EQ(parts.region, c.region) << c.key;
    EXPECT_EQ(parts.type, c.type) << c.key;
    EXPECT_EQ(parts.id, "") << c.key;
  }
  // Three '|' make a key, even with empty parts.
  ResourceKeyParts parts;
  ASSERT_TRUE(ParseResourceKey("|||", &parts));
  EXPECT_EQ(parts.account, "");
  EXPECT_EQ(parts.id, "");
}

}  // namespace
}  // namespace driftwatch
