#include "tests/appliers/applier_test_util.h"

namespace driftwatch {
namespace {

using testing_util::ApplierFixture;
using testing_util::json;
using testing_util::Record;

constexpr const char* kTrail = "AWS::CloudTrail::Trail";
constexpr const char* kCt = "cloudtrail.amazonaws.com";

class LoggingApplierTest : public ApplierFixture {};

TEST_F(LoggingApplierTest, TrailLifecycle) {
  Apply(Record("CreateTrail", kCt, "2024-06-01T10:00:00Z",
               {{"name", "main"},
                {"s3BucketName", "trail-bucket"},
                {"isMultiRegionTrail", true},
                {"enableLogFileValidation", true}},
               {{"name", "main"},
                {"s3BucketName", "trail-bucket"},
                {"isMultiRegionTrail", true},
                {"logFileValidationEnabled", true},
                {"trailARN", "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"}}));
  json cfg = Doc(kTrail, "main")["configuration"];
  EXPECT_EQ(cfg["isLogging"], false);
  EXPECT_EQ(cfg["isMultiRegionTrail"], true);
  EXPECT_EQ(cfg["logFileValidationEnabled"], true);
  EXPECT_EQ(cfg["trailARN"], "arn:aws:cloudtrail:us-east-1:111122223333:trail/main");

  Apply(Record("StartLogging", kCt, "2024-06-01T10:01:00Z", {{"name", "main"}}));
  EXPECT_EQ(Doc(kTrail, "main")["configuration"]["isLogging"], true);
  Apply(Record("StopLogging", kCt, "2024-06-01T10:02:00Z",
               {{"name", "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"}}));
  EXPECT_EQ(Doc(kTrail, "main")["configuration"]["isLogging"], false);

  Apply(Record("UpdateTrail", kCt, "2024-06-01T10:03:00Z",
               {{"name", "main"}, {"isMultiRegionTrail", false}},
               {{"name", "main"}, {"isMultiRegionTrail", false}}));
  EXPECT_EQ(Doc(kTrail, "main")["configuration"]["isMultiRegionTrail"], false);

  json selectors =
      json::array({{{"readWriteType", "ReadOnly"}, {"includeManagementEvents", false}}});
  Apply(Record("PutEventSelectors", kCt, "2024-06-01T10:04:00Z",
               {{"trailName", "main"}, {"eventSelectors", selectors}}));
  EXPECT_EQ(Doc(kTrail, "main")["configuration"]["eventSelectors"], selectors);

  Apply(Record("DeleteTrail", kCt, "2024-06-01T10:05:00Z", {{"name", "main"}}));
  EXPECT_TRUE(Doc(kTrail, "main").is_null());
  auto history = History(kTrail, "main");
  ASSERT_EQ(history.size(), 6u);
  EXPECT_NE(history[2].change.find("\"isLogging\""), std::string::npos) << history[2].change;
}

TEST_F(LoggingApplierTest, ConfigRecorderAndDeliveryChannel) {
  const char* rec = "AWS::Config::ConfigurationRecorder";
  Apply(Record("PutConfigurationRecorder", "config.amazonaws.com", "2024-06-01T10:00:00Z",
               {{"configurationRecorder",
                 {{"name", "default"},
                  {"roleARN", "arn:aws:iam::111122223333:role/config"},
                  {"recordingGroup", {{"allSupported", true}}}}}}));
  EXPECT_EQ(Doc(rec, "default")["configuration"]["recording"], false);
  Apply(Record("StartConfigurationRecorder", "config.amazonaws.com", "2024-06-01T10:01:00Z",
               {{"configurationRecorderName", "default"}}));
  EXPECT_EQ(Doc(rec, "default")["configuration"]["recording"], true);
  Apply(Record("StopConfigurationRecorder", "config.amazonaws.com", "2024-06-01T10:02:00Z",
               {{"configurationRecorderName", "default"}}));
  EXPECT_EQ(Doc(rec, "default")["configuration"]["recording"], false);
  EXPECT_EQ(Doc(rec, "default")["configuration"]["roleARN"],
            "arn:aws:iam::111122223333:role/config");
  Apply(Record("DeleteConfigurationRecorder", "config.amazonaws.com", "2024-06-01T10:03:00Z",
               {{"configurationRecorderName", "default"}}));
  EXPECT_TRUE(Doc(rec, "default").is_null());

  Apply(Record("PutDeliveryChannel", "config.amazonaws.com", "2024-06-01T10:04:00Z",
               {{"deliveryChannel", {{"name", "default"}, {"s3BucketName", "config-bucket"}}}}));
  EXPECT_EQ(Doc("AWS::Config::DeliveryChannel", "default")["configuration"]["s3BucketName"],
            "config-bucket");
  Apply(Record("DeleteDeliveryChannel", "config.amazonaws.com", "2024-06-01T10:05:00Z",
               {{"deliveryChannelName", "default"}}));
  EXPECT_TRUE(Doc("AWS::Config::DeliveryChannel", "default").is_null());
}

TEST_F(LoggingApplierTest, FlowLogsBothShapes) {
  Apply(Record(
      "CreateFlowLogs", "ec2.amazonaws.com", "2024-06-01T10:00:00Z",
      {{"CreateFlowLogsRequest",
        {{"ResourceId", {{"tag", 1}, {"content", "vpc-1"}}},
         {"ResourceType", "VPC"},
         {"TrafficType", "ALL"},
         {"LogDestinationType", "s3"}}}},
      {{"CreateFlowLogsResponse", {{"flowLogIdSet", {{"item", "fl-1"}}}, {"unsuccessful", ""}}}}));
  json fl = Doc("AWS::EC2::FlowLog", "fl-1");
  ASSERT_TRUE(fl.is_object());
  EXPECT_EQ(fl["configuration"]["resourceId"], "vpc-1");
  EXPECT_EQ(fl["configuration"]["trafficType"], "ALL");
  Apply(Record("DeleteFlowLogs", "ec2.amazonaws.com", "2024-06-01T10:01:00Z",
               {{"flowLogId", json::array({"fl-1"})}}, {{"unsuccessful", json::array()}}));
  EXPECT_TRUE(Doc("AWS::EC2::FlowLog", "fl-1").is_null());
}

TEST_F(LoggingApplierTest, GuardDutyDetector) {
  const char* det = "AWS::GuardDuty::Detector";
  Apply(Record("CreateDetector", "guardduty.amazonaws.com", "2024-06-01T10:00:00Z",
               {{"enable", true}, {"findingPublishingFrequency", "SIX_HOURS"}},
               {{"detectorId", "d-1"}}));
  EXPECT_EQ(Doc(det, "d-1")["configuration"]["enable"], true);
  Apply(Record("UpdateDetector", "guardduty.amazonaws.com", "2024-06-01T10:01:00Z",
               {{"detectorId", "d-1"}, {"enable", false}}));
  EXPECT_EQ(Doc(det, "d-1")["configuration"]["enable"], false);
  EXPECT_EQ(Doc(det, "d-1")["configuration"]["findingPublishingFrequency"], "SIX_HOURS");
  Apply(Record("DeleteDetector", "guardduty.amazonaws.com", "2024-06-01T10:02:00Z",
               {{"detectorId", "d-1"}}));
  EXPECT_TRUE(Doc(det, "d-1").is_null());
}

}  // namespace
}  // namespace driftwatch
