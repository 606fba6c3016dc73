#include "ingest/decoder.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/event_decoder.h"

namespace driftwatch {
namespace {

std::string ReadSample(const std::string& name) {
  std::ifstream in(std::string(DW_SOURCE_DIR) + "/tests/data/decoder/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A compact bare CloudTrail record, IAM user, MFA from the session attributes.
constexpr std::string_view kBareRecord =
    R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE",)"
    R"("arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333",)"
    R"("accessKeyId":"AKIAEXAMPLEBOB00001","userName":"bob","sessionContext":{"attributes":)"
    R"({"creationDate":"2024-03-05T09:00:00Z","mfaAuthenticated":"true"}}},)"
    R"("eventTime":"2024-03-05T09:30:00Z","eventSource":"iam.amazonaws.com",)"
    R"("eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1",)"
    R"("userAgent":"aws-cli/2.15.0","requestParameters":{"userName":"bob"},)"
    R"("responseElements":{"accessKey":{"accessKeyId":"AKIANEW","status":"Active",)"
    R"("createDate":"Mar 5, 2024 9:30:00 AM"}},"eventID":"e0000000-0000-4000-8000-00000000b0b1",)"
    R"("eventType":"AwsApiCall","recipientAccountId":"111122223333"})";

// The notification style of a configuration item, inside a ConfigurationItemChangeNotification.
constexpr std::string_view kItemNotification =
    R"({"configurationItemDiff":{"changedProperties":{},"changeType":"CREATE"},)"
    R"("configurationItem":{"relatedEvents":[],"relationships":[],"configuration":)"
    R"({"groupId":"sg-1","ipPermissions":[]},"supplementaryConfiguration":{},"tags":{},)"
    R"("configurationItemVersion":"1.3","configurationItemCaptureTime":"2024-03-04T00:00:00.000Z",)"
    R"("configurationStateId":1709510400000,"awsAccountId":"111122223333",)"
    R"("configurationItemStatus":"ResourceDiscovered","resourceType":"AWS::EC2::SecurityGroup",)"
    R"("resourceId":"sg-1","resourceName":"web","ARN":"arn:aws:ec2:eu-west-1:111122223333:)"
    R"(security-group/sg-1","awsRegion":"eu-west-1"},"notificationCreationTime":)"
    R"("2024-03-04T00:00:02.000Z","messageType":"ConfigurationItemChangeNotification",)"
    R"("recordVersion":"1.3"})";

constexpr std::string_view kComplianceNotification =
    R"({"awsAccountId":"111122223333","configRuleName":"s3-bucket-public-read-prohibited",)"
    R"("configRuleARN":"arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-abc",)"
    R"("resourceType":"AWS::S3::Bucket","resourceId":"audit-logs","awsRegion":"eu-west-1",)"
    R"("newEvaluationResult":{"evaluationResultIdentifier":{"evaluationResultQualifier":)"
    R"({"configRuleName":"s3-bucket-public-read-prohibited","resourceType":"AWS::S3::Bucket",)"
    R"("resourceId":"audit-logs"},"orderingTimestamp":"2024-03-04T00:00:00.000Z"},)"
    R"("complianceType":"NON_COMPLIANT","resultRecordedTime":"2024-03-04T00:00:01.000Z",)"
    R"("configRuleInvokedTime":"2024-03-04T00:00:00.500Z"},"oldEvaluationResult":null,)"
    R"("notificationCreationTime":"2024-03-04T00:00:02.000Z",)"
    R"("messageType":"ComplianceChangeNotification","recordVersion":"1.0"})";

// Compact text of a JSON document, keys in their original order.
std::string Compact(std::string_view json) { return nlohmann::ordered_json::parse(json).dump(); }

// A JSON string literal holding `text` (for SNS Message / invokingEvent).
std::string Quoted(std::string_view text) { return nlohmann::json(std::string(text)).dump(); }

class DecoderTest : public ::testing::Test {
 protected:
  DecodeResult Decode(std::string_view text, std::string_view origin = "test:1") {
    events_.clear();
    return decoder_.Decode(text, origin, &events_);
  }
  // Decodes a record that must be rejected whole, with `reason`.
  void ExpectRejected(std::string_view text, InvalidReason reason) {
    DecodeResult r = Decode(text);
    EXPECT_EQ(r.events, 0u);
    EXPECT_TRUE(events_.empty());
    ASSERT_EQ(r.invalid.size(), 1u) << text.substr(0, 200);
    EXPECT_EQ(InvalidReasonName(r.invalid[0].reason), InvalidReasonName(reason))
        << r.invalid[0].detail;
    EXPECT_EQ(r.invalid[0].element, -1);
    EXPECT_FALSE(r.invalid[0].detail.empty());
    EXPECT_EQ(r.invalid[0].detail.find('\n'), std::string::npos);
  }

  Decoder decoder_;
  std::vector<Event> events_;
};

// ---- CloudTrail ----------------------------------------------------------------------------

TEST_F(DecoderTest, BareCloudTrailRecord) {
  DecodeResult r = Decode(kBareRecord, "trail.ndjson:7");
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.kind, EventKind::kApiCall);
  EXPECT_EQ(e.id, "e0000000-0000-4000-8000-00000000b0b1");
  EXPECT_EQ(e.time_ms, 1709631000000);
  EXPECT_EQ(e.account, "111122223333");
  EXPECT_EQ(e.region, "us-east-1");
  EXPECT_EQ(e.principal.type, "IAMUser");
  EXPECT_EQ(e.principal.arn, "arn:aws:iam::111122223333:user/bob");
  EXPECT_EQ(e.principal.account_id, "111122223333");
  EXPECT_EQ(e.principal.access_key_id, "AKIAEXAMPLEBOB00001");
  EXPECT_EQ(e.principal.user_name, "bob");
  EXPECT_EQ(e.principal.session_name, "");
  EXPECT_TRUE(e.principal.mfa_used);
  EXPECT_EQ(e.source_ip, "198.51.100.1");
  EXPECT_EQ(e.user_agent, "aws-cli/2.15.0");
  EXPECT_EQ(e.event_source, "iam.amazonaws.com");
  EXPECT_EQ(e.event_name, "CreateAccessKey");
  EXPECT_EQ(e.error_code, "");
  EXPECT_FALSE(e.read_only);
  EXPECT_TRUE(e.resources.empty());
  EXPECT_EQ(e.document, kBareRecord);
  EXPECT_EQ(e.origin, "trail.ndjson:7");
}

TEST_F(DecoderTest, PrettyPrintedRecordGetsACompactDocument) {
  std::string pretty = nlohmann::ordered_json::parse(kBareRecord).dump(2);
  DecodeResult r = Decode("\n  " + pretty + "\n\n");
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(events_[0].document, kBareRecord);
}

TEST_F(DecoderTest, CloudTrailLogFile) {
  const std::string text = ReadSample("cloudtrail_log_file.json");
  DecodeResult r = Decode(text, "log.json");
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 3u);

  const Event& a = events_[0];
  EXPECT_EQ(a.event_name, "AuthorizeSecurityGroupIngress");
  EXPECT_EQ(a.time_ms, 1709288130000);
  EXPECT_EQ(a.region, "eu-west-1");
  EXPECT_EQ(a.principal.type, "AssumedRole");
  EXPECT_EQ(a.principal.session_name, "deploy-bot");
  EXPECT_EQ(a.principal.issuer_arn, "arn:aws:iam::111122223333:role/Deployer");
  EXPECT_EQ(a.principal.user_name, "Deployer");  // from the session issuer
  EXPECT_EQ(a.principal.access_key_id, "ASIAEXAMPLEKEY00001");
  EXPECT_TRUE(a.principal.mfa_used);
  EXPECT_FALSE(a.read_only);
  ASSERT_EQ(a.resources.size(), 1u);
  EXPECT_EQ(a.resources[0].type, "AWS::EC2::SecurityGroup");
  EXPECT_EQ(a.resources[0].arn,
            "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0123456789abcdef0");
  // The document is this record alone, compact, with any field reachable.
  nlohmann::json doc = nlohmann::json::parse(a.document);
  EXPECT_EQ(doc["eventID"], "e0000000-0000-4000-8000-000000000001");
  EXPECT_EQ(doc["requestParameters"]["ipPermissions"]["items"][0]["ipRanges"]["items"][0]["cidrIp"],
            "0.0.0.0/0");
  EXPECT_EQ(a.document, Compact(a.document));
  EXPECT_EQ(a.origin, "log.json");

  const Event& b = events_[1];
  EXPECT_EQ(b.event_name, "ListBuckets");
  EXPECT_EQ(b.time_ms, 1709288160250);
  EXPECT_TRUE(b.read_only);  // no readOnly field: from the List prefix
  EXPECT_FALSE(b.principal.mfa_used);
  EXPECT_EQ(b.principal.user_name, "alice");
  EXPECT_EQ(nlohmann::json::parse(b.document)["requestParameters"], nullptr);

  const Event& c = events_[2];
  EXPECT_EQ(c.error_code, "AccessDenied");
  EXPECT_EQ(c.principal.type, "AWSService");
  EXPECT_EQ(c.principal.invoked_by, "cloudformation.amazonaws.com");
  EXPECT_EQ(c.account, "111122223333");  // recipientAccountId; the service has no accountId
  EXPECT_FALSE(c.read_only);
}

TEST_F(DecoderTest, ReadOnlyFieldWinsOverTheName) {
  std::string text(kBareRecord);
  text.insert(text.size() - 1, R"(,"readOnly":true)");
  ASSERT_EQ(Decode(text).events, 1u);
  EXPECT_TRUE(events_[0].read_only);
  for (const char* name : {"DescribeInstances", "GetObject", "HeadBucket", "LookupEvents"}) {
    std::string t(kBareRecord);
    t.replace(t.find("CreateAccessKey"), 15, name);
    ASSERT_EQ(Decode(t).events, 1u);
    EXPECT_TRUE(events_[0].read_only) << name;
  }
}

TEST_F(DecoderTest, RecordWithoutIdentityOrTimeStillDecodes) {
  DecodeResult r = Decode(
      R"({"eventSource":"kms.amazonaws.com","eventName":"RotateKey","awsRegion":"us-west-2",)"
      R"("eventId":"lower-case-id"})");
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(events_[0].time_ms, 0);
  EXPECT_EQ(events_[0].id, "lower-case-id");
  EXPECT_EQ(events_[0].principal.type, "");
}

// ---- EventBridge ---------------------------------------------------------------------------

TEST_F(DecoderTest, EventBridgeApiCall) {
  const std::string text =
      R"({"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.iam",)"
      R"("account":"111122223333","time":"2024-03-05T09:30:01Z","region":"us-east-1",)"
      R"("resources":["arn:aws:iam::111122223333:user/bob"],"detail":)" +
      std::string(kBareRecord) + "}";
  DecodeResult r = Decode(text);
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(events_[0].event_name, "CreateAccessKey");
  EXPECT_EQ(events_[0].time_ms, 1709631000000);  // the record's time, not the envelope's
  EXPECT_EQ(events_[0].document, kBareRecord);   // the detail, not the envelope
}

TEST_F(DecoderTest, EventBridgeConsoleSignInWithMfaUsed) {
  DecodeResult r = Decode(ReadSample("eventbridge_console_signin.json"));
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.event_name, "ConsoleLogin");
  EXPECT_EQ(e.principal.type, "Root");
  EXPECT_TRUE(e.principal.mfa_used);  // additionalEventData.MFAUsed "YES"
  EXPECT_EQ(e.time_ms, 1709366400000);
  EXPECT_EQ(nlohmann::json::parse(e.document)["responseElements"]["ConsoleLogin"], "Success");
}

TEST_F(DecoderTest, EventBridgeDetailBeforeDetailType) {
  const std::string text = R"({"detail":)" + std::string(kBareRecord) +
                           R"(,"detail-type":"AWS API Call via CloudTrail","source":"aws.iam"})";
  ASSERT_EQ(Decode(text).events, 1u);
  EXPECT_EQ(events_[0].event_name, "CreateAccessKey");
}

TEST_F(DecoderTest, EventBridgeConfigItemChange) {
  const std::string text =
      R"({"version":"0","id":"2","detail-type":"Config Configuration Item Change",)"
      R"("source":"aws.config","account":"111122223333","time":"2024-03-04T00:00:03Z",)"
      R"("region":"eu-west-1","resources":[],"detail":)" +
      std::string(kItemNotification) + "}";
  DecodeResult r = Decode(text);
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.kind, EventKind::kConfigItem);
  EXPECT_EQ(e.id, "AWS::EC2::SecurityGroup/sg-1/1709510400000");
  EXPECT_EQ(e.time_ms, 1709510400000);
  EXPECT_EQ(e.config_status, "ResourceDiscovered");
  EXPECT_EQ(e.event_source, "config.amazonaws.com");
  EXPECT_EQ(e.event_name, "ConfigurationItemChange");
  nlohmann::json doc = nlohmann::json::parse(e.document);
  EXPECT_EQ(doc["resourceId"], "sg-1");  // the configuration item itself
  EXPECT_FALSE(doc.contains("configurationItemDiff"));
}

TEST_F(DecoderTest, EventBridgeComplianceChange) {
  const std::string text =
      R"({"version":"0","id":"3","detail-type":"Config Rules Compliance Change",)"
      R"("source":"aws.config","account":"111122223333","time":"2024-03-04T00:00:03Z",)"
      R"("region":"eu-west-1","resources":[],"detail":)" +
      std::string(kComplianceNotification) + "}";
  DecodeResult r = Decode(text);
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(events_[0].kind, EventKind::kComplianceChange);
  EXPECT_EQ(events_[0].compliance_type, "NON_COMPLIANT");
  EXPECT_EQ(events_[0].document, kComplianceNotification);
}

TEST_F(DecoderTest, EventBridgeUnknownDetailTypeFallsBackOnTheDetail) {
  const std::string ok =
      R"({"detail-type":"...","source":"...","detail":)" + std::string(kBareRecord) + "}";
  ASSERT_EQ(Decode(ok).events, 1u);
  ExpectRejected(R"({"detail-type":"EC2 Instance State-change Notification","detail":)"
                 R"({"instance-id":"i-1","state":"running"}})",
                 InvalidReason::kUnknownEnvelope);
  ExpectRejected(R"({"detail-type":"AWS API Call via CloudTrail","source":"aws.iam"})",
                 InvalidReason::kMissingField);
  ExpectRejected(R"({"detail-type":"AWS API Call via CloudTrail","detail":"oops"})",
                 InvalidReason::kWrongType);
}

// ---- SNS -----------------------------------------------------------------------------------

TEST_F(DecoderTest, SnsConfigItemChange) {
  DecodeResult r = Decode(ReadSample("sns_config_item_change.json"));
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.kind, EventKind::kConfigItem);
  EXPECT_EQ(e.id, "AWS::S3::Bucket/audit-logs/1709467200123");
  EXPECT_EQ(e.time_ms, 1709467200123);
  EXPECT_EQ(e.account, "111122223333");
  EXPECT_EQ(e.region, "eu-west-1");
  ASSERT_EQ(e.resources.size(), 1u);
  EXPECT_EQ(e.resources[0].type, "AWS::S3::Bucket");
  EXPECT_EQ(e.resources[0].id, "audit-logs");
  EXPECT_EQ(e.resources[0].arn, "arn:aws:s3:::audit-logs");
  nlohmann::json doc = nlohmann::json::parse(e.document);
  EXPECT_EQ(doc["supplementaryConfiguration"]["BucketPolicy"]["policyText"],
            R"({"Version":"2012-10-17"})");
}

TEST_F(DecoderTest, SnsHoldingEventBridgeHoldingCloudTrail) {
  const std::string eventbridge =
      R"({"detail-type":"AWS API Call via CloudTrail","detail":)" + std::string(kBareRecord) + "}";
  const std::string sns = R"({"Type":"Notification","MessageId":"m","Message":)" +
                          Quoted(eventbridge) + R"(,"Timestamp":"2024-03-05T09:30:02Z"})";
  DecodeResult r = Decode(sns);
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(events_[0].document, kBareRecord);
}

TEST_F(DecoderTest, SnsHoldingALogFileAndACompliance) {
  const std::string log = ReadSample("cloudtrail_log_file.json");
  std::string sns = R"({"Type":"Notification","Message":)" + Quoted(log) + "}";
  ASSERT_EQ(Decode(sns).events, 3u);
  sns = R"({"Type":"Notification","Message":)" + Quoted(kComplianceNotification) + "}";
  ASSERT_EQ(Decode(sns).events, 1u);
  EXPECT_EQ(events_[0].kind, EventKind::kComplianceChange);
}

TEST_F(DecoderTest, SnsNestingIsBounded) {
  std::string text(kBareRecord);
  for (int i = 0; i < 8; ++i) text = R"({"Type":"Notification","Message":)" + Quoted(text) + "}";
  ExpectRejected(text, InvalidReason::kTooDeep);
}

TEST_F(DecoderTest, SnsMessageThatIsNotJson) {
  ExpectRejected(R"({"Type":"Notification","Message":"hello there"})",
                 InvalidReason::kMalformedJson);
  EXPECT_NE(decoder_.Decode(R"({"Type":"Notification","Message":"{\"a\":"})", "x", &events_)
                .invalid[0]
                .detail.find("SNS Message"),
            std::string::npos);
}

// ---- AWS Config ----------------------------------------------------------------------------

TEST_F(DecoderTest, ConfigItemChangeNotification) {
  DecodeResult r = Decode(kItemNotification);
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(events_[0].kind, EventKind::kConfigItem);
  EXPECT_EQ(events_[0].account, "111122223333");
  EXPECT_EQ(events_[0].resources[0].arn, "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1");
}

TEST_F(DecoderTest, BareConfigItemApiSpelling) {
  DecodeResult r = Decode(
      R"({"version":"1.3","accountId":"444455556666","configurationItemCaptureTime":)"
      R"("2024-03-04T00:00:00Z","configurationItemStatus":"OK","arn":"arn:aws:iam::444455556666:)"
      R"(role/Admin","resourceType":"AWS::IAM::Role","resourceId":"AROAADMIN",)"
      R"("awsRegion":"global","configuration":{"roleName":"Admin"}})");
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.kind, EventKind::kConfigItem);
  EXPECT_EQ(e.account, "444455556666");
  EXPECT_EQ(e.resources[0].arn, "arn:aws:iam::444455556666:role/Admin");
  EXPECT_EQ(e.config_status, "OK");
  // No configurationStateId: the capture time names the version.
  EXPECT_EQ(e.id, "AWS::IAM::Role/AROAADMIN/2024-03-04T00:00:00Z");
  EXPECT_EQ(e.time_ms, 1709510400000);
}

TEST_F(DecoderTest, OversizedConfigItemChange) {
  DecodeResult r = Decode(
      R"({"configurationItemSummary":{"changeType":"UPDATE","configurationItemVersion":"1.3",)"
      R"("configurationItemCaptureTime":"2024-03-04T00:00:00.000Z","configurationStateId":0,)"
      R"("awsAccountId":"111122223333","configurationItemStatus":"OK","resourceType":)"
      R"("AWS::EC2::Instance","resourceId":"i-1","resourceName":null,"ARN":)"
      R"("arn:aws:ec2:eu-west-1:111122223333:instance/i-1","awsRegion":"eu-west-1",)"
      R"("configurationStateMd5Hash":"","resourceCreationTime":"2024-01-01T00:00:00Z"},)"
      R"("s3DeliverySummary":{"s3BucketLocation":"bucket/key"},"notificationCreationTime":)"
      R"("2024-03-04T00:00:05Z","messageType":"OversizedConfigurationItemChangeNotification",)"
      R"("recordVersion":"1.0"})");
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.kind, EventKind::kConfigItem);
  EXPECT_EQ(e.id, "AWS::EC2::Instance/i-1/0");
  EXPECT_EQ(e.config_status, "OK");
  EXPECT_FALSE(nlohmann::json::parse(e.document).contains("configuration"));
}

TEST_F(DecoderTest, ComplianceChangeNotification) {
  DecodeResult r = Decode(kComplianceNotification);
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.kind, EventKind::kComplianceChange);
  EXPECT_EQ(e.config_rule, "s3-bucket-public-read-prohibited");
  EXPECT_EQ(e.compliance_type, "NON_COMPLIANT");
  EXPECT_EQ(e.id,
            "s3-bucket-public-read-prohibited/AWS::S3::Bucket/audit-logs/2024-03-04T00:00:02.000Z");
  EXPECT_EQ(e.event_name, "ComplianceChange");
  ASSERT_EQ(e.resources.size(), 1u);
  EXPECT_EQ(e.resources[0].id, "audit-logs");
  EXPECT_EQ(e.account, "111122223333");
}

TEST_F(DecoderTest, ConfigSnapshotKeepsGoodItems) {
  DecodeResult r = Decode(ReadSample("config_snapshot.json"));
  ASSERT_EQ(r.events, 2u);
  ASSERT_EQ(r.invalid.size(), 2u);
  EXPECT_EQ(r.invalid[0].element, 1);
  EXPECT_EQ(r.invalid[0].reason, InvalidReason::kWrongType);
  EXPECT_EQ(r.invalid[1].element, 3);
  EXPECT_EQ(r.invalid[1].reason, InvalidReason::kMissingField);
  EXPECT_EQ(events_[0].resources[0].type, "AWS::EC2::SecurityGroup");
  EXPECT_EQ(events_[0].config_status, "ResourceDiscovered");
  EXPECT_EQ(events_[1].resources[0].type, "AWS::IAM::User");  // API spelling
  EXPECT_EQ(events_[1].account, "111122223333");
  EXPECT_EQ(events_[1].id, "AWS::IAM::User/AIDAEXAMPLEUSER/1709510401000");
}

TEST_F(DecoderTest, DeliveryNoticesAreReadOnlyConfigEvents) {
  DecodeResult r =
      Decode(R"({"configSnapshotId":"snap-1","s3ObjectKey":"AWSLogs/1/Config/snap.json.gz",)"
             R"("s3Bucket":"b","notificationCreationTime":"2024-03-04T00:00:00Z",)"
             R"("messageType":"ConfigurationSnapshotDeliveryCompleted","recordVersion":"1.1"})");
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.kind, EventKind::kApiCall);
  EXPECT_EQ(e.event_source, "config.amazonaws.com");
  EXPECT_EQ(e.event_name, "ConfigurationSnapshotDeliveryCompleted");
  EXPECT_TRUE(e.read_only);
  EXPECT_TRUE(e.resources.empty());
  EXPECT_EQ(e.time_ms, 1709510400000);
}

TEST_F(DecoderTest, ConfigRuleInvocation) {
  const std::string text = R"({"invokingEvent":)" + Quoted(kItemNotification) +
                           R"(,"ruleParameters":"{}","resultToken":"t","eventLeftScope":false,)"
                           R"("configRuleName":"r","accountId":"111122223333","version":"1.0"})";
  DecodeResult r = Decode(text);
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(events_[0].id, "AWS::EC2::SecurityGroup/sg-1/1709510400000");
}

TEST_F(DecoderTest, NotificationWithAListOfItems) {
  DecodeResult r = Decode(
      R"({"MessageVersion":"1.0","NotificationCreateTime":"2024-03-04T00:00:00Z",)"
      R"("messageType":"ConfigurationItemChangeNotification","configurationItem":[)"
      R"({"configurationItemVersion":"1.0","configurationItemCaptureTime":"2024-03-04T00:00:00Z",)"
      R"("resourceId":"vol-1","accountId":"1","configurationStateID":"s1",)"
      R"("configurationItemStatus":"OK","resourceType":"AWS::EC2::Volume"}]})");
  ASSERT_TRUE(r.invalid.empty()) << r.invalid[0].detail;
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(events_[0].id, "AWS::EC2::Volume/vol-1/s1");
}

TEST_F(DecoderTest, EmptyLogFileAndSnapshotSayTheyAreEmpty) {
  for (std::string_view text : {R"({"Records": []})", R"({"configurationItems":[]})",
                                R"({"fileVersion":"1.0","configurationItems":[],"x":1})"}) {
    DecodeResult r = Decode(text);
    EXPECT_EQ(r.events, 0u) << text;
    EXPECT_TRUE(r.invalid.empty()) << text;
    EXPECT_EQ(r.empty_containers, 1u) << text;
  }
  // A container with elements is not empty, even when every element is bad; and a record broken
  // after an empty container is rejected whole, not counted as empty.
  DecodeResult bad = Decode(R"({"Records":[1]})");
  EXPECT_EQ(bad.empty_containers, 0u);
  EXPECT_EQ(bad.invalid.size(), 1u);
  DecodeResult broken = Decode(R"({"Records":[], )");
  EXPECT_EQ(broken.empty_containers, 0u);
  ASSERT_EQ(broken.invalid.size(), 1u);
  EXPECT_EQ(broken.invalid[0].reason, InvalidReason::kMalformedJson);
  EXPECT_EQ(Decode(kBareRecord).empty_containers, 0u);
}

// ---- Bad input -----------------------------------------------------------------------------

TEST_F(DecoderTest, TruncatedJson) {
  for (size_t cut : {size_t{1}, size_t{10}, kBareRecord.size() / 2, kBareRecord.size() - 1}) {
    ExpectRejected(kBareRecord.substr(0, cut), InvalidReason::kMalformedJson);
  }
  ExpectRejected("", InvalidReason::kMalformedJson);
  ExpectRejected("   \n", InvalidReason::kMalformedJson);
  ExpectRejected("not json at all", InvalidReason::kMalformedJson);
  ExpectRejected(std::string(kBareRecord) + " {}", InvalidReason::kMalformedJson);
}

TEST_F(DecoderTest, EveryPrefixIsDecodedOrRejectedNeverDropped) {
  const std::string text = ReadSample("cloudtrail_log_file.json");
  for (size_t n = 0; n <= text.size(); ++n) {
    DecodeResult r = Decode(std::string_view(text).substr(0, n));
    ASSERT_TRUE(r.events > 0 || !r.invalid.empty()) << "prefix " << n;
    ASSERT_EQ(r.events, events_.size());
  }
}

TEST_F(DecoderTest, WrongTypes) {
  auto with = [](std::string_view from, std::string_view to) {
    std::string t(kBareRecord);
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  // A string where an object belongs.
  ExpectRejected(with(R"({"type":"IAMUser","principalId":"AIDAEXAMPLE",)",
                      R"("alice","x":{"principalId":"AIDAEXAMPLE",)"),
                 InvalidReason::kWrongType);
  ExpectRejected(with(R"("requestParameters":{"userName":"bob"})", R"("requestParameters":"bob")"),
                 InvalidReason::kWrongType);
  ExpectRejected(with(R"("eventTime":"2024-03-05T09:30:00Z")", R"("eventTime":{"t":1})"),
                 InvalidReason::kWrongType);
  ExpectRejected(with(R"("eventName":"CreateAccessKey")", R"("eventName":["CreateAccessKey"])"),
                 InvalidReason::kWrongType);
  // {} where a list belongs.
  ExpectRejected(R"({"Records":{}})", InvalidReason::kWrongType);
  ExpectRejected(R"({"configurationItems":{}})", InvalidReason::kWrongType);
  ExpectRejected(with(R"("eventType")", R"("resources":{},"eventType")"),
                 InvalidReason::kWrongType);
  // null requestParameters is valid (and common).
  DecodeResult r =
      Decode(with(R"("requestParameters":{"userName":"bob"})", R"("requestParameters":null)"));
  EXPECT_EQ(r.events, 1u);
  EXPECT_TRUE(r.invalid.empty());
}

TEST_F(DecoderTest, BadElementOfALogFileIsReportedAloneAndTheRestKept) {
  const std::string text = R"({"Records":[)" + std::string(kBareRecord) +
                           R"(,{"eventSource":"s3.amazonaws.com","eventName":7},42,)"
                           R"({"eventSource":"s3.amazonaws.com"},)" +
                           std::string(kBareRecord) + "]}";
  DecodeResult r = Decode(text);
  EXPECT_EQ(r.events, 2u);
  ASSERT_EQ(r.invalid.size(), 3u);
  EXPECT_EQ(r.invalid[0].element, 1);
  EXPECT_EQ(r.invalid[0].reason, InvalidReason::kWrongType);
  EXPECT_EQ(r.invalid[1].element, 2);
  EXPECT_EQ(r.invalid[1].reason, InvalidReason::kWrongType);
  EXPECT_EQ(r.invalid[2].element, 3);
  EXPECT_EQ(r.invalid[2].reason, InvalidReason::kMissingField);
  EXPECT_EQ(events_[1].document, kBareRecord);
}

TEST_F(DecoderTest, JsonBrokenPartWayRejectsTheWholeRecord) {
  // Events already taken from the first element are withdrawn: the dead letter holds it all.
  const std::string text =
      R"({"Records":[)" + std::string(kBareRecord) + R"(,{"eventSource":"s3.amazonaws.com",]})";
  ExpectRejected(text, InvalidReason::kMalformedJson);
}

TEST_F(DecoderTest, UnknownEnvelopes) {
  ExpectRejected(R"({"hello":"world"})", InvalidReason::kUnknownEnvelope);
  ExpectRejected(R"({})", InvalidReason::kUnknownEnvelope);
  ExpectRejected(R"([1,2,3])", InvalidReason::kUnknownEnvelope);
  ExpectRejected(R"("just a string")", InvalidReason::kUnknownEnvelope);
  ExpectRejected(R"(42)", InvalidReason::kUnknownEnvelope);
  ExpectRejected(R"({"eventSource":"s3.amazonaws.com"})", InvalidReason::kMissingField);
  ExpectRejected(R"({"messageType":"ComplianceChangeNotification","awsAccountId":"1"})",
                 InvalidReason::kMissingField);
  ExpectRejected(R"({"messageType":"ConfigurationItemChangeNotification"})",
                 InvalidReason::kMissingField);
}

TEST_F(DecoderTest, TooLarge) {
  std::string big = R"({"eventSource":"s3.amazonaws.com","eventName":"PutObject","pad":")";
  big.append(10 * 1024 * 1024, 'a');
  big += "\"}";
  ExpectRejected(big, InvalidReason::kTooLarge);
  // Under a raised limit the same record decodes.
  Decoder roomy(DecoderOptions{16 * 1024 * 1024, 256});
  std::vector<Event> out;
  EXPECT_EQ(roomy.Decode(big, "big", &out).events, 1u);
}

TEST_F(DecoderTest, TooDeep) {
  std::string deep = R"({"eventSource":"s3.amazonaws.com","eventName":"PutObject","x":)";
  deep += std::string(1000, '[') + std::string(1000, ']') + "}";
  ExpectRejected(deep, InvalidReason::kTooDeep);
  // Brackets inside strings are not nesting.
  std::string shallow = R"({"eventSource":"s3.amazonaws.com","eventName":"PutObject","x":")";
  shallow += std::string(1000, '[') + std::string(1000, '{') + R"("})";
  EXPECT_EQ(Decode(shallow).events, 1u);
  // Deep nesting inside an SNS Message string is caught too.
  ExpectRejected(R"({"Type":"Notification","Message":)" + Quoted(deep) + "}",
                 InvalidReason::kTooDeep);
}

TEST_F(DecoderTest, InvalidUtf8) {
  std::string bad(kBareRecord);
  bad.replace(bad.find("aws-cli"), 3, "\xff\xfe\x80");
  ExpectRejected(bad, InvalidReason::kInvalidUtf8);
  std::string overlong(kBareRecord);
  overlong.replace(overlong.find("bob"), 2, "\xc0\xaf");
  ExpectRejected(overlong, InvalidReason::kInvalidUtf8);
}

TEST_F(DecoderTest, ReasonNamesAreStable) {
  EXPECT_EQ(InvalidReasonName(InvalidReason::kMalformedJson), "malformed_json");
  EXPECT_EQ(InvalidReasonName(InvalidReason::kInvalidUtf8), "invalid_utf8");
  EXPECT_EQ(InvalidReasonName(InvalidReason::kTooLarge), "too_large");
  EXPECT_EQ(InvalidReasonName(InvalidReason::kTooDeep), "too_deep");
  EXPECT_EQ(InvalidReasonName(InvalidReason::kUnknownEnvelope), "unknown_envelope");
  EXPECT_EQ(InvalidReasonName(InvalidReason::kWrongType), "wrong_type");
  EXPECT_EQ(InvalidReasonName(InvalidReason::kMissingField), "missing_field");
}

// ---- Reuse and the pipeline adapter ---------------------------------------------------------

TEST_F(DecoderTest, DecodeIntoReusesEventsWithoutStaleFields) {
  const std::string log = ReadSample("cloudtrail_log_file.json");
  std::vector<Event> out;
  size_t used = 0;
  ASSERT_EQ(decoder_.DecodeInto(log, "a", &out, &used).events, 3u);
  ASSERT_EQ(used, 3u);
  ASSERT_EQ(out[0].resources.size(), 1u);
  // A new batch over the same vector: fewer events, each overwritten completely.
  used = 0;
  ASSERT_EQ(decoder_.DecodeInto(kBareRecord, "b", &out, &used).events, 1u);
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(out.size(), 3u);  // storage kept for the next batch
  EXPECT_EQ(out[0].event_name, "CreateAccessKey");
  EXPECT_TRUE(out[0].resources.empty());
  EXPECT_TRUE(out[0].principal.issuer_arn.empty());
  EXPECT_EQ(out[0].origin, "b");
  EXPECT_EQ(out[0].document, kBareRecord);
  // Appending after `used` grows the vector only when needed.
  ASSERT_EQ(decoder_.DecodeInto(log, "c", &out, &used).events, 3u);
  EXPECT_EQ(used, 4u);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].error_code, "AccessDenied");
}

TEST_F(DecoderTest, DecodeInPlaceWithCallerPadding) {
  std::string buffer(kBareRecord);
  buffer.append(Decoder::kPaddingBytes, ' ');
  std::vector<Event> out;
  size_t used = 0;
  DecodeResult r = decoder_.DecodeInto(std::string_view(buffer.data(), kBareRecord.size()), "p",
                                       &out, &used, Decoder::kPaddingBytes);
  ASSERT_EQ(r.events, 1u);
  EXPECT_EQ(out[0].document, kBareRecord);
}

TEST(SimdjsonEventDecoderTest, ReportsReasonsForThePipeline) {
  SimdjsonEventDecoder decoder;
  std::vector<Event> events;
  std::vector<EventDecoder::Rejected> rejected;
  decoder.Decode(R"({"Records":[42]})", "f:1", &events, &rejected);
  EXPECT_TRUE(events.empty());
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].reason, static_cast<int>(InvalidReason::kWrongType));
  EXPECT_EQ(rejected[0].reason_name, "wrong_type");
  EXPECT_EQ(rejected[0].detail.rfind("element 0: ", 0), 0u) << rejected[0].detail;
  rejected.clear();
  decoder.Decode(kBareRecord, "f:2", &events, &rejected);
  EXPECT_TRUE(rejected.empty());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].origin, "f:2");
}

}  // namespace
}  // namespace driftwatch
