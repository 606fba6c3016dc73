// The appliers' semantics: compute and inventory, unknown writes, failed calls, event-time
// ordering, duplicates, deletion — and the same through the real pipeline and decoder.

#include <algorithm>

#include "appliers/applier_internal.h"
#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "state/memory_store.h"
#include "tests/appliers/applier_test_util.h"

namespace driftwatch {
namespace {

using testing_util::ApplierFixture;
using testing_util::ConfigItem;
using testing_util::FromRecord;
using testing_util::json;
using testing_util::Record;

constexpr const char* kInstance = "AWS::EC2::Instance";
constexpr const char* kTrail = "AWS::CloudTrail::Trail";
constexpr const char* kEc2 = "ec2.amazonaws.com";
constexpr const char* kCt = "cloudtrail.amazonaws.com";

class ApplierSemanticsTest : public ApplierFixture {};

TEST_F(ApplierSemanticsTest, RunInstancesOneDocumentPerInstance) {
  json resp = {
      {"instancesSet",
       {{"items",
         json::array(
             {{{"instanceId", "i-1"},
               {"imageId", "ami-9"},
               {"instanceType", "t3.micro"},
               {"instanceState", {{"code", 0}, {"name", "pending"}}},
               {"groupSet",
                {{"items", json::array({{{"groupId", "sg-1"}, {"groupName", "web"}}})}}}},
              {{"instanceId", "i-2"}, {"imageId", "ami-9"}, {"instanceType", "t3.micro"}}})}}}};
  Apply(Record(
      "RunInstances", kEc2, "2024-06-01T10:00:00Z",
      {{"imageId", "ami-9"}, {"instancesSet", {{"items", json::array({{{"maxCount", 2}}})}}}},
      resp));
  for (const char* id : {"i-1", "i-2"}) {
    json doc = Doc(kInstance, id);
    ASSERT_TRUE(doc.is_object()) << id;
    EXPECT_EQ(doc["configuration"]["imageId"], "ami-9");
    EXPECT_EQ(doc["driftwatch"]["createdBy"], testing_util::kAlice);
    EXPECT_EQ(doc["driftwatch"]["createdByAccessKey"], "AKIAEXAMPLEKEY");
  }
  EXPECT_EQ(Doc(kInstance, "i-1")["configuration"]["securityGroups"][0]["groupId"], "sg-1");
  EXPECT_EQ(deltas_.size(), 2u);

  Apply(Record("TerminateInstances", kEc2, "2024-06-01T11:00:00Z",
               {{"instancesSet", {{"items", json::array({{{"instanceId", "i-1"}}})}}}}));
  EXPECT_TRUE(Doc(kInstance, "i-1").is_null());
  EXPECT_TRUE(Doc(kInstance, "i-2").is_object());
  EXPECT_EQ(History(kInstance, "i-1").size(), 2u);
}

TEST_F(ApplierSemanticsTest, GenericCreateAndDeleteRecordExistenceAndCreator) {
  Apply(
      Record("CreateVpc", kEc2, "2024-06-01T10:00:00Z", {{"cidrBlock", "10.0.0.0/16"}},
             {{"requestId", "r-1"},
              {"vpc", {{"vpcId", "vpc-7"}, {"cidrBlock", "10.0.0.0/16"}, {"state", "pending"}}}}));
  json vpc = Doc("AWS::EC2::VPC", "vpc-7");
  ASSERT_TRUE(vpc.is_object());
  EXPECT_EQ(vpc["configuration"]["cidrBlock"], "10.0.0.0/16");
  EXPECT_EQ(vpc["driftwatch"]["createdBy"], testing_util::kAlice);

  Apply(Record("CreateFunction20150331", "lambda.amazonaws.com", "2024-06-01T10:01:00Z",
               {{"functionName", "etl"}},
               {{"functionName", "etl"},
                {"functionArn", "arn:aws:lambda:us-east-1:111122223333:function:etl"}}));
  // "Function20150331" is no type; the name still resolves the resource? No: generic needs a
  // noun it can find, so such calls fall back to history against the function named.
  EXPECT_EQ(History("AWS::Lambda::Function", "etl").size(), 1u);

  Apply(
      Record("DeleteVpc", kEc2, "2024-06-01T10:02:00Z", {{"vpcId", "vpc-7"}}, {{"_return", true}}));
  EXPECT_TRUE(Doc("AWS::EC2::VPC", "vpc-7").is_null());
  EXPECT_EQ(History("AWS::EC2::VPC", "vpc-7").size(), 2u);
}

TEST_F(ApplierSemanticsTest, UnknownWriteIsRecordedAgainstNamedResourcesOnly) {
  Apply(Record("CreateSecurityGroup", kEc2, "2024-06-01T10:00:00Z",
               {{"groupName", "web"}, {"vpcId", "vpc-1"}}, {{"groupId", "sg-1"}}));
  const std::string before = Doc("AWS::EC2::SecurityGroup", "sg-1").dump();
  deltas_.clear();
  // A name no service model describes (the generated table resolves the real ones).
  Apply(Record(
      "ModifyInstanceFrobnication", kEc2, "2024-06-01T10:01:00Z",
      {{"instanceId", "i-5"}, {"groupSet", {{"items", json::array({{{"groupId", "sg-1"}}})}}}},
      {{"_return", true}}));
  EXPECT_TRUE(deltas_.empty());
  EXPECT_EQ(Doc("AWS::EC2::SecurityGroup", "sg-1").dump(), before);
  EXPECT_TRUE(Doc(kInstance, "i-5").is_null());
  auto history = History(kInstance, "i-5");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].action, "ModifyInstanceFrobnication");
  EXPECT_TRUE(history[0].document_after.empty());
  EXPECT_NE(history[0].change.find("unknownWrite"), std::string::npos);
  EXPECT_EQ(History("AWS::EC2::SecurityGroup", "sg-1").size(), 2u);
}

// A write the generated table resolves (appliers/aws_resource_calls.h) changes the resource it
// names: its document is stamped (partial when never seen) and its history says who changed it;
// other resources the call names get the call in their history only.
TEST_F(ApplierSemanticsTest, TableResolvedWriteUpdatesTheResourceItNames) {
  Apply(Record("CreateSecurityGroup", kEc2, "2024-06-01T10:00:00Z",
               {{"groupName", "web"}, {"vpcId", "vpc-1"}}, {{"groupId", "sg-1"}}));
  const std::string before = Doc("AWS::EC2::SecurityGroup", "sg-1").dump();
  Apply(Record(
      "ModifyInstanceAttribute", kEc2, "2024-06-01T10:01:00Z",
      {{"instanceId", "i-5"}, {"groupSet", {{"items", json::array({{{"groupId", "sg-1"}}})}}}},
      {{"_return", true}}));
  EXPECT_EQ(Doc("AWS::EC2::SecurityGroup", "sg-1").dump(), before);
  const json doc = Doc(kInstance, "i-5");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["driftwatch"]["partial"], true);
  auto history = History(kInstance, "i-5");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].action, "ModifyInstanceAttribute");
  EXPECT_NE(history[0].change.find("\"updated\":true"), std::string::npos);
  EXPECT_EQ(History("AWS::EC2::SecurityGroup", "sg-1").size(), 2u);
}

TEST_F(ApplierSemanticsTest, FailedCallsChangeNothing) {
  json r = Record("StopLogging", kCt, "2024-06-01T10:00:00Z", {{"name", "main"}});
  r["errorCode"] = "AccessDenied";
  r["errorMessage"] = "not authorized";
  Event e = FromRecord(r);
  Apply(e);
  // Even when the applier is called directly with a failed call.
  BatchContext ctx(&store_);
  applier_.Apply(e, ctx, &deltas_);
  EXPECT_TRUE(ctx.TakeWrites().empty());
  EXPECT_TRUE(deltas_.empty());
  EXPECT_EQ(ResourceCount(), 0u);
  EXPECT_TRUE(History(kTrail, "main").empty());
  // An errorCode only in the record (not lifted into the Event) is honoured too.
  Event hidden = FromRecord(r);
  hidden.error_code.clear();
  BatchContext ctx2(&store_);
  applier_.Apply(hidden, ctx2, &deltas_);
  EXPECT_TRUE(ctx2.TakeWrites().empty());
}

// A call delivered late is put in its event-time place: the document is rebuilt from the state
// before it, with the later calls applied again over it. It never overwrites newer state.
TEST_F(ApplierSemanticsTest, LateCallTakesItsPlaceAndDoesNotOverwriteNewerState) {
  Apply(Record("CreateTrail", kCt, "2024-06-01T10:00:00Z", {{"name", "main"}}, {{"name", "main"}}));
  Apply(Record("StopLogging", kCt, "2024-06-01T10:10:00Z", {{"name", "main"}}));
  deltas_.clear();
  Apply(Record("StartLogging", kCt, "2024-06-01T10:05:00Z", {{"name", "main"}}));  // late
  json doc = Doc(kTrail, "main");
  EXPECT_EQ(doc["configuration"]["isLogging"], false);
  EXPECT_EQ(doc["configurationItemCaptureTime"], "2024-06-01T10:10:00Z");
  auto history = History(kTrail, "main");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].action, "StartLogging");  // ordered by event time
  EXPECT_TRUE(history[1].applied);
  EXPECT_EQ(json::parse(history[1].document_after)["configuration"]["isLogging"], true);
  EXPECT_EQ(json::parse(history[1].change)["appliedLate"], true);
  EXPECT_EQ(json::parse(history[2].document_after)["configuration"]["isLogging"], false);
  // Rules see each step as of its own call: the late start, then the stop applied again.
  ASSERT_EQ(deltas_.size(), 2u);
  EXPECT_EQ(json::parse(deltas_[0].after)["configuration"]["isLogging"], true);
  EXPECT_EQ(deltas_[0].cause, nullptr);
  EXPECT_EQ(json::parse(deltas_[1].after)["configuration"]["isLogging"], false);
  ASSERT_NE(deltas_[1].cause, nullptr);
  EXPECT_EQ(deltas_[1].cause->event_name, "StopLogging");
  EXPECT_EQ(deltas_[1].cause->principal.arn, testing_util::kAlice);
}

TEST_F(ApplierSemanticsTest, LateEventDoesNotResurrectDeletedResource) {
  Apply(Record("CreateTrail", kCt, "2024-06-01T10:00:00Z", {{"name", "main"}}, {{"name", "main"}}));
  Apply(Record("DeleteTrail", kCt, "2024-06-01T10:10:00Z", {{"name", "main"}}));
  Apply(Record("StartLogging", kCt, "2024-06-01T10:05:00Z", {{"name", "main"}}));
  EXPECT_TRUE(Doc(kTrail, "main").is_null());
  EXPECT_EQ(ResourceCount(), 0u);  // tombstones are not resources
  auto history = History(kTrail, "main");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].action, "StartLogging");
  EXPECT_TRUE(history[2].deleted);
  EXPECT_TRUE(history[2].document_after.empty());
  // A second late call still finds it deleted.
  Apply(Record("StopLogging", kCt, "2024-06-01T10:06:00Z", {{"name", "main"}}));
  EXPECT_TRUE(Doc(kTrail, "main").is_null());
  // Re-created later: a new document.
  Apply(Record("CreateTrail", kCt, "2024-06-02T10:00:00Z", {{"name", "main"}}, {{"name", "main"}}));
  EXPECT_TRUE(Doc(kTrail, "main").is_object());
}

// A Config item delivered after a later CloudTrail call takes its place too: the item, then the
// call over it — in either arrival order.
TEST(ApplierOrderTest, ConfigItemAndLaterCallEndAlikeInEitherOrder) {
  json item = {{"configurationItemCaptureTime", "2024-06-01T10:00:00.000Z"},
               {"configurationStateId", 7},
               {"awsAccountId", "111122223333"},
               {"configurationItemStatus", "OK"},
               {"resourceType", kTrail},
               {"resourceId", "main"},
               {"ARN", "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"},
               {"awsRegion", "us-east-1"},
               {"configuration", {{"name", "main"}, {"isMultiRegionTrail", true}}},
               {"supplementaryConfiguration", json::object()}};
  const Event config = ConfigItem(item);
  const Event stop =
      FromRecord(Record("StopLogging", kCt, "2024-06-01T10:05:00Z", {{"name", "main"}}));
  auto run = [&](std::vector<Event> order) {
    MemoryStore store;
    Applier applier;
    for (const Event& e : order) {
      BatchContext ctx(&store);
      std::vector<StateDelta> deltas;
      applier.Apply(e, ctx, &deltas);
      EXPECT_TRUE(store.Commit(ctx.TakeWrites()).ok());
    }
    std::string text;
    Status s = store.GetResource(
        MakeResourceKey(testing_util::kAccount, "us-east-1", kTrail, "main"), &text);
    EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
    return s.ok() ? text : std::string();
  };
  const std::string in_order = run({config, stop});
  const json doc = json::parse(in_order);
  EXPECT_EQ(doc["configuration"]["isMultiRegionTrail"], true);
  EXPECT_EQ(doc["configuration"]["isLogging"], false);
  EXPECT_EQ(run({stop, config}), in_order);
}

// History keeps each call in a form that can be applied again, whatever its strings hold.
TEST_F(ApplierSemanticsTest, HistoryKeepsTheCallReplayable) {
  json r = Record("StopLogging", kCt, "2024-06-01T10:00:00Z", {{"name", "main \"x\"\n"}});
  r["userIdentity"]["userName"] = "al\\ice\t\"q\"";
  r["sourceIPAddress"] = std::string("198.51.100.7\x01", 13);
  Apply(r);
  auto history = History(kTrail, "main \"x\"\n");
  ASSERT_EQ(history.size(), 1u);
  Event call;
  json record;
  ASSERT_TRUE(applier::ParseReplay(history[0], &call, &record)) << history[0].replay;
  EXPECT_EQ(call.event_name, "StopLogging");
  EXPECT_EQ(call.event_source, kCt);
  EXPECT_EQ(call.principal.user_name, "al\\ice\t\"q\"");
  EXPECT_EQ(call.principal.arn, testing_util::kAlice);
  EXPECT_EQ(call.source_ip, std::string("198.51.100.7\x01", 13));
  EXPECT_EQ(call.time_ms, history[0].time_ms);
  EXPECT_EQ(record["requestParameters"]["name"], "main \"x\"\n");
  // Config items are whole documents in history: nothing to replay.
}

// Any arrival order of the same calls ends with the same documents (issue 7 item 3): every
// permutation of a user's creation, policy, key and login profile, one call per batch.
TEST(ApplierOrderTest, EveryArrivalOrderEndsWithTheSameDocument) {
  const std::vector<json> calls = {
      Record("CreateUser", "iam.amazonaws.com", "2024-06-01T10:00:00Z", {{"userName", "bob"}},
             {{"user",
               {{"userName", "bob"},
                {"userId", "AIDABOB"},
                {"path", "/"},
                {"arn", "arn:aws:iam::111122223333:user/bob"},
                {"createDate", "Jun 1, 2024 10:00:00 AM"}}}},
             "o-1"),
      Record("AttachUserPolicy", "iam.amazonaws.com", "2024-06-01T10:00:20Z",
             {{"userName", "bob"}, {"policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}},
             nullptr, "o-2"),
      Record("CreateAccessKey", "iam.amazonaws.com", "2024-06-01T10:00:40Z", {{"userName", "bob"}},
             {{"accessKey",
               {{"userName", "bob"},
                {"accessKeyId", "AKIABOB"},
                {"status", "Active"},
                {"createDate", "Jun 1, 2024 10:00:40 AM"}}}},
             "o-3"),
      Record("CreateLoginProfile", "iam.amazonaws.com", "2024-06-01T10:01:00Z",
             {{"userName", "bob"}, {"passwordResetRequired", false}}, nullptr, "o-4"),
      Record("DetachUserPolicy", "iam.amazonaws.com", "2024-06-01T10:01:00Z",
             {{"userName", "bob"}, {"policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}},
             nullptr, "o-5"),  // same second as o-4: the event id orders them
  };
  auto run = [&](const std::vector<size_t>& order) {
    MemoryStore store;
    Applier applier;
    for (size_t i : order) {
      BatchContext ctx(&store);
      std::vector<StateDelta> deltas;
      applier.Apply(FromRecord(calls[i]), ctx, &deltas);
      EXPECT_TRUE(store.Commit(ctx.TakeWrites()).ok());
    }
    std::string dump;
    EXPECT_TRUE(store
                    .ScanResources([&](std::string_view key, std::string_view doc) {
                      dump.append(key).append(" ").append(doc).append("\n");
                      return true;
                    })
                    .ok());
    return dump;
  };
  std::vector<size_t> order = {0, 1, 2, 3, 4};
  const std::string in_order = run(order);
  const json doc = json::parse(in_order.substr(in_order.find(' ') + 1));
  EXPECT_EQ(doc["configuration"]["userId"], "AIDABOB");
  EXPECT_EQ(doc["configuration"]["accessKeys"].size(), 1u);
  EXPECT_TRUE(doc["configuration"]["attachedManagedPolicies"].empty());
  EXPECT_FALSE(doc["driftwatch"].contains("partial"));
  int permutations = 0;
  while (std::next_permutation(order.begin(), order.end())) {
    ++permutations;
    std::string got = run(order);
    EXPECT_EQ(got, in_order) << "order " << order[0] << order[1] << order[2] << order[3]
                             << order[4];
  }
  EXPECT_EQ(permutations, 119);
}

TEST_F(ApplierSemanticsTest, DuplicateDeliveryIsANoOp) {
  json r =
      Record("StartLogging", kCt, "2024-06-01T10:00:00Z", {{"name", "main"}}, nullptr, "dup-1");
  Apply(std::vector<Event>{FromRecord(r), FromRecord(r)});  // twice in one batch
  Apply(FromRecord(r));                                     // and again later
  EXPECT_EQ(History(kTrail, "main").size(), 1u);
  // A redelivery that outlived the seen-id TTL is caught by the document's last event id.
  BatchContext ctx(&store_);
  deltas_.clear();
  applier_.Apply(FromRecord(r), ctx, &deltas_);
  EXPECT_TRUE(ctx.TakeWrites().empty());
  EXPECT_TRUE(deltas_.empty());
}

TEST_F(ApplierSemanticsTest, ConfigItemsReplaceDeleteAndDeduplicate) {
  json item = {{"configurationItemCaptureTime", "2024-06-01T10:00:00.000Z"},
               {"configurationStateId", 100},
               {"awsAccountId", "111122223333"},
               {"configurationItemStatus", "ResourceDiscovered"},
               {"resourceType", kTrail},
               {"resourceId", "main"},
               {"ARN", "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"},
               {"awsRegion", "us-east-1"},
               {"configuration", {{"name", "main"}, {"isMultiRegionTrail", true}}},
               {"supplementaryConfiguration", json::object()},
               {"relatedEvents", json::array({"e-1"})}};
  Apply(ConfigItem(item));
  Apply(Record("StopLogging", kCt, "2024-06-01T10:05:00Z", {{"name", "main"}}));
  json doc = Doc(kTrail, "main");
  EXPECT_EQ(doc["configuration"]["isLogging"], false);
  EXPECT_FALSE(doc.contains("relatedEvents"));

  // Same configurationStateId again, even under another event id: nothing happens.
  Event again = ConfigItem(item);
  again.id = "redelivered";
  Apply(again);
  EXPECT_EQ(History(kTrail, "main").size(), 2u);

  item["configurationStateId"] = 101;
  item["configurationItemCaptureTime"] = "2024-06-01T10:20:00.000Z";
  item["configurationItemStatus"] = "OK";
  item["configuration"]["isMultiRegionTrail"] = false;
  Apply(ConfigItem(item));
  doc = Doc(kTrail, "main");
  EXPECT_EQ(doc["configuration"]["isMultiRegionTrail"], false);
  EXPECT_EQ(doc["configuration"]["isLogging"], false);  // kept: Config does not record it
  auto history = History(kTrail, "main");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_NE(history[2].change.find("configuration.isMultiRegionTrail"), std::string::npos)
      << history[2].change;

  item["configurationStateId"] = 102;
  item["configurationItemCaptureTime"] = "2024-06-01T11:00:00.000Z";
  item["configurationItemStatus"] = "ResourceDeleted";
  Apply(ConfigItem(item));
  EXPECT_TRUE(Doc(kTrail, "main").is_null());
  EXPECT_EQ(History(kTrail, "main").size(), 4u);
  EXPECT_TRUE(History(kTrail, "main").back().deleted);
}

// The same, end to end: records as bytes through the real decoder and the pipeline.
TEST(ApplierPipelineTest, RecordsThroughDecoderAndPipeline) {
  MemoryStore store;
  SimdjsonEventDecoder decoder;
  PipelineParts parts;
  parts.decoder = &decoder;
  parts.store = &store;
  Pipeline pipeline(std::move(parts));

  json auth = Record("AuthorizeSecurityGroupIngress", kEc2, "2024-06-01T10:05:00Z",
                     {{"groupId", "sg-9"},
                      {"ipProtocol", "tcp"},
                      {"fromPort", 3389},
                      {"toPort", 3389},
                      {"cidrIp", "0.0.0.0/0"}},
                     {{"_return", true}}, "p-1");
  json describe = Record("DescribeSecurityGroups", kEc2, "2024-06-01T10:06:00Z",
                         {{"groupId", "sg-9"}}, nullptr, "p-2");
  describe["readOnly"] = true;
  json failed = Record("RevokeSecurityGroupIngress", kEc2, "2024-06-01T10:07:00Z",
                       {{"groupId", "sg-9"},
                        {"ipProtocol", "tcp"},
                        {"fromPort", 3389},
                        {"toPort", 3389},
                        {"cidrIp", "0.0.0.0/0"}},
                       nullptr, "p-3");
  failed["errorCode"] = "Client.UnauthorizedOperation";
  const std::string a = auth.dump(), d = describe.dump(), f = failed.dump();
  ASSERT_TRUE(pipeline
                  .ProcessBatch({{a, "t:1", "file:/t", 1},
                                 {d, "t:2", "file:/t", 2},
                                 {f, "t:3", "file:/t", 3},
                                 {a, "t:4", "file:/t", 4}})
                  .ok());
  EXPECT_EQ(pipeline.counters().duplicates, 1);
  std::string text;
  ASSERT_TRUE(store
                  .GetResource(MakeResourceKey("111122223333", "us-east-1",
                                               "AWS::EC2::SecurityGroup", "sg-9"),
                               &text)
                  .ok());
  json doc = json::parse(text);
  ASSERT_EQ(doc["configuration"]["ipPermissions"].size(), 1u);
  EXPECT_EQ(doc["configuration"]["ipPermissions"][0]["fromPort"], 3389);
  int entries = 0;
  ASSERT_TRUE(store
                  .ScanHistory("",
                               [&](const HistoryEntry&) {
                                 ++entries;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(entries, 1);

  // A batch of only read-only calls (not moving the event-time watermark) writes nothing.
  const int64_t commits = store.commits();
  json describe2 =
      Record("DescribeInstances", kEc2, "2024-06-01T10:01:00Z", json::object(), nullptr, "p-5");
  describe2["readOnly"] = true;
  const std::string d2 = describe2.dump();
  ASSERT_TRUE(pipeline.ProcessBatch({{d2, "t:5", "", 0}}).ok());
  EXPECT_EQ(store.commits(), commits);
}

}  // namespace
}  // namespace driftwatch
