// AMI owners in state: images the account makes (CreateImage, RegisterImage, CopyImage) and
// Config items of AWS::EC2::Image teach driftwatch who owns an AMI; instances created from a
// known image (RunInstances, Config items of instances) carry configuration.imageOwnerId.
#include <gtest/gtest.h>

#include "tests/appliers/applier_test_util.h"

namespace driftwatch {
namespace {

using namespace testing_util;

constexpr const char* kEc2 = "ec2.amazonaws.com";
constexpr const char* kImage = "AWS::EC2::Image";
constexpr const char* kInstance = "AWS::EC2::Instance";

json RunInstances(const std::string& instance, const std::string& ami, const std::string& time) {
  return Record("RunInstances", kEc2, time,
                {{"instancesSet", {{"items", {{{"imageId", ami}, {"minCount", 1}}}}}}},
                {{"instancesSet",
                  {{"items",
                    {{{"instanceId", instance},
                      {"imageId", ami},
                      {"instanceState", {{"code", 0}, {"name", "pending"}}}}}}}}});
}

json InstanceItem(const std::string& instance, const std::string& ami, const std::string& time,
                  int state_id) {
  return {{"configurationItemVersion", "1.3"},
          {"configurationItemCaptureTime", time},
          {"configurationItemStatus", "OK"},
          {"configurationStateId", state_id},
          {"awsAccountId", kAccount},
          {"awsRegion", kRegion},
          {"resourceType", kInstance},
          {"resourceId", instance},
          {"configuration", {{"instanceId", instance}, {"imageId", ami}}}};
}

json ImageItem(const std::string& ami, const std::string& owner, const std::string& alias,
               const std::string& time) {
  json cfg = {{"imageId", ami}, {"ownerId", owner}, {"state", "available"}};
  if (!alias.empty()) cfg["imageOwnerAlias"] = alias;
  return {{"configurationItemVersion", "1.3"},
          {"configurationItemCaptureTime", time},
          {"configurationItemStatus", "OK"},
          {"configurationStateId", 1},
          {"awsAccountId", kAccount},
          {"awsRegion", kRegion},
          {"resourceType", kImage},
          {"resourceId", ami},
          {"configuration", cfg}};
}

class AmiOwnerTest : public ApplierFixture {};

TEST_F(AmiOwnerTest, ImagesTheAccountMakesAreOwnedByIt) {
  Apply(Record("CreateImage", kEc2, "2024-06-01T10:00:00Z",
               {{"instanceId", "i-builder"}, {"name", "golden"}}, {{"imageId", "ami-0aaa"}}));
  Apply(Record("RegisterImage", kEc2, "2024-06-01T10:01:00Z",
               {{"name", "raw"}, {"architecture", "x86_64"}}, {{"imageId", "ami-0bbb"}}));
  Apply(Record("CopyImage", kEc2, "2024-06-01T10:02:00Z",
               {{"sourceImageId", "ami-0ext"}, {"sourceRegion", "eu-west-1"}, {"name", "copy"}},
               {{"imageId", "ami-0ccc"}}));
  for (const char* ami : {"ami-0aaa", "ami-0bbb", "ami-0ccc"}) {
    json doc = Doc(kImage, ami);
    ASSERT_TRUE(doc.is_object()) << ami;
    EXPECT_EQ(doc["configuration"]["ownerId"], kAccount) << ami;
    EXPECT_EQ(doc["configuration"]["imageId"], ami);
  }
  EXPECT_EQ(Doc(kImage, "ami-0aaa")["configuration"]["sourceInstanceId"], "i-builder");
  EXPECT_EQ(Doc(kImage, "ami-0ccc")["configuration"]["sourceImageId"], "ami-0ext");

  Apply(Record("DeregisterImage", kEc2, "2024-06-01T10:03:00Z", {{"imageId", "ami-0bbb"}},
               {{"_return", true}}));
  EXPECT_TRUE(Doc(kImage, "ami-0bbb").is_null());
}

TEST_F(AmiOwnerTest, RunInstancesStampsTheOwnerOfAKnownImage) {
  Apply(Record("CreateImage", kEc2, "2024-06-01T10:00:00Z", {{"instanceId", "i-b"}},
               {{"imageId", "ami-0own"}}));
  Apply(ConfigItem(ImageItem("ami-0pub", "137112412989", "amazon", "2024-06-01T10:01:00Z")));
  Apply(std::vector<Event>{FromRecord(RunInstances("i-1", "ami-0own", "2024-06-01T10:02:00Z")),
                           FromRecord(RunInstances("i-2", "ami-0pub", "2024-06-01T10:03:00Z")),
                           FromRecord(RunInstances("i-3", "ami-0unk", "2024-06-01T10:04:00Z"))});
  json own = Doc(kInstance, "i-1")["configuration"];
  EXPECT_EQ(own["imageId"], "ami-0own");
  EXPECT_EQ(own["imageOwnerId"], kAccount);
  EXPECT_FALSE(own.contains("imageOwnerAlias"));
  json pub = Doc(kInstance, "i-2")["configuration"];
  EXPECT_EQ(pub["imageOwnerId"], "137112412989");
  EXPECT_EQ(pub["imageOwnerAlias"], "amazon");
  json unknown = Doc(kInstance, "i-3")["configuration"];
  EXPECT_EQ(unknown["imageId"], "ami-0unk");
  EXPECT_FALSE(unknown.contains("imageOwnerId")) << "an unknown owner is left unknown";
}

TEST_F(AmiOwnerTest, ImageLearnedInTheSameBatchIsUsed) {
  Apply(std::vector<Event>{
      ConfigItem(ImageItem("ami-0ext", "999988887777", "", "2024-06-01T10:00:00Z")),
      FromRecord(RunInstances("i-1", "ami-0ext", "2024-06-01T10:01:00Z"))});
  EXPECT_EQ(Doc(kInstance, "i-1")["configuration"]["imageOwnerId"], "999988887777");
}

TEST_F(AmiOwnerTest, ConfigItemsOfInstancesAreStampedAndKeepALearnedOwner) {
  Apply(ConfigItem(InstanceItem("i-1", "ami-0ext", "2024-06-01T10:00:00Z", 1)));
  EXPECT_FALSE(Doc(kInstance, "i-1")["configuration"].contains("imageOwnerId"));

  Apply(ConfigItem(ImageItem("ami-0ext", "999988887777", "", "2024-06-01T10:01:00Z")));
  Apply(ConfigItem(InstanceItem("i-1", "ami-0ext", "2024-06-01T10:02:00Z", 2)));
  EXPECT_EQ(Doc(kInstance, "i-1")["configuration"]["imageOwnerId"], "999988887777");

  // The image leaves state (deregistered); the next item of the instance keeps what was
  // learned for the same image.
  Apply(Record("DeregisterImage", kEc2, "2024-06-01T10:03:00Z", {{"imageId", "ami-0ext"}},
               {{"_return", true}}));
  Apply(ConfigItem(InstanceItem("i-1", "ami-0ext", "2024-06-01T10:04:00Z", 3)));
  EXPECT_EQ(Doc(kInstance, "i-1")["configuration"]["imageOwnerId"], "999988887777");

  // An owner the item states itself wins over state.
  json item = InstanceItem("i-2", "ami-0ext", "2024-06-01T10:05:00Z", 1);
  item["configuration"]["imageOwnerId"] = "444455556666";
  Apply(ConfigItem(item));
  EXPECT_EQ(Doc(kInstance, "i-2")["configuration"]["imageOwnerId"], "444455556666");
}

}  // namespace
}  // namespace driftwatch
