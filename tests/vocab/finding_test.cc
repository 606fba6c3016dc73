#include "vocab/finding.h"

#include <gtest/gtest.h>

#include "vocab/time_util.h"

namespace driftwatch {
namespace {

TEST(TimeUtil, ParsesCloudTrailAndJavaStyleTimes) {
  int64_t ms = 0;
  ASSERT_TRUE(ParseTimestamp("2022-11-10T16:24:34Z", &ms));
  EXPECT_EQ(ms, 1668097474000);
  ASSERT_TRUE(ParseTimestamp("2022-11-10T16:24:34.250Z", &ms));
  EXPECT_EQ(ms, 1668097474250);
  ASSERT_TRUE(ParseTimestamp("2022-11-10T18:24:34+02:00", &ms));
  EXPECT_EQ(ms, 1668097474000);
  ASSERT_TRUE(ParseTimestamp("Jul 30, 2024 9:53:13 PM", &ms));
  EXPECT_EQ(FormatTimestamp(ms), "2024-07-30T21:53:13Z");
  ASSERT_TRUE(ParseTimestamp("Jul 30, 2024 12:03:00 AM", &ms));
  EXPECT_EQ(FormatTimestamp(ms), "2024-07-30T00:03:00Z");
  EXPECT_FALSE(ParseTimestamp("yesterday", &ms));
  EXPECT_FALSE(ParseTimestamp("2022-13-10T16:24:34Z", &ms));
  EXPECT_EQ(FormatTimestamp(1668097474250), "2022-11-10T16:24:34.250Z");
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTimestamp(253402300799007), "9999-12-31T23:59:59.007Z");
}

TEST(Finding, JsonRoundTripKeepsEveryField) {
  Finding f;
  f.rule_id = "network-sg-open-to-world";
  f.title = "Security group open to the world";
  f.category = Category::kNetwork;
  f.severity = Severity::kHigh;
  f.status = FindingStatus::kResolved;
  f.resolution = Resolution::kState;
  f.resolution_detail = R"({"event_id":"e2","event_name":"RevokeSecurityGroupIngress"})";
  f.resource = {"AWS::EC2::SecurityGroup", "sg-1", "arn:aws:ec2:us-east-1:1:security-group/sg-1",
                "111122223333", "us-east-1"};
  f.actor = {"IAMUser", "arn:aws:iam::111122223333:user/a", "AKIA1", "192.0.2.1"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  f.event_ids = {"e1", "e2"};
  f.first_seen_ms = 1668097474000;
  f.last_seen_ms = 1668097475000;
  f.resolved_at_ms = 1668097476000;
  f.evidence = R"({"cidr":"0.0.0.0/0","port":22})";
  f.description = "Remove the rule.";
  const std::string json = FindingToJson(f);
  EXPECT_NE(json.find("\"category\":\"network\""), std::string::npos);
  EXPECT_NE(json.find("\"resolved_at\":\"2022-11-10T16:24:36Z\""), std::string::npos);
  EXPECT_NE(json.find("\"kind\":\"posture\""), std::string::npos);
  EXPECT_NE(json.find("\"resolution\":\"state\""), std::string::npos);
  EXPECT_NE(json.find("\"resolution_detail\":{\"event_id\":\"e2\""), std::string::npos);
  Finding back;
  ASSERT_TRUE(FindingFromJson(json, &back));
  EXPECT_EQ(FindingToJson(back), json);
}

TEST(Finding, AnOpenEventFindingSaysItsKindAndNoResolution) {
  Finding f;
  f.rule_id = "identity-root-activity";
  f.kind = FindingKind::kEvent;
  f.expires_at_ms = 1668183874000;
  f.finding_id = "x";
  const std::string json = FindingToJson(f);
  EXPECT_NE(json.find("\"kind\":\"event\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"resolution\":null"), std::string::npos) << json;
  EXPECT_EQ(json.find("resolution_detail"), std::string::npos) << json;
  EXPECT_EQ(json.find("expires_at_ms"), std::string::npos) << "kept in state only: " << json;
  Finding back;
  ASSERT_TRUE(FindingFromJson(FindingToStoredJson(f), &back));
  EXPECT_EQ(back.kind, FindingKind::kEvent);
  EXPECT_EQ(back.expires_at_ms, f.expires_at_ms);
}

TEST(Finding, IdIsStableForRuleAndResourceOnly) {
  FindingResource a{"AWS::S3::Bucket", "b", "", "1", "us-east-1"};
  FindingResource b = a;
  EXPECT_EQ(MakeFindingId("r", a), MakeFindingId("r", b));
  b.id = "c";
  EXPECT_NE(MakeFindingId("r", a), MakeFindingId("r", b));
  EXPECT_NE(MakeFindingId("r", a), MakeFindingId("r2", a));
  EXPECT_EQ(MakeFindingId("r", a).size(), 16u);
}

TEST(Finding, OpenFindingHasNullResolvedAt) {
  Finding f;
  f.finding_id = "x";
  f.rule_id = "r";
  EXPECT_NE(FindingToJson(f).find("\"resolved_at\":null"), std::string::npos);
  EXPECT_FALSE(FindingFromJson("not json", &f));
  EXPECT_FALSE(FindingFromJson("{\"rule_id\":\"r\"}", &f));
}

}  // namespace
}  // namespace driftwatch
