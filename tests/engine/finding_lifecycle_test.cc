// One drift, one finding; every finding closes. Scenarios of every category run through the real
// decoder, appliers, state and the built-in pack: a standing drift is exactly one open finding on
// its resource (a posture finding carrying the call that made it), an undone one leaves nothing
// open but event findings, event findings expire in event time or are closed by hand, and the
// outcome does not depend on arrival order, duplicates, envelopes or batch boundaries.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/memory_store.h"
#include "tests/engine/sample_records.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;
using testing_samples::Call;
using testing_samples::PackRun;
using testing_samples::RecordMaker;

const std::string kSourceDir = DW_SOURCE_DIR;

Policy ScenarioPolicy() {
  Policy p;
  p.trusted_accounts = {"222233334444"};
  p.public_ports = {80, 443};
  p.access_key_max_age_days = 90;
  return p;
}

json SgPermission(int port) {
  return {{"items",
           {{{"ipProtocol", "tcp"},
             {"fromPort", port},
             {"toPort", port},
             {"ipRanges", {{"items", {{{"cidrIp", "0.0.0.0/0"}}}}}}}}}};
}

json Authorize(const std::string& group) {
  return Call("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
              {{"groupId", group}, {"ipPermissions", SgPermission(22)}});
}

json Revoke(const std::string& group) {
  return Call("ec2.amazonaws.com", "RevokeSecurityGroupIngress",
              {{"groupId", group}, {"ipPermissions", SgPermission(22)}});
}

class Scenario {
 public:
  explicit Scenario(size_t batch_size = 1)
      : batch_size_(batch_size), run_(kSourceDir + "/config/rules", ScenarioPolicy()) {}

  // Turns sample records into bytes (times one minute apart, in the order given).
  std::vector<std::string> Make(const std::vector<json>& records) {
    std::vector<std::string> out;
    for (const json& r : records) out.push_back(run_.maker().Make(r));
    return out;
  }

  void FeedBytes(const std::vector<std::string>& records) { run_.FeedBytes(records, batch_size_); }
  void Feed(const std::vector<json>& records) { FeedBytes(Make(records)); }

  std::vector<Finding> Open() {
    std::vector<Finding> open;
    EXPECT_TRUE(run_.store()
                    .ScanFindings([&](const Finding& f) {
                      if (f.status == FindingStatus::kOpen) open.push_back(f);
                      return true;
                    })
                    .ok());
    return open;
  }
  std::vector<Finding> OpenPosture() {
    std::vector<Finding> out;
    for (const Finding& f : Open()) {
      if (f.kind == FindingKind::kPosture) out.push_back(f);
    }
    return out;
  }
  Finding Stored(const std::string& id) {
    Finding f;
    Status s = run_.store().GetFinding(id, &f);
    EXPECT_TRUE(s.ok()) << id << ": " << s.ToString();
    return f;
  }
  // Every status change emitted, as "rule status resolution" lines.
  std::vector<std::string> Emitted() const {
    std::vector<std::string> out;
    for (const Finding& f : run_.emitted()) {
      out.push_back(f.rule_id + " " + std::string(FindingStatusName(f.status)) + " " +
                    std::string(ResolutionName(f.resolution)) + " " + f.resource.id);
    }
    return out;
  }
  const std::vector<Finding>& emitted() const { return run_.emitted(); }

 private:
  size_t batch_size_;
  PackRun run_;
};

std::string EventRuleOf(const Finding& f) {
  json evidence = json::parse(f.evidence, nullptr, false);
  if (!evidence.is_object() || !evidence.contains("event")) return "";
  return evidence["event"].value("event_rule", "");
}

TEST(FindingLifecycleTest, SecurityGroupOpenedIsOneFindingWithTheCallThatOpenedItAndRevokeClosesIt) {
  Scenario s;
  s.Feed({Authorize("sg-1")});
  std::vector<Finding> open = s.Open();
  ASSERT_EQ(open.size(), 1u) << s.Emitted().size();
  EXPECT_EQ(open[0].rule_id, "network-sg-open-to-world");
  EXPECT_EQ(open[0].kind, FindingKind::kPosture);
  EXPECT_EQ(open[0].resource.id, "sg-1");
  EXPECT_EQ(EventRuleOf(open[0]), "network-sg-ingress-opened-to-world");
  EXPECT_EQ(open[0].actor.arn, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(open[0].event_ids.size(), 1u);

  s.Feed({Revoke("sg-1")});
  EXPECT_TRUE(s.Open().empty());
  ASSERT_EQ(s.emitted().size(), 2u);
  const Finding& resolved = s.emitted().back();
  EXPECT_EQ(resolved.status, FindingStatus::kResolved);
  EXPECT_EQ(resolved.resolution, Resolution::kState);
  json detail = json::parse(resolved.resolution_detail);
  EXPECT_EQ(detail["event_name"], "RevokeSecurityGroupIngress");
  EXPECT_EQ(detail["event_id"], resolved.event_ids.back());
}

TEST(FindingLifecycleTest, APostureFindingNamesWhoMadeTheDriftNotWhoTouchedItSince) {
  Scenario s;
  json tag = Call("ec2.amazonaws.com", "CreateTags",
                  {{"resourcesSet", {{"items", {{{"resourceId", "sg-7"}}}}}},
                   {"tagSet", {{"items", {{{"key", "owner"}, {"value", "web"}}}}}}});
  tag["userIdentity"] = {{"type", "AssumedRole"},
                         {"arn", "arn:aws:sts::111122223333:assumed-role/SecurityOps/bob"},
                         {"accountId", "111122223333"}};
  json second = Call("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
                     {{"groupId", "sg-7"}, {"ipPermissions", SgPermission(3389)}});
  second["userIdentity"] = tag["userIdentity"];
  s.Feed({Authorize("sg-7"), tag, second});
  std::vector<Finding> open = s.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].actor.arn, "arn:aws:iam::111122223333:user/alice");
  json evidence = json::parse(open[0].evidence);
  EXPECT_EQ(evidence["event"]["event_rule"], "network-sg-ingress-opened-to-world");
  EXPECT_EQ(evidence["event"]["requestParameters.ipPermissions.items"]["fromPort"], 22)
      << "the call that opened the group: " << open[0].evidence;
  EXPECT_GE(open[0].event_ids.size(), 2u);  // both authorizations
}

TEST(FindingLifecycleTest, RevokeArrivingBeforeTheAuthorizeLeavesNothingOpen) {
  Scenario s;
  std::vector<std::string> bytes = s.Make({Authorize("sg-2"), Revoke("sg-2")});
  s.FeedBytes({bytes[1], bytes[0]});  // the revoke (later event time) arrives first
  EXPECT_TRUE(s.Open().empty());
  // The late authorize is put in its place in the group's history: the group was open between
  // the two calls, which the posture finding records (opened, resolved by the revoke); the event
  // rule adds nothing of its own.
  for (const Finding& f : s.emitted()) {
    EXPECT_EQ(f.rule_id, "network-sg-open-to-world") << FindingToJson(f);
  }
  ASSERT_LE(s.emitted().size(), 2u);
  if (s.emitted().size() == 2) {
    EXPECT_EQ(s.emitted()[1].resolution, Resolution::kState);
    EXPECT_EQ(json::parse(s.emitted()[1].resolution_detail)["event_name"],
              "RevokeSecurityGroupIngress");
  }
}

TEST(FindingLifecycleTest, OneCallDeliveredTwiceThroughTwoEnvelopesIsOneFinding) {
  Scenario s;
  std::vector<std::string> bytes = s.Make({Authorize("sg-3"), Revoke("sg-3")});
  json record = json::parse(bytes[0]);
  const std::string eventbridge = json({{"version", "0"},
                                        {"id", "6f3f6a9e-1111-2222-3333-444455556666"},
                                        {"detail-type", "AWS API Call via CloudTrail"},
                                        {"source", "aws.ec2"},
                                        {"account", "111122223333"},
                                        {"time", record["eventTime"]},
                                        {"region", "us-east-1"},
                                        {"resources", json::array()},
                                        {"detail", record}})
                                      .dump();
  s.FeedBytes({bytes[0], eventbridge});
  ASSERT_EQ(s.Open().size(), 1u);
  EXPECT_EQ(s.emitted().size(), 1u);
  s.FeedBytes({eventbridge, bytes[1]});
  EXPECT_TRUE(s.Open().empty());
  EXPECT_EQ(s.emitted().size(), 2u);
}

TEST(FindingLifecycleTest, BucketMadePublicAndPrivateAgain) {
  Scenario s;
  const json bucket = {{"bucketName", "exports"}};
  s.Feed({Call("s3.amazonaws.com", "CreateBucket", bucket),
          Call("s3.amazonaws.com", "DeleteBucketPublicAccessBlock", bucket),
          Call("s3.amazonaws.com", "PutBucketPolicy",
               {{"bucketName", "exports"},
                {"bucketPolicy",
                 {{"Version", "2012-10-17"},
                  {"Statement",
                   {{{"Effect", "Allow"},
                     {"Principal", "*"},
                     {"Action", "s3:GetObject"},
                     {"Resource", "arn:aws:s3:::exports/*"}}}}}}})});
  std::map<std::string, int> rules;
  for (const Finding& f : s.Open()) ++rules[f.rule_id];
  EXPECT_EQ(rules["data-s3-bucket-public-by-policy"], 1);
  EXPECT_EQ(rules["data-s3-public-access-block-removed"], 1);
  EXPECT_EQ(rules.count("data-s3-bucket-policy-public"), 0u) << "one drift, one finding";

  const json block = {{"BlockPublicAcls", true},
                      {"IgnorePublicAcls", true},
                      {"BlockPublicPolicy", true},
                      {"RestrictPublicBuckets", true}};
  s.Feed({Call("s3.amazonaws.com", "DeleteBucketPolicy", bucket),
          Call("s3.amazonaws.com", "PutBucketPublicAccessBlock",
               {{"bucketName", "exports"}, {"PublicAccessBlockConfiguration", block}})});
  EXPECT_TRUE(s.OpenPosture().empty());
  for (const Finding& f : s.Open()) EXPECT_EQ(f.kind, FindingKind::kEvent) << f.rule_id;
}

TEST(FindingLifecycleTest, TrailStoppedByArnAndStartedByNameIsOneResource) {
  Scenario s;
  const std::string arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-audit";
  s.Feed({Call("cloudtrail.amazonaws.com", "StopLogging", {{"name", arn}})});
  std::vector<Finding> open = s.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].rule_id, "logging-trail-not-logging");
  EXPECT_EQ(open[0].resource.id, "org-audit");
  EXPECT_EQ(open[0].severity, Severity::kCritical);
  EXPECT_EQ(EventRuleOf(open[0]), "logging-cloudtrail-stopped");

  s.Feed({Call("cloudtrail.amazonaws.com", "StartLogging", {{"name", "org-audit"}})});
  EXPECT_TRUE(s.Open().empty());
  ASSERT_EQ(s.emitted().size(), 2u);
  EXPECT_EQ(s.emitted()[1].finding_id, s.emitted()[0].finding_id);
}

TEST(FindingLifecycleTest, RoleTrustOpenedAndSnapshotSharedAreOneFindingEach) {
  Scenario s;
  s.Feed({Call("iam.amazonaws.com", "UpdateAssumeRolePolicy",
               {{"roleName", "app"},
                {"policyDocument",
                 R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":)"
                 R"({"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]})"}}),
          Call("ec2.amazonaws.com", "ModifySnapshotAttribute",
               {{"snapshotId", "snap-1"},
                {"attributeType", "CREATE_VOLUME_PERMISSION"},
                {"createVolumePermission",
                 {{"add", {{"items", {{{"userId", "999988887777"}}}}}}}}})});
  std::map<std::string, std::string> open;
  for (const Finding& f : s.Open()) open[f.rule_id] = EventRuleOf(f);
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open["identity-role-trusts-untrusted-account"], "identity-trust-policy-opened");
  EXPECT_EQ(open["data-ebs-snapshot-public-or-shared"], "data-ebs-snapshot-shared");
}

TEST(FindingLifecycleTest, ConfigItemOpenThenClosedResolvesWithoutCloudTrail) {
  Scenario s;
  json item = {{"resourceType", "AWS::EC2::SecurityGroup"},
               {"resourceId", "sg-9"},
               {"resourceName", "sg-9"},
               {"configuration",
                {{"groupId", "sg-9"},
                 {"ipPermissions",
                  {{{"ipProtocol", "tcp"},
                    {"fromPort", 3389},
                    {"toPort", 3389},
                    {"ipv4Ranges", {{{"cidrIp", "0.0.0.0/0"}}}}}}}}}};
  s.Feed({{{"config_item", item}}});
  ASSERT_EQ(s.Open().size(), 1u);
  item["configuration"]["ipPermissions"] = json::array();
  s.Feed({{{"config_item", item}}});
  EXPECT_TRUE(s.Open().empty());
}

TEST(FindingLifecycleTest, AdminPolicyAttachedThenDetached) {
  Scenario s;
  const json attach = {{"userName", "bob"},
                       {"policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}};
  s.Feed({Call("iam.amazonaws.com", "AttachUserPolicy", attach)});
  std::vector<Finding> open = s.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].rule_id, "identity-user-has-admin-policy");
  EXPECT_EQ(EventRuleOf(open[0]), "identity-admin-policy-attached");
  s.Feed({Call("iam.amazonaws.com", "DetachUserPolicy", attach)});
  EXPECT_TRUE(s.Open().empty());
}

json ConsoleLoginWithoutMfa() {
  return {{"eventSource", "signin.amazonaws.com"},
          {"eventName", "ConsoleLogin"},
          {"responseElements", {{"ConsoleLogin", "Success"}}},
          {"additionalEventData", {{"MFAUsed", "No"}}}};
}

TEST(FindingLifecycleTest, EventFindingsExpireInEventTimeAndComeBackAsNewEpisodes) {
  Scenario s;
  s.Feed({ConsoleLoginWithoutMfa()});
  std::vector<Finding> open = s.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].kind, FindingKind::kEvent);
  const int64_t opened_at = open[0].last_seen_ms;
  EXPECT_EQ(open[0].expires_at_ms, opened_at + int64_t{24} * 3600 * 1000);

  // 25 hours later in event time, anything at all moves the watermark past the expiry.
  RecordMaker later(opened_at + int64_t{25} * 3600 * 1000);
  s.FeedBytes({later.Make(Call("ec2.amazonaws.com", "DescribeInstances", json::object()))});
  EXPECT_TRUE(s.Open().empty());
  ASSERT_EQ(s.emitted().size(), 2u);
  const Finding expired = s.emitted()[1];
  EXPECT_EQ(expired.resolution, Resolution::kExpired);
  EXPECT_EQ(expired.resolved_at_ms, opened_at + int64_t{24} * 3600 * 1000);
  EXPECT_EQ(json::parse(expired.resolution_detail)["expire_after_seconds"], 86400);

  // The same act again is a new episode under the same id.
  json again = ConsoleLoginWithoutMfa();
  again["eventID"] = "login-again";
  s.FeedBytes({later.Make(again)});
  open = s.Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].finding_id, expired.finding_id);
}

TEST(FindingLifecycleTest, ExpiryDoesNotDependOnBatchBoundaries) {
  // A login, a repeat 23 h later (extends the expiry), quiet, then activity 30 h and 50 h after.
  const int64_t base = 1717200000000;
  const int64_t hour = int64_t{3600} * 1000;
  std::vector<std::string> records;
  for (int64_t at : {int64_t{0}, 23 * hour, 30 * hour, 50 * hour}) {
    RecordMaker m(base + at);
    json r = at == 30 * hour || at == 50 * hour
                 ? Call("ec2.amazonaws.com", "DescribeInstances", json::object())
                 : ConsoleLoginWithoutMfa();
    r["eventID"] = "e-" + std::to_string(at / hour);
    records.push_back(m.Make(r));
  }
  std::vector<std::string> reference;
  for (size_t batch : {1, 2, 3, 4}) {
    Scenario s(batch);
    s.FeedBytes(records);
    std::vector<std::string> lines;
    for (const Finding& f : s.emitted()) lines.push_back(FindingToJson(f));
    if (reference.empty()) {
      reference = lines;
      ASSERT_EQ(reference.size(), 2u);  // opened, expired 24 h after the repeat
      EXPECT_EQ(s.emitted()[1].resolved_at_ms, base + 47 * hour + 60000);
    }
    EXPECT_EQ(lines, reference) << "batches of " << batch;
  }
}

TEST(FindingLifecycleTest, ClosedByHandThroughTheStreamOnceAndRecorded) {
  Scenario s;
  s.Feed({ConsoleLoginWithoutMfa()});
  std::vector<Finding> open = s.Open();
  ASSERT_EQ(open.size(), 1u);
  const std::string id = open[0].finding_id;
  json close = {{"eventVersion", "1.08"},
                {"eventSource", kControlEventSource},
                {"eventName", kCloseFindingEventName},
                {"eventID", "close-1"},
                {"eventTime", FormatTimestamp(open[0].last_seen_ms + 60000)},
                {"recipientAccountId", "111122223333"},
                {"awsRegion", "us-east-1"},
                {"userIdentity", {{"type", "driftwatch"}, {"arn", "carol"}}},
                {"requestParameters", {{"findingId", id}, {"reason", "known travel"}}}};
  s.FeedBytes({close.dump(), close.dump()});  // the second is the same record again: a no-op
  EXPECT_TRUE(s.Open().empty());
  ASSERT_EQ(s.emitted().size(), 2u);
  const Finding& closed = s.emitted()[1];
  EXPECT_EQ(closed.resolution, Resolution::kClosed);
  json detail = json::parse(closed.resolution_detail);
  EXPECT_EQ(detail["by"], "carol");
  EXPECT_EQ(detail["reason"], "known travel");
  EXPECT_EQ(detail["event_id"], "close-1");
  EXPECT_EQ(s.Stored(id).resolution, Resolution::kClosed);
}

}  // namespace
}  // namespace driftwatch
