#include "tests/appliers/applier_test_util.h"

namespace driftwatch {
namespace {

using testing_util::ApplierFixture;
using testing_util::ConfigItem;
using testing_util::json;
using testing_util::Record;

constexpr const char* kUser = "AWS::IAM::User";
constexpr const char* kRole = "AWS::IAM::Role";
constexpr const char* kIam = "iam.amazonaws.com";

class IamApplierTest : public ApplierFixture {
 protected:
  json User(const std::string& name) { return Doc(kUser, name, "global"); }
  void CreateBob() {
    Apply(Record("CreateUser", kIam, "2024-07-30T21:50:00Z", {{"userName", "bob"}},
                 {{"user",
                   {{"path", "/"},
                    {"userName", "bob"},
                    {"userId", "AIDABOB"},
                    {"arn", "arn:aws:iam::111122223333:user/bob"},
                    {"createDate", "Jul 30, 2024 9:50:00 PM"}}}}));
  }
};

TEST_F(IamApplierTest, CreateUserIsGlobalAndRecordsCreator) {
  CreateBob();
  json doc = User("bob");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["awsRegion"], "global");
  EXPECT_EQ(doc["resourceId"], "AIDABOB");
  EXPECT_EQ(doc["resourceName"], "bob");
  EXPECT_EQ(doc["ARN"], "arn:aws:iam::111122223333:user/bob");
  EXPECT_EQ(doc["configuration"]["createDate"], "2024-07-30T21:50:00Z");
  EXPECT_EQ(doc["configuration"]["accessKeys"], json::array());
  EXPECT_TRUE(doc["configuration"]["loginProfile"].is_null());
  EXPECT_EQ(doc["driftwatch"]["createdBy"], testing_util::kAlice);
  EXPECT_EQ(doc["driftwatch"]["createdAt"], "2024-07-30T21:50:00Z");
  EXPECT_TRUE(Doc(kUser, "bob").is_null());  // not under the event's region
}

TEST_F(IamApplierTest, AccessKeyLifecycle) {
  CreateBob();
  Apply(Record("CreateAccessKey", kIam, "2024-07-30T21:53:13Z", {{"userName", "bob"}},
               {{"accessKey",
                 {{"accessKeyId", "AKIABOB1"},
                  {"status", "Active"},
                  {"userName", "bob"},
                  {"createDate", "Jul 30, 2024 9:53:13 PM"}}}}));
  json keys = User("bob")["configuration"]["accessKeys"];
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0], json({{"accessKeyId", "AKIABOB1"},
                           {"status", "Active"},
                           {"createDate", "2024-07-30T21:53:13Z"}}));
  Apply(Record("UpdateAccessKey", kIam, "2024-07-30T22:00:00Z",
               {{"userName", "bob"}, {"accessKeyId", "AKIABOB1"}, {"status", "Inactive"}}));
  EXPECT_EQ(User("bob")["configuration"]["accessKeys"][0]["status"], "Inactive");
  Apply(Record("DeleteAccessKey", kIam, "2024-07-30T22:01:00Z",
               {{"userName", "bob"}, {"accessKeyId", "AKIABOB1"}}));
  EXPECT_EQ(User("bob")["configuration"]["accessKeys"], json::array());
}

TEST_F(IamApplierTest, AccessKeyForTheCallerWhenNoUserNamed) {
  Apply(Record("CreateAccessKey", kIam, "2024-07-30T21:53:13Z", json::object(),
               {{"accessKey",
                 {{"accessKeyId", "AKIAALICE2"},
                  {"status", "Active"},
                  {"createDate", "Jul 30, 2024 9:53:13 PM"}}}}));
  json alice = User("alice");
  ASSERT_TRUE(alice.is_object());
  EXPECT_EQ(alice["configuration"]["accessKeys"][0]["accessKeyId"], "AKIAALICE2");
}

TEST_F(IamApplierTest, LoginProfileMfaAndPolicies) {
  CreateBob();
  Apply(Record("CreateLoginProfile", kIam, "2024-07-31T08:00:00Z",
               {{"userName", "bob"}, {"passwordResetRequired", true}},
               {{"loginProfile",
                 {{"userName", "bob"},
                  {"createDate", "Jul 31, 2024 8:00:00 AM"},
                  {"passwordResetRequired", true}}}}));
  EXPECT_EQ(User("bob")["configuration"]["loginProfile"],
            json({{"createDate", "2024-07-31T08:00:00Z"}, {"passwordResetRequired", true}}));
  Apply(Record("UpdateLoginProfile", kIam, "2024-07-31T08:05:00Z",
               {{"userName", "bob"}, {"passwordResetRequired", false}}));
  EXPECT_EQ(User("bob")["configuration"]["loginProfile"]["passwordResetRequired"], false);

  Apply(Record("EnableMFADevice", kIam, "2024-07-31T08:10:00Z",
               {{"userName", "bob"}, {"serialNumber", "arn:aws:iam::111122223333:mfa/bob"}}));
  ASSERT_EQ(User("bob")["configuration"]["mfaDevices"].size(), 1u);
  Apply(Record("DeactivateMFADevice", kIam, "2024-07-31T08:11:00Z",
               {{"userName", "bob"}, {"serialNumber", "arn:aws:iam::111122223333:mfa/bob"}}));
  EXPECT_EQ(User("bob")["configuration"]["mfaDevices"], json::array());

  Apply(
      Record("AttachUserPolicy", kIam, "2024-07-31T08:12:00Z",
             {{"userName", "bob"}, {"policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}}));
  EXPECT_EQ(User("bob")["configuration"]["attachedManagedPolicies"],
            json::array({{{"policyName", "AdministratorAccess"},
                          {"policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}}}));
  Apply(
      Record("PutUserPolicy", kIam, "2024-07-31T08:13:00Z",
             {{"userName", "bob"},
              {"policyName", "all"},
              {"policyDocument",
               "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
               "\"Resource\":\"*\"}]}"}}));
  json inline_policies = User("bob")["configuration"]["userPolicyList"];
  ASSERT_EQ(inline_policies.size(), 1u);
  EXPECT_EQ(inline_policies[0]["policyName"], "all");
  EXPECT_NE(inline_policies[0]["policyDocument"].get<std::string>().find("\"Action\":\"*\""),
            std::string::npos);
  Apply(
      Record("DetachUserPolicy", kIam, "2024-07-31T08:14:00Z",
             {{"userName", "bob"}, {"policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}}));
  Apply(Record("DeleteUserPolicy", kIam, "2024-07-31T08:15:00Z",
               {{"userName", "bob"}, {"policyName", "all"}}));
  Apply(Record("DeleteLoginProfile", kIam, "2024-07-31T08:16:00Z", {{"userName", "bob"}}));
  json cfg = User("bob")["configuration"];
  EXPECT_EQ(cfg["attachedManagedPolicies"], json::array());
  EXPECT_EQ(cfg["userPolicyList"], json::array());
  EXPECT_TRUE(cfg["loginProfile"].is_null());

  Apply(Record("DeleteUser", kIam, "2024-07-31T09:00:00Z", {{"userName", "bob"}}));
  EXPECT_TRUE(User("bob").is_null());
  auto history = History(kUser, "bob", "global");
  ASSERT_EQ(history.size(), 11u);
  EXPECT_EQ(history.front().action, "CreateUser");
  EXPECT_TRUE(history.back().deleted);
  for (size_t i = 1; i < history.size(); ++i) EXPECT_LE(history[i - 1].time_ms, history[i].time_ms);
}

TEST_F(IamApplierTest, RolesAndTrustPolicy) {
  Apply(Record(
      "CreateRole", kIam, "2024-07-31T08:00:00Z",
      {{"roleName", "deploy"},
       {"assumeRolePolicyDocument",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},"
        "\"Action\":\"sts:AssumeRole\"}]}"}},
      {{"role",
        {{"roleName", "deploy"},
         {"roleId", "AROADEPLOY"},
         {"arn", "arn:aws:iam::111122223333:role/deploy"},
         {"createDate", "Jul 31, 2024 8:00:00 AM"}}}}));
  json role = Doc(kRole, "deploy", "global");
  ASSERT_TRUE(role.is_object());
  EXPECT_EQ(role["resourceId"], "AROADEPLOY");
  EXPECT_NE(role["configuration"]["assumeRolePolicyDocument"].get<std::string>().find(
                "ec2.amazonaws.com"),
            std::string::npos);
  // URL-encoded, as some records carry it.
  Apply(Record(
      "UpdateAssumeRolePolicy", kIam, "2024-07-31T08:01:00Z",
      {{"roleName", "deploy"},
       {"policyDocument",
        "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22"
        "%3A%22arn%3Aaws%3Aiam%3A%3A999988887777%3Aroot%22%7D%7D%5D%7D"}}));
  EXPECT_EQ(Doc(kRole, "deploy", "global")["configuration"]["assumeRolePolicyDocument"],
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::"
            "999988887777:root\"}}]}");
  Apply(Record("AttachRolePolicy", kIam, "2024-07-31T08:02:00Z",
               {{"roleName", "deploy"}, {"policyArn", "arn:aws:iam::aws:policy/PowerUserAccess"}}));
  Apply(Record("PutRolePolicy", kIam, "2024-07-31T08:03:00Z",
               {{"roleName", "deploy"}, {"policyName", "s3"}, {"policyDocument", "{}"}}));
  role = Doc(kRole, "deploy", "global");
  EXPECT_EQ(role["configuration"]["attachedManagedPolicies"].size(), 1u);
  EXPECT_EQ(role["configuration"]["rolePolicyList"].size(), 1u);
  Apply(Record("DetachRolePolicy", kIam, "2024-07-31T08:04:00Z",
               {{"roleName", "deploy"}, {"policyArn", "arn:aws:iam::aws:policy/PowerUserAccess"}}));
  EXPECT_EQ(Doc(kRole, "deploy", "global")["configuration"]["attachedManagedPolicies"],
            json::array());
  Apply(Record("DeleteRole", kIam, "2024-07-31T08:05:00Z", {{"roleName", "deploy"}}));
  EXPECT_TRUE(Doc(kRole, "deploy", "global").is_null());
}

TEST_F(IamApplierTest, AccountPasswordPolicy) {
  const char* type = "AWS::IAM::AccountPasswordPolicy";
  Apply(Record("UpdateAccountPasswordPolicy", kIam, "2024-07-31T08:00:00Z",
               {{"minimumPasswordLength", 8}, {"requireSymbols", false}}));
  json doc = Doc(type, testing_util::kAccount, "global");
  EXPECT_EQ(doc["configuration"]["minimumPasswordLength"], 8);
  EXPECT_FALSE(doc["driftwatch"].contains("partial"));
  Apply(Record("DeleteAccountPasswordPolicy", kIam, "2024-07-31T08:01:00Z", nullptr));
  EXPECT_TRUE(Doc(type, testing_util::kAccount, "global").is_null());
}

TEST_F(IamApplierTest, ConfigItemKeepsWhatConfigDoesNotRecord) {
  CreateBob();
  Apply(Record("CreateAccessKey", kIam, "2024-07-30T21:53:13Z", {{"userName", "bob"}},
               {{"accessKey",
                 {{"accessKeyId", "AKIABOB1"},
                  {"status", "Active"},
                  {"userName", "bob"},
                  {"createDate", "Jul 30, 2024 9:53:13 PM"}}}}));
  json item = {
      {"configurationItemCaptureTime", "2024-07-30T22:10:00.000Z"},
      {"configurationStateId", "1722377400000"},
      {"accountId", "111122223333"},
      {"configurationItemStatus", "OK"},
      {"arn", "arn:aws:iam::111122223333:user/bob"},
      {"resourceType", "AWS::IAM::User"},
      {"resourceId", "AIDABOB"},
      {"resourceName", "bob"},
      {"awsRegion", "global"},
      {"configuration",
       "{\"path\":\"/\",\"userName\":\"bob\",\"userId\":\"AIDABOB\",\"userPolicyList\":[{"
       "\"policyName\":\"p\",\"policyDocument\":\"%7B%22Version%22%3A%222012-10-17%22%7D\"}],"
       "\"attachedManagedPolicies\":[]}"},
      {"supplementaryConfiguration", json::object()}};
  Apply(ConfigItem(item));
  json doc = User("bob");
  EXPECT_EQ(doc["configuration"]["userPolicyList"][0]["policyDocument"],
            "{\"Version\":\"2012-10-17\"}");
  EXPECT_EQ(doc["configuration"]["accessKeys"].size(), 1u);  // carried over
  EXPECT_EQ(doc["driftwatch"]["createdBy"], testing_util::kAlice);
  EXPECT_EQ(doc["awsAccountId"], "111122223333");
}

}  // namespace
}  // namespace driftwatch
