#include "tests/appliers/applier_test_util.h"

namespace driftwatch {
namespace {

using testing_util::ApplierFixture;
using testing_util::ConfigItem;
using testing_util::json;
using testing_util::Record;

constexpr const char* kBucket = "AWS::S3::Bucket";
constexpr const char* kS3 = "s3.amazonaws.com";
constexpr const char* kKms = "kms.amazonaws.com";

class DataApplierTest : public ApplierFixture {
 protected:
  json Supp(const std::string& bucket) {
    return Doc(kBucket, bucket)["supplementaryConfiguration"];
  }
};

TEST_F(DataApplierTest, BucketLifecycle) {
  Apply(Record("CreateBucket", kS3, "2024-06-01T10:00:00Z",
               {{"bucketName", "reports"}, {"host", "reports.s3.amazonaws.com"}}));
  json doc = Doc(kBucket, "reports");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["ARN"], "arn:aws:s3:::reports");
  EXPECT_EQ(doc["configuration"]["name"], "reports");
  EXPECT_TRUE(doc["supplementaryConfiguration"]["BucketPolicy"]["policyText"].is_null());

  Apply(Record("PutBucketPolicy", kS3, "2024-06-01T10:01:00Z",
               {{"bucketName", "reports"},
                {"bucketPolicy",
                 {{"Version", "2012-10-17"},
                  {"Statement", json::array({{{"Effect", "Allow"},
                                              {"Principal", "*"},
                                              {"Action", "s3:GetObject"},
                                              {"Resource", "arn:aws:s3:::reports/*"}}})}}},
                {"policy", json::array({""})}}));
  json policy_text = Supp("reports")["BucketPolicy"]["policyText"];
  ASSERT_TRUE(policy_text.is_string());
  json policy = json::parse(policy_text.get<std::string>());
  EXPECT_EQ(policy["Statement"][0]["Principal"], "*");

  Apply(Record("PutBucketPublicAccessBlock", kS3, "2024-06-01T10:02:00Z",
               {{"bucketName", "reports"},
                {"PublicAccessBlockConfiguration",
                 {{"xmlns", "http://s3.amazonaws.com/doc/2006-03-01/"},
                  {"RestrictPublicBuckets", true},
                  {"BlockPublicPolicy", true},
                  {"BlockPublicAcls", false},
                  {"IgnorePublicAcls", true}}}}));
  EXPECT_EQ(Supp("reports")["PublicAccessBlockConfiguration"],
            json({{"blockPublicAcls", false},
                  {"ignorePublicAcls", true},
                  {"blockPublicPolicy", true},
                  {"restrictPublicBuckets", true}}));

  Apply(Record("PutBucketEncryption", kS3, "2024-06-01T10:03:00Z",
               {{"bucketName", "reports"},
                {"ServerSideEncryptionConfiguration",
                 {{"Rule",
                   {{"ApplyServerSideEncryptionByDefault",
                     {{"SSEAlgorithm", "aws:kms"}, {"KMSMasterKeyID", "key-1"}}},
                    {"BucketKeyEnabled", true}}}}}}));
  EXPECT_EQ(Supp("reports")["ServerSideEncryptionConfiguration"]["rules"][0]
                           ["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
            "aws:kms");

  Apply(Record("DeleteBucketEncryption", kS3, "2024-06-01T10:04:00Z", {{"bucketName", "reports"}}));
  Apply(Record("DeleteBucketPublicAccessBlock", kS3, "2024-06-01T10:05:00Z",
               {{"bucketName", "reports"}}));
  Apply(Record("DeleteBucketPolicy", kS3, "2024-06-01T10:06:00Z", {{"bucketName", "reports"}}));
  json supp = Supp("reports");
  EXPECT_FALSE(supp.contains("ServerSideEncryptionConfiguration"));
  EXPECT_FALSE(supp.contains("PublicAccessBlockConfiguration"));
  EXPECT_TRUE(supp["BucketPolicy"]["policyText"].is_null());

  Apply(Record("DeleteBucket", kS3, "2024-06-01T11:00:00Z", {{"bucketName", "reports"}}));
  EXPECT_TRUE(Doc(kBucket, "reports").is_null());
  EXPECT_EQ(History(kBucket, "reports").size(), 8u);
}

TEST_F(DataApplierTest, BucketAclHeaderAndBodyForms) {
  Apply(Record("PutBucketAcl", kS3, "2024-06-01T10:00:00Z",
               {{"bucketName", "a"},
                {"x-amz-acl", json::array({"public-read"})},
                {"acl", json::array({""})}}));
  EXPECT_EQ(Supp("a")["AccessControlList"]["grantList"],
            json::array({{{"grantee", "AllUsers"}, {"permission", "Read"}}}));
  Apply(Record(
      "PutBucketAcl", kS3, "2024-06-01T10:01:00Z",
      {{"bucketName", "a"},
       {"AccessControlPolicy",
        {{"AccessControlList",
          {{"Grant",
            json::array({{{"Grantee", {{"ID", "owner-id"}, {"xsi:type", "CanonicalUser"}}},
                          {"Permission", "FULL_CONTROL"}},
                         {{"Grantee",
                           {{"URI", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}}},
                          {"Permission", "READ_ACP"}}})}}}}}}));
  EXPECT_EQ(Supp("a")["AccessControlList"]["grantList"],
            json::array({{{"grantee", {{"id", "owner-id"}}}, {"permission", "FullControl"}},
                         {{"grantee", "AuthenticatedUsers"}, {"permission", "ReadAcp"}}}));
}

TEST_F(DataApplierTest, KmsKeyStates) {
  const char* key = "AWS::KMS::Key";
  const std::string id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  const std::string arn = "arn:aws:kms:us-east-1:111122223333:key/" + id;
  Apply(Record(
      "CreateKey", kKms, "2024-06-01T10:00:00Z", json::object(),
      {{"keyMetadata",
        {{"keyId", id}, {"arn", arn}, {"keyState", "Enabled"}, {"keyManager", "CUSTOMER"}}}}));
  json doc = Doc(key, id);
  EXPECT_EQ(doc["configuration"]["keyState"], "Enabled");
  EXPECT_EQ(doc["configuration"]["keyRotationEnabled"], false);
  Apply(Record("EnableKeyRotation", kKms, "2024-06-01T10:01:00Z", {{"keyId", id}}));
  EXPECT_EQ(Doc(key, id)["configuration"]["keyRotationEnabled"], true);
  Apply(Record("DisableKey", kKms, "2024-06-01T10:02:00Z", {{"keyId", arn}}));
  EXPECT_EQ(Doc(key, id)["configuration"]["keyState"], "Disabled");
  EXPECT_EQ(Doc(key, id)["configuration"]["enabled"], false);
  Apply(Record("EnableKey", kKms, "2024-06-01T10:03:00Z", {{"keyId", id}}));
  EXPECT_EQ(Doc(key, id)["configuration"]["keyState"], "Enabled");
  Apply(Record("ScheduleKeyDeletion", kKms, "2024-06-01T10:04:00Z",
               {{"keyId", id}, {"pendingWindowInDays", 7}},
               {{"keyId", arn},
                {"deletionDate", "Jun 8, 2024 10:04:00 AM"},
                {"keyState", "PendingDeletion"}}));
  doc = Doc(key, id);
  EXPECT_EQ(doc["configuration"]["keyState"], "PendingDeletion");
  EXPECT_EQ(doc["configuration"]["deletionDate"], "2024-06-08T10:04:00Z");
  Apply(
      Record("CancelKeyDeletion", kKms, "2024-06-01T10:05:00Z", {{"keyId", id}}, {{"keyId", arn}}));
  doc = Doc(key, id);
  EXPECT_EQ(doc["configuration"]["keyState"], "Disabled");
  EXPECT_TRUE(doc["configuration"]["deletionDate"].is_null());
  Apply(Record("DisableKeyRotation", kKms, "2024-06-01T10:06:00Z", {{"keyId", id}}));
  EXPECT_EQ(Doc(key, id)["configuration"]["keyRotationEnabled"], false);
}

TEST_F(DataApplierTest, KmsAliasResolvedThroughResources) {
  json r = Record("DisableKey", kKms, "2024-06-01T10:00:00Z", {{"keyId", "alias/app"}});
  r["resources"] = json::array({{{"accountId", "111122223333"},
                                 {"type", "AWS::KMS::Key"},
                                 {"ARN", "arn:aws:kms:us-east-1:111122223333:key/k-1"}}});
  Apply(r);
  EXPECT_EQ(Doc("AWS::KMS::Key", "k-1")["configuration"]["keyState"], "Disabled");
}

TEST_F(DataApplierTest, EbsDefaultSnapshotsImagesAndRds) {
  Apply(Record("EnableEbsEncryptionByDefault", "ec2.amazonaws.com", "2024-06-01T10:00:00Z",
               json::object(), {{"ebsEncryptionByDefault", true}}));
  Apply(Record("DisableEbsEncryptionByDefault", "ec2.amazonaws.com", "2024-06-01T10:01:00Z",
               json::object(), {{"ebsEncryptionByDefault", false}}));
  EXPECT_EQ(Doc("AWS::EC2::EbsEncryptionByDefault",
                testing_util::kAccount)["configuration"]["ebsEncryptionByDefault"],
            false);

  Apply(
      Record("ModifySnapshotAttribute", "ec2.amazonaws.com", "2024-06-01T10:02:00Z",
             {{"snapshotId", "snap-1"},
              {"createVolumePermission", {{"add", {{"items", json::array({{{"group", "all"}}})}}}}},
              {"attributeType", "CREATE_VOLUME_PERMISSION"}}));
  EXPECT_EQ(Doc("AWS::EC2::Snapshot", "snap-1")["configuration"]["createVolumePermissions"],
            json::array({{{"group", "all"}}}));
  Apply(Record(
      "ModifySnapshotAttribute", "ec2.amazonaws.com", "2024-06-01T10:03:00Z",
      {{"snapshotId", "snap-1"},
       {"createVolumePermission", {{"remove", {{"items", json::array({{{"group", "all"}}})}}}}}}));
  EXPECT_EQ(Doc("AWS::EC2::Snapshot", "snap-1")["configuration"]["createVolumePermissions"],
            json::array());

  Apply(Record(
      "ModifyImageAttribute", "ec2.amazonaws.com", "2024-06-01T10:04:00Z",
      {{"imageId", "ami-1"},
       {"launchPermission", {{"add", {{"items", json::array({{{"userId", "999988887777"}}})}}}}},
       {"attributeType", "launchPermission"}}));
  EXPECT_EQ(Doc("AWS::EC2::Image", "ami-1")["configuration"]["launchPermissions"],
            json::array({{{"userId", "999988887777"}}}));

  Apply(Record("ModifyDBSnapshotAttribute", "rds.amazonaws.com", "2024-06-01T10:05:00Z",
               {{"dBSnapshotIdentifier", "nightly"},
                {"attributeName", "restore"},
                {"valuesToAdd", json::array({"all"})}}));
  EXPECT_EQ(
      Doc("AWS::RDS::DBSnapshot", "nightly")["supplementaryConfiguration"]["DBSnapshotAttributes"],
      json::array({{{"attributeName", "restore"}, {"attributeValues", json::array({"all"})}}}));

  Apply(Record("CreateDBInstance", "rds.amazonaws.com", "2024-06-01T10:06:00Z",
               {{"dBInstanceIdentifier", "orders"},
                {"engine", "postgres"},
                {"dBInstanceClass", "db.t3.micro"},
                {"storageEncrypted", true},
                {"masterUserPassword", "HIDDEN_DUE_TO_SECURITY_REASONS"}},
               {{"dBInstanceArn", "arn:aws:rds:us-east-1:111122223333:db:orders"},
                {"dbiResourceId", "db-ABC"},
                {"dBInstanceStatus", "creating"}}));
  json db = Doc("AWS::RDS::DBInstance", "orders");
  EXPECT_EQ(db["resourceId"], "db-ABC");
  EXPECT_EQ(db["configuration"]["publiclyAccessible"], false);
  EXPECT_FALSE(db["configuration"].contains("masterUserPassword"));
  Apply(Record("ModifyDBInstance", "rds.amazonaws.com", "2024-06-01T10:07:00Z",
               {{"dBInstanceIdentifier", "orders"},
                {"publiclyAccessible", true},
                {"applyImmediately", true}}));
  db = Doc("AWS::RDS::DBInstance", "orders");
  EXPECT_EQ(db["configuration"]["publiclyAccessible"], true);
  EXPECT_FALSE(db["configuration"].contains("applyImmediately"));
}

TEST_F(DataApplierTest, S3ConfigItemSupplementaryTextIsParsed) {
  json item = {
      {"configurationItemCaptureTime", "2019-02-12T07:29:16.288Z"},
      {"configurationStateId", 1549956556288},
      {"awsAccountId", "111122223333"},
      {"configurationItemStatus", "OK"},
      {"resourceType", "AWS::S3::Bucket"},
      {"resourceId", "logs"},
      {"resourceName", "logs"},
      {"ARN", "arn:aws:s3:::logs"},
      {"awsRegion", "us-east-1"},
      {"configuration", {{"name", "logs"}}},
      {"supplementaryConfiguration",
       {{"AccessControlList",
         "{\"grantSet\":null,\"grantList\":[{\"grantee\":\"AllUsers\",\"permission\":\"Read\"}]}"},
        {"BucketPolicy", {{"policyText", "{\"Version\":\"2012-10-17\"}"}}}}}};
  Apply(ConfigItem(item));
  json supp = Supp("logs");
  EXPECT_EQ(supp["AccessControlList"]["grantList"][0]["grantee"], "AllUsers");
  EXPECT_EQ(supp["BucketPolicy"]["policyText"], "{\"Version\":\"2012-10-17\"}");
}

}  // namespace
}  // namespace driftwatch
