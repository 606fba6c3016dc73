// The rest of the customer's half of the Shared Responsibility Model (issue 18), through the real
// decoder, appliers, state and the built-in pack: encryption in transit, firewalls and detection
// services turned off, and credentials nobody uses. Each drift opens one finding of its category
// on its resource and resolves when it is undone; the look-alike safe cases raise nothing; the
// record of a credential's use costs at most one write per credential and day and does not
// depend on arrival order.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
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

const std::string kSourceDir = DW_SOURCE_DIR;
constexpr const char* kLb =
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188";
constexpr const char* kListener =
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7";
constexpr const char* kBobKey = "AKIABOBKEY0000000001";

// The rotation limit (access_key_max_age_days) is a separate responsibility from unused
// credentials: set past the scenarios' 100 days so that what is counted here is this issue's.
Policy TestPolicy() {
  Policy p;
  p.trusted_accounts = {"222233334444"};
  p.access_key_max_age_days = 365;
  p.unused_credential_days = 90;
  return p;
}

std::string At(int days, int minutes = 0) {
  return FormatTimestamp(1704067200000LL + days * 86400000LL + minutes * 60000LL);  // 2024-01-01
}

json Timed(json r, int days, int minutes = 0) {
  r["eventTime"] = At(days, minutes);
  return r;
}

class Stream {
 public:
  explicit Stream(Policy policy = TestPolicy()) : run_(kSourceDir + "/config/rules", policy) {}
  std::string Make(const json& r) { return run_.maker().Make(r); }
  void FeedBytes(const std::vector<std::string>& records, size_t batch = 1) {
    run_.FeedBytes(records, batch);
  }
  void Feed(const std::vector<json>& records) {
    std::vector<std::string> bytes;
    for (const json& r : records) bytes.push_back(Make(r));
    FeedBytes(bytes);
  }
  std::vector<Finding> Findings(bool open_only) {
    std::vector<Finding> out;
    EXPECT_TRUE(run_.store().ScanFindings([&](const Finding& f) {
                        if (!open_only || f.status == FindingStatus::kOpen) out.push_back(f);
                        return true;
                      })
                    .ok());
    return out;
  }
  std::string Document(const std::string& key) {
    std::string doc;
    Status s = run_.store().GetResource(key, &doc);
    EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
    return s.ok() ? doc : std::string();
  }
  std::vector<HistoryEntry> History(const std::string& key) {
    std::vector<HistoryEntry> out;
    EXPECT_TRUE(run_.store().ScanHistory(key, [&](const HistoryEntry& h) {
                        out.push_back(h);
                        return true;
                      })
                    .ok());
    return out;
  }
  MemoryStore& store() { return run_.store(); }

 private:
  PackRun run_;
};

// --- The cases of the issue ----------------------------------------------------------------

json ElbCall(const std::string& name, json request, json response = nullptr) {
  return Call("elasticloadbalancing.amazonaws.com", name, std::move(request), std::move(response));
}
json CreateLb(const std::string& scheme) {
  return ElbCall("CreateLoadBalancer", {{"name", "web"}, {"scheme", scheme}},
                 {{"loadBalancers",
                   {{{"loadBalancerArn", kLb}, {"loadBalancerName", "web"}, {"scheme", scheme}}}}});
}
json HttpListener(json actions) {
  json req = {{"loadBalancerArn", kLb}, {"protocol", "HTTP"}, {"port", 80},
              {"defaultActions", actions}};
  json described = req;
  described["listenerArn"] = kListener;
  return ElbCall("CreateListener", req, {{"listeners", {described}}});
}
const json kForward = {{{"type", "forward"}, {"targetGroupArn", "arn:aws:tg/web"}}};
const json kRedirect = {
    {{"type", "redirect"},
     {"redirectConfig", {{"protocol", "HTTPS"}, {"port", "443"}, {"statusCode", "HTTP_301"}}}}};

json RdsForceSsl(const std::string& value) {
  return Call("rds.amazonaws.com", "ModifyDBParameterGroup",
              {{"dBParameterGroupName", "pg15-app"},
               {"parameters", {{{"parameterName", "rds.force_ssl"}, {"parameterValue", value}}}}});
}
json Distribution(const std::string& name, const std::string& viewer_policy) {
  json config = {{"callerReference", "c1"},
                 {"defaultCacheBehavior",
                  {{"targetOriginId", "o"}, {"viewerProtocolPolicy", viewer_policy}}}};
  json req = {{"distributionConfig", config}};
  if (name == "UpdateDistribution") req["id"] = "E2EXAMPLE";
  return Call("cloudfront.amazonaws.com", name, req,
              {{"distribution", {{"id", "E2EXAMPLE"}, {"distributionConfig", config}}}});
}
json BucketPolicy(bool tls_deny) {
  json statements = {{{"Effect", "Allow"},
                      {"Principal", {{"AWS", "arn:aws:iam::111122223333:role/app"}}},
                      {"Action", "s3:GetObject"},
                      {"Resource", "arn:aws:s3:::acme-reports/*"}}};
  if (tls_deny) {
    statements.push_back({{"Effect", "Deny"},
                          {"Principal", "*"},
                          {"Action", "s3:*"},
                          {"Resource", "arn:aws:s3:::acme-reports/*"},
                          {"Condition", {{"Bool", {{"aws:SecureTransport", "false"}}}}}});
  }
  return Call("s3.amazonaws.com", "PutBucketPolicy",
              {{"bucketName", "acme-reports"},
               {"bucketPolicy", {{"Version", "2012-10-17"}, {"Statement", statements}}}});
}
json Waf(const std::string& name, json request) {
  return Call("wafv2.amazonaws.com", name, std::move(request));
}
json CreateKey() {
  return Timed(Call("iam.amazonaws.com", "CreateAccessKey", {{"userName", "bob"}},
                    {{"accessKey",
                      {{"accessKeyId", kBobKey},
                       {"userName", "bob"},
                       {"status", "Active"},
                       {"createDate", At(0)}}}}),
               0);
}
json CreateUser() {
  return Timed(Call("iam.amazonaws.com", "CreateUser", {{"userName", "bob"}},
                    {{"user", {{"userName", "bob"}, {"userId", "AIDABOB"}}}}),
               0);
}
json Bob(json call, const char* key = kBobKey) {
  call["userIdentity"] = {{"type", "IAMUser"},
                          {"principalId", "AIDABOB"},
                          {"arn", "arn:aws:iam::111122223333:user/bob"},
                          {"accountId", "111122223333"},
                          {"userName", "bob"}};
  if (key != nullptr) call["userIdentity"]["accessKeyId"] = key;
  return call;
}
json BobReads(int days, int minutes = 0) {
  json r = Bob(Call("ec2.amazonaws.com", "DescribeInstances", json::object()));
  r["readOnly"] = true;
  return Timed(r, days, minutes);
}
json BobSignsIn(int days) {
  json r = Bob(Call("signin.amazonaws.com", "ConsoleLogin", nullptr,
                    {{"ConsoleLogin", "Success"}}),
               nullptr);
  r["additionalEventData"] = {{"MFAUsed", "Yes"}};
  return Timed(r, days);
}
// Another principal's write: the account is busy, its event-time clock moves.
json Busy(int days, int minutes = 0) {
  return Timed(Call("ec2.amazonaws.com", "CreateTags",
                    {{"resourcesSet", {{"items", {{{"resourceId", "i-1"}}}}}}}),
               days, minutes);
}

struct Case {
  const char* what;
  std::vector<json> drift;
  std::vector<json> undo;
  const char* rule;
  Category category;
  const char* resource_id;
};

std::vector<Case> Cases() {
  return {
      {"internet-facing load balancer, HTTP listener that forwards",
       {CreateLb("internet-facing"), HttpListener(kForward)},
       {ElbCall("ModifyListener", {{"listenerArn", kListener}, {"defaultActions", kRedirect}})},
       "data-lb-listener-cleartext", Category::kDataProtection, kListener},
      {"parameter group sets rds.force_ssl to 0",
       {RdsForceSsl("0")}, {RdsForceSsl("1")},
       "data-rds-parameter-group-tls-optional", Category::kDataProtection, "pg15-app"},
      {"CloudFront viewer protocol policy allow-all",
       {Distribution("CreateDistribution", "allow-all")},
       {Distribution("UpdateDistribution", "redirect-to-https")},
       "data-cloudfront-viewer-http-allowed", Category::kDataProtection, "E2EXAMPLE"},
      {"bucket policy no longer denies requests without TLS",
       {BucketPolicy(true), BucketPolicy(false)}, {BucketPolicy(true)},
       "data-s3-bucket-tls-no-longer-required", Category::kDataProtection, "acme-reports"},
      {"Network Firewall deleted",
       {Call("network-firewall.amazonaws.com", "DeleteFirewall", {{"firewallName", "egress"}})},
       {Call("network-firewall.amazonaws.com", "CreateFirewall",
             {{"firewallName", "egress"}, {"vpcId", "vpc-1"}})},
       "network-firewall-deleted", Category::kNetwork, "egress"},
      {"Network Firewall deleted by ARN, created again by name",
       {Call("network-firewall.amazonaws.com", "DeleteFirewall",
             {{"firewallArn", "arn:aws:network-firewall:us-east-1:111122223333:firewall/egress"}})},
       {Call("network-firewall.amazonaws.com", "CreateFirewall",
             {{"firewallName", "egress"}, {"vpcId", "vpc-1"}})},
       "network-firewall-deleted", Category::kNetwork, "egress"},
      {"web ACL disassociated from a load balancer",
       {Waf("DisassociateWebACL", {{"resourceArn", kLb}})},
       {Waf("AssociateWebACL", {{"resourceArn", kLb}, {"webACLArn", "arn:aws:wafv2:acl/edge"}})},
       "network-waf-web-acl-disassociated", Category::kNetwork, kLb},
      {"web ACL deleted",
       {Waf("DeleteWebACL", {{"name", "edge"}, {"scope", "REGIONAL"}, {"id", "a1"}})},
       {Waf("CreateWebACL", {{"name", "edge"}, {"scope", "REGIONAL"}})},
       "network-waf-web-acl-deleted", Category::kNetwork, "edge"},
      {"Security Hub disabled",
       {Call("securityhub.amazonaws.com", "DisableSecurityHub", json::object())},
       {Call("securityhub.amazonaws.com", "EnableSecurityHub", json::object())},
       "logging-security-hub-disabled", Category::kLogging, "111122223333"},
      {"Access Analyzer analyzer deleted",
       {Call("access-analyzer.amazonaws.com", "DeleteAnalyzer", {{"analyzerName", "acct"}})},
       {Call("access-analyzer.amazonaws.com", "CreateAnalyzer",
             {{"analyzerName", "acct"}, {"type", "ACCOUNT"}})},
       "logging-access-analyzer-deleted", Category::kLogging, "acct"},
      {"Inspector disabled",
       {Call("inspector2.amazonaws.com", "Disable", json::object())},
       {Call("inspector2.amazonaws.com", "Enable", {{"resourceTypes", {"EC2", "ECR"}}})},
       "logging-inspector-disabled", Category::kLogging, "111122223333"},
      {"Macie disabled",
       {Call("macie2.amazonaws.com", "DisableMacie", json::object())},
       {Call("macie2.amazonaws.com", "EnableMacie", {{"status", "ENABLED"}})},
       "logging-macie-disabled", Category::kLogging, "111122223333"},
      {"access key created and never used for 100 days while the account is busy",
       {CreateUser(), CreateKey(), Busy(30), Busy(60), Busy(100)}, {BobReads(100, 30)},
       "identity-access-key-unused", Category::kIdentity, "bob"},
      {"console password not used for 100 days",
       {CreateUser(),
        Timed(Call("iam.amazonaws.com", "CreateLoginProfile", {{"userName", "bob"}}), 0),
        Busy(100)},
       {BobSignsIn(100)},
       "identity-console-password-unused", Category::kIdentity, "bob"},
  };
}

TEST(CustomerHalfTest, EachCaseOpensOneFindingOfItsCategoryAndResolvesWhenUndone) {
  for (const Case& c : Cases()) {
    Stream run;
    run.Feed(c.drift);
    std::vector<Finding> of_category;
    for (const Finding& f : run.Findings(true)) {
      if (f.category == c.category && f.resource.id == c.resource_id) of_category.push_back(f);
    }
    ASSERT_EQ(of_category.size(), 1u) << c.what;
    EXPECT_EQ(of_category[0].rule_id, c.rule) << c.what;
    EXPECT_EQ(of_category[0].kind, FindingKind::kPosture) << c.what;
    const std::string id = of_category[0].finding_id;

    run.Feed(c.undo);
    for (const Finding& f : run.Findings(false)) {
      if (f.finding_id != id) continue;
      EXPECT_EQ(f.status, FindingStatus::kResolved) << c.what;
      EXPECT_EQ(f.resolution, Resolution::kState) << c.what;
    }
    for (const Finding& f : run.Findings(true)) {
      EXPECT_FALSE(f.category == c.category && f.resource.id == c.resource_id)
          << c.what << ": still open " << FindingToJson(f);
    }
  }
}

// The look-alikes raise no posture finding (the users and keys they create are acts of their own,
// event findings that expire).
TEST(CustomerHalfTest, LookAlikeSafeCasesRaiseNothing) {
  {
    Stream run;  // an HTTP listener that redirects to HTTPS
    run.Feed({CreateLb("internet-facing"), HttpListener(kRedirect)});
    EXPECT_TRUE(run.Findings(false).empty()) << FindingToJson(run.Findings(false)[0]);
  }
  {
    Stream run;  // an HTTP listener that forwards, on a load balancer known to be internal
    run.Feed({CreateLb("internal"), HttpListener(kForward)});
    EXPECT_TRUE(run.Findings(false).empty());
  }
  {
    Stream run;  // a key used every ten days, for 100 days of a busy account
    std::vector<json> records = {CreateUser(), CreateKey()};
    for (int day = 10; day <= 100; day += 10) {
      records.push_back(BobReads(day));
      records.push_back(Busy(day, 30));
    }
    records.push_back(Busy(101));
    run.Feed(records);
    for (const Finding& f : run.Findings(false)) {  // the setup's CreateUser etc. are acts
      EXPECT_FALSE(f.kind == FindingKind::kPosture && f.category == Category::kIdentity)
          << FindingToJson(f);
    }
  }
  {
    Stream run;  // a password used every ten days
    std::vector<json> records = {
        CreateUser(),
        Timed(Call("iam.amazonaws.com", "CreateLoginProfile", {{"userName", "bob"}}), 0)};
    for (int day = 10; day <= 100; day += 10) records.push_back(BobSignsIn(day));
    records.push_back(Busy(101));
    run.Feed(records);
    for (const Finding& f : run.Findings(false)) {  // the setup's CreateUser etc. are acts
      EXPECT_FALSE(f.kind == FindingKind::kPosture && f.category == Category::kIdentity)
          << FindingToJson(f);
    }
  }
  {
    Stream run;  // a bucket policy that never required TLS, replaced
    run.Feed({BucketPolicy(false), BucketPolicy(false)});
    EXPECT_TRUE(run.Findings(false).empty());
  }
}

// Deactivating or deleting the unused key resolves it too.
TEST(CustomerHalfTest, UnusedKeyResolvesWhenDeactivatedOrDeleted) {
  for (const char* undo : {"UpdateAccessKey", "DeleteAccessKey"}) {
    Stream run;
    run.Feed({CreateUser(), CreateKey(), Busy(100)});
    ASSERT_EQ(run.Findings(true).size(), 1u) << undo;
    json req = {{"userName", "bob"}, {"accessKeyId", kBobKey}};
    if (std::string(undo) == "UpdateAccessKey") req["status"] = "Inactive";
    run.Feed({Timed(Call("iam.amazonaws.com", undo, req), 100, 10)});
    EXPECT_TRUE(run.Findings(true).empty()) << undo;
  }
}

// Used, then left: unused from the last use, not from the creation.
TEST(CustomerHalfTest, UnusedIsCountedFromTheLastUse) {
  Stream run;
  run.Feed({CreateUser(), CreateKey(), BobReads(20), Busy(100)});
  EXPECT_TRUE(run.Findings(true).empty()) << "used 80 days ago";
  run.Feed({Busy(111)});
  ASSERT_EQ(run.Findings(true).size(), 1u);
  const Finding f = run.Findings(true)[0];
  EXPECT_EQ(f.rule_id, "identity-access-key-unused");
  // Opened as of its deadline: 90 days after the UTC day of the last use.
  EXPECT_EQ(f.first_seen_ms, 1704067200000LL + 110LL * 86400000LL + 1);
}

// Many calls with one key: one write of the user's document per day, and the document is the
// same whatever the arrival order within 15 minutes and whatever the batches.
TEST(CustomerHalfTest, UseCostsOneWritePerKeyAndDayWhateverTheOrder) {
  std::vector<json> calls;
  for (int day = 1; day <= 3; ++day) {
    for (int minute = 0; minute < 600; minute += 2) calls.push_back(BobReads(day, minute));
  }
  const std::string user = "111122223333|global|AWS::IAM::User|bob";
  std::string reference;
  for (unsigned seed : {0u, 1u, 2u}) {
    Stream run;
    run.Feed({CreateUser(), CreateKey()});
    std::vector<std::string> bytes;
    for (const json& c : calls) bytes.push_back(run.Make(c));
    if (seed > 0) {
      // Shuffled within 15-minute windows of event time.
      std::mt19937 rng(seed);
      for (size_t at = 0; at < bytes.size(); at += 7) {
        std::shuffle(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     bytes.begin() + static_cast<std::ptrdiff_t>(std::min(at + 7, bytes.size())),
                     rng);
      }
    }
    run.FeedBytes(bytes, 1 + seed * 50);
    int stamps = 0;
    for (const HistoryEntry& h : run.History(user)) {
      if (h.action == "driftwatch.CredentialUsed") {
        ++stamps;
        EXPECT_TRUE(h.actor.arn.empty() && h.actor.access_key_id.empty() && h.actor.source_ip.empty())
            << "a use is not a call of the user's";
      }
    }
    EXPECT_EQ(stamps, 3) << "one per day, seed " << seed;
    json doc = json::parse(run.Document(user));
    EXPECT_EQ(doc["configuration"]["accessKeys"][0]["lastUsedDate"], At(3)) << doc.dump();
    doc["driftwatch"].erase("lastEventId");  // which call of the day came first
    doc["driftwatch"].erase("lastChangeMs");
    doc.erase("configurationItemCaptureTime");
    if (seed == 0) {
      reference = doc.dump();
    } else {
      EXPECT_EQ(doc.dump(), reference) << "seed " << seed;
    }
  }
}

// A change to the user that arrives after a use it preceded is put in its place: the user's
// document is rebuilt from history with the use applied again, so it ends as in event order.
TEST(CustomerHalfTest, ALateChangeToTheUserKeepsTheRecordedUse) {
  const json attach = Timed(Call("iam.amazonaws.com", "AttachUserPolicy",
                                 {{"userName", "bob"},
                                  {"policyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"}}),
                            5, 590);
  std::string docs[2];
  for (int late = 0; late < 2; ++late) {
    Stream run;
    run.Feed({CreateUser(), CreateKey()});
    if (late == 1) {
      run.Feed({BobReads(5, 600), attach});  // the attach (09:50) after the use (10:00)
    } else {
      run.Feed({attach, BobReads(5, 600)});
    }
    json doc = json::parse(run.Document("111122223333|global|AWS::IAM::User|bob"));
    EXPECT_EQ(doc["configuration"]["accessKeys"][0]["lastUsedDate"], At(5)) << late;
    EXPECT_EQ(doc["configuration"]["attachedManagedPolicies"].size(), 1u) << late;
    doc.erase("driftwatch");
    doc.erase("configurationItemCaptureTime");
    docs[late] = doc.dump();
  }
  EXPECT_EQ(docs[0], docs[1]);
}

// Only an IAM user's own long-term key counts; temporary credentials and users driftwatch holds
// no document for are not stamped.
TEST(CustomerHalfTest, OnlyKnownUsersLongTermKeysAreStamped) {
  Stream run;
  run.Feed({CreateUser(), CreateKey(), Timed(Bob(Call("ec2.amazonaws.com", "DescribeVpcs",
                                                      json::object()),
                                                 "ASIATEMPORARY0000001"),
                                             5)});
  json doc = json::parse(run.Document("111122223333|global|AWS::IAM::User|bob"));
  EXPECT_FALSE(doc["configuration"]["accessKeys"][0].contains("lastUsedDate")) << doc.dump();
  run.Feed({BobReads(6)});  // the default actor, alice, has no document: none is made up
  EXPECT_TRUE(run.Document("111122223333|global|AWS::IAM::User|alice").empty());
  doc = json::parse(run.Document("111122223333|global|AWS::IAM::User|bob"));
  EXPECT_EQ(doc["configuration"]["accessKeys"][0]["lastUsedDate"], At(6));
}

// A key the document does not list (made before the stream began) is learned from its use and
// judged from then on.
TEST(CustomerHalfTest, AKeyFirstSeenInUseIsLearned) {
  Stream run;
  run.Feed({CreateUser(), Timed(Bob(Call("ec2.amazonaws.com", "DescribeVpcs", json::object()),
                                    "AKIAOLDKEY0000000001"),
                                2),
            Busy(95)});
  ASSERT_EQ(run.Findings(true).size(), 1u);
  EXPECT_EQ(run.Findings(true)[0].rule_id, "identity-access-key-unused");
  json doc = json::parse(run.Document("111122223333|global|AWS::IAM::User|bob"));
  EXPECT_EQ(doc["configuration"]["accessKeys"][0]["accessKeyId"], "AKIAOLDKEY0000000001");
  EXPECT_TRUE(doc["configuration"]["accessKeys"][0]["createDate"].is_null());
}

}  // namespace
}  // namespace driftwatch
