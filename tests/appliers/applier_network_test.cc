#include "tests/appliers/applier_test_util.h"

namespace driftwatch {
namespace {

using testing_util::ApplierFixture;
using testing_util::ConfigItem;
using testing_util::json;
using testing_util::Record;

constexpr const char* kSg = "AWS::EC2::SecurityGroup";

json SgItem(const std::string& time, int64_t state_id, json ingress) {
  return {{"configurationItemVersion", "1.3"},
          {"configurationItemCaptureTime", time},
          {"configurationStateId", state_id},
          {"awsAccountId", "111122223333"},
          {"configurationItemStatus", "OK"},
          {"resourceType", "AWS::EC2::SecurityGroup"},
          {"resourceId", "sg-0abc"},
          {"resourceName", "web"},
          {"ARN", "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc"},
          {"awsRegion", "us-east-1"},
          {"availabilityZone", "Not Applicable"},
          {"tags", json::object()},
          {"relationships", json::array()},
          {"supplementaryConfiguration", json::object()},
          {"configuration",
           {{"groupId", "sg-0abc"},
            {"groupName", "web"},
            {"description", "web tier"},
            {"vpcId", "vpc-1"},
            {"ownerId", "111122223333"},
            {"ipPermissions", std::move(ingress)},
            {"ipPermissionsEgress",
             json::array({{{"ipProtocol", "-1"},
                           {"ipv4Ranges", json::array({{{"cidrIp", "0.0.0.0/0"}}})},
                           {"ipRanges", json::array({"0.0.0.0/0"})},
                           {"ipv6Ranges", json::array()},
                           {"prefixListIds", json::array()},
                           {"userIdGroupPairs", json::array()}}})}}}};
}

json Ssh(const std::vector<std::string>& v4, const std::vector<std::string>& v6) {
  json p = {{"ipProtocol", "tcp"},
            {"fromPort", 22},
            {"toPort", 22},
            {"ipRanges", json::array()},
            {"ipv4Ranges", json::array()},
            {"ipv6Ranges", json::array()},
            {"prefixListIds", json::array()},
            {"userIdGroupPairs", json::array()}};
  for (const auto& c : v4) {
    p["ipRanges"].push_back(c);
    p["ipv4Ranges"].push_back({{"cidrIp", c}});
  }
  for (const auto& c : v6) p["ipv6Ranges"].push_back({{"cidrIpv6", c}});
  return p;
}

json NestedIngress(const std::string& group, const std::string& v4, const std::string& v6) {
  json item = {{"ipProtocol", "tcp"},
               {"fromPort", 22},
               {"toPort", 22},
               {"groups", json::object()},
               {"prefixListIds", json::object()}};
  item["ipRanges"] = {{"items", json::array()}};
  if (!v4.empty()) item["ipRanges"]["items"].push_back({{"cidrIp", v4}});
  if (!v6.empty()) item["ipv6Ranges"] = {{"items", json::array({{{"cidrIpv6", v6}}})}};
  return {{"groupId", group}, {"ipPermissions", {{"items", json::array({item})}}}};
}

class NetworkApplierTest : public ApplierFixture {};

TEST_F(NetworkApplierTest, CreateSecurityGroupStartsWithDefaultEgressAndCreator) {
  Apply(Record("CreateSecurityGroup", "ec2.amazonaws.com", "2024-05-01T10:00:00Z",
               {{"groupName", "web"}, {"groupDescription", "web tier"}, {"vpcId", "vpc-1"}},
               {{"_return", true}, {"groupId", "sg-0abc"}}));
  json doc = Doc(kSg, "sg-0abc");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["resourceType"], kSg);
  EXPECT_EQ(doc["ARN"], "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc");
  EXPECT_EQ(doc["configuration"]["groupName"], "web");
  EXPECT_EQ(doc["configuration"]["ipPermissions"], json::array());
  ASSERT_EQ(doc["configuration"]["ipPermissionsEgress"].size(), 1u);
  EXPECT_EQ(doc["configuration"]["ipPermissionsEgress"][0]["ipProtocol"], "-1");
  EXPECT_EQ(doc["driftwatch"]["createdBy"], testing_util::kAlice);
  EXPECT_EQ(doc["configurationItemStatus"], "ResourceDiscovered");
  ASSERT_EQ(deltas_.size(), 1u);
  EXPECT_FALSE(deltas_[0].after.empty());
}

TEST_F(NetworkApplierTest, AuthorizeFlatShape) {
  Apply(Record("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", "2024-05-01T10:00:00Z",
               {{"groupId", "sg-0abc"},
                {"ipProtocol", "tcp"},
                {"fromPort", 22},
                {"toPort", 22},
                {"cidrIp", "0.0.0.0/0"}},
               {{"_return", true}}));
  json doc = Doc(kSg, "sg-0abc");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["configuration"]["ipPermissions"], json::array({Ssh({"0.0.0.0/0"}, {})}));
  EXPECT_EQ(doc["driftwatch"]["partial"], true);  // never seen whole
  auto history = History(kSg, "sg-0abc");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].action, "AuthorizeSecurityGroupIngress");
  EXPECT_EQ(history[0].actor.arn, testing_util::kAlice);
  EXPECT_EQ(history[0].actor.source_ip, "198.51.100.7");
  EXPECT_EQ(history[0].actor.access_key_id, "AKIAEXAMPLEKEY");
  EXPECT_NE(history[0].change.find("0.0.0.0/0"), std::string::npos) << history[0].change;
}

TEST_F(NetworkApplierTest, AuthorizeNestedShapeWithIpv4AndIpv6ThenRevoke) {
  Apply(Record("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", "2024-05-01T10:00:00Z",
               NestedIngress("sg-0abc", "10.0.0.0/8", "::/0"), {{"_return", true}}));
  Apply(Record("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", "2024-05-01T10:01:00Z",
               NestedIngress("sg-0abc", "0.0.0.0/0", ""), {{"_return", true}}));
  json doc = Doc(kSg, "sg-0abc");
  EXPECT_EQ(doc["configuration"]["ipPermissions"],
            json::array({Ssh({"10.0.0.0/8", "0.0.0.0/0"}, {"::/0"})}));

  Apply(Record("RevokeSecurityGroupIngress", "ec2.amazonaws.com", "2024-05-01T10:02:00Z",
               NestedIngress("sg-0abc", "0.0.0.0/0", "::/0"), {{"_return", true}}));
  doc = Doc(kSg, "sg-0abc");
  EXPECT_EQ(doc["configuration"]["ipPermissions"], json::array({Ssh({"10.0.0.0/8"}, {})}));

  Apply(Record("RevokeSecurityGroupIngress", "ec2.amazonaws.com", "2024-05-01T10:03:00Z",
               {{"groupId", "sg-0abc"},
                {"ipProtocol", "tcp"},
                {"fromPort", 22},
                {"toPort", 22},
                {"cidrIp", "10.0.0.0/8"}},
               {{"_return", true}}));
  doc = Doc(kSg, "sg-0abc");
  EXPECT_EQ(doc["configuration"]["ipPermissions"], json::array());
  EXPECT_EQ(History(kSg, "sg-0abc").size(), 4u);
}

TEST_F(NetworkApplierTest, ConfigAndCloudTrailAgreeOnTheSameGroup) {
  // Config's view at 10:00, CloudTrail's Authorize at 10:05, Config's own view at 10:09.
  Apply(ConfigItem(SgItem("2024-05-01T10:00:00.000Z", 1, json::array())));
  Apply(Record("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", "2024-05-01T10:05:00Z",
               NestedIngress("sg-0abc", "0.0.0.0/0", "::/0"), {{"_return", true}}));
  json from_cloudtrail = Doc(kSg, "sg-0abc");
  const json later =
      SgItem("2024-05-01T10:09:00.000Z", 2, json::array({Ssh({"0.0.0.0/0"}, {"::/0"})}));
  Apply(ConfigItem(later));
  json from_config = Doc(kSg, "sg-0abc");
  for (const char* field : {"ipPermissions", "ipPermissionsEgress", "groupId", "vpcId"}) {
    EXPECT_EQ(from_cloudtrail["configuration"][field], from_config["configuration"][field])
        << field;
  }
  EXPECT_EQ(from_cloudtrail["resourceType"], from_config["resourceType"]);
  EXPECT_EQ(from_cloudtrail["ARN"], from_config["ARN"]);
  EXPECT_EQ(from_cloudtrail["awsAccountId"], from_config["awsAccountId"]);
  EXPECT_FALSE(from_cloudtrail["driftwatch"].contains("partial"));
  EXPECT_EQ(from_config["driftwatch"]["source"], "config");
}

TEST_F(NetworkApplierTest, OldConfigRangeSpellingIsNormalised) {
  json item = SgItem("2017-01-09T22:50:15.156Z", 7,
                     json::array({{{"ipProtocol", "tcp"},
                                   {"fromPort", 22},
                                   {"toPort", 22},
                                   {"userIdGroupPairs", json::array()},
                                   {"ipRanges", json::array({"0.0.0.0/0"})},
                                   {"prefixListIds", json::array()}}}));
  // API spelling, as the Config API returns it.
  item.erase("awsAccountId");
  item["accountId"] = "111122223333";
  item["arn"] = item["ARN"];
  item.erase("ARN");
  Apply(ConfigItem(item));
  json doc = Doc(kSg, "sg-0abc");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["configuration"]["ipPermissions"], json::array({Ssh({"0.0.0.0/0"}, {})}));
  EXPECT_EQ(doc["awsAccountId"], "111122223333");
  EXPECT_FALSE(doc.contains("accountId"));
  EXPECT_EQ(doc["ARN"], "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc");
}

TEST_F(NetworkApplierTest, RuleIdsAllowRevokeAndModify) {
  json resp = {{"_return", true},
               {"securityGroupRuleSet",
                {{"items", json::array({{{"groupId", "sg-0abc"},
                                         {"securityGroupRuleId", "sgr-1"},
                                         {"isEgress", false},
                                         {"ipProtocol", "tcp"},
                                         {"fromPort", 22},
                                         {"toPort", 22},
                                         {"cidrIpv4", "10.0.0.0/8"}}})}}}};
  Apply(Record("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", "2024-05-01T10:00:00Z",
               NestedIngress("sg-0abc", "10.0.0.0/8", ""), resp));
  json modify = {{"ModifySecurityGroupRulesRequest",
                  {{"GroupId", "sg-0abc"},
                   {"SecurityGroupRule",
                    {{"SecurityGroupRuleId", "sgr-1"},
                     {"SecurityGroupRule",
                      {{"IpProtocol", "tcp"},
                       {"FromPort", 22},
                       {"ToPort", 22},
                       {"CidrIpv4", "0.0.0.0/0"}}}}}}}};
  Apply(Record("ModifySecurityGroupRules", "ec2.amazonaws.com", "2024-05-01T10:01:00Z", modify,
               {{"ModifySecurityGroupRulesResponse", {{"return", true}}}}));
  json doc = Doc(kSg, "sg-0abc");
  EXPECT_EQ(doc["configuration"]["ipPermissions"], json::array({Ssh({"0.0.0.0/0"}, {})}));

  Apply(Record(
      "RevokeSecurityGroupIngress", "ec2.amazonaws.com", "2024-05-01T10:02:00Z",
      {{"groupId", "sg-0abc"}, {"securityGroupRuleIds", {{"items", json::array({"sgr-1"})}}}},
      {{"_return", true}}));
  doc = Doc(kSg, "sg-0abc");
  EXPECT_EQ(doc["configuration"]["ipPermissions"], json::array());
}

TEST_F(NetworkApplierTest, EgressRules) {
  Apply(Record("CreateSecurityGroup", "ec2.amazonaws.com", "2024-05-01T10:00:00Z",
               {{"groupName", "db"}, {"groupDescription", "db"}, {"vpcId", "vpc-1"}},
               {{"groupId", "sg-0db"}}));
  json all = {
      {"groupId", "sg-0db"},
      {"ipPermissions",
       {{"items",
         json::array({{{"ipProtocol", "-1"},
                       {"ipRanges", {{"items", json::array({{{"cidrIp", "0.0.0.0/0"}}})}}}}})}}}};
  Apply(Record("RevokeSecurityGroupEgress", "ec2.amazonaws.com", "2024-05-01T10:01:00Z", all,
               {{"_return", true}}));
  EXPECT_EQ(Doc(kSg, "sg-0db")["configuration"]["ipPermissionsEgress"], json::array());
  Apply(Record("AuthorizeSecurityGroupEgress", "ec2.amazonaws.com", "2024-05-01T10:02:00Z", all,
               {{"_return", true}}));
  EXPECT_EQ(Doc(kSg, "sg-0db")["configuration"]["ipPermissionsEgress"].size(), 1u);
  Apply(Record("DeleteSecurityGroup", "ec2.amazonaws.com", "2024-05-01T10:03:00Z",
               {{"groupId", "sg-0db"}}, {{"_return", true}}));
  EXPECT_TRUE(Doc(kSg, "sg-0db").is_null());
  auto history = History(kSg, "sg-0db");
  ASSERT_EQ(history.size(), 4u);  // deleting keeps history
  EXPECT_TRUE(history.back().deleted);
}

TEST_F(NetworkApplierTest, NetworkAclEntries) {
  const char* acl = "AWS::EC2::NetworkAcl";
  json entry = {{"networkAclId", "acl-1"},
                {"ruleNumber", 100},
                {"egress", false},
                {"ruleAction", "allow"},
                {"aclProtocol", "6"},
                {"cidrBlock", "0.0.0.0/0"},
                {"portRange", {{"from", 22}, {"to", 22}}}};
  Apply(Record("CreateNetworkAclEntry", "ec2.amazonaws.com", "2024-05-01T10:00:00Z", entry,
               {{"_return", true}}));
  json doc = Doc(acl, "acl-1");
  ASSERT_EQ(doc["configuration"]["entries"].size(), 1u);
  EXPECT_EQ(doc["configuration"]["entries"][0]["protocol"], "tcp");
  EXPECT_EQ(doc["configuration"]["entries"][0]["cidrBlock"], "0.0.0.0/0");
  entry["ruleAction"] = "deny";
  Apply(Record("ReplaceNetworkAclEntry", "ec2.amazonaws.com", "2024-05-01T10:01:00Z", entry,
               {{"_return", true}}));
  doc = Doc(acl, "acl-1");
  ASSERT_EQ(doc["configuration"]["entries"].size(), 1u);
  EXPECT_EQ(doc["configuration"]["entries"][0]["ruleAction"], "deny");
  Apply(Record("DeleteNetworkAclEntry", "ec2.amazonaws.com", "2024-05-01T10:02:00Z",
               {{"networkAclId", "acl-1"}, {"ruleNumber", 100}, {"egress", false}},
               {{"_return", true}}));
  EXPECT_EQ(Doc(acl, "acl-1")["configuration"]["entries"], json::array());
}

TEST_F(NetworkApplierTest, RoutesAndInternetGateways) {
  Apply(Record(
      "CreateRoute", "ec2.amazonaws.com", "2024-05-01T10:00:00Z",
      {{"routeTableId", "rtb-1"}, {"destinationCidrBlock", "0.0.0.0/0"}, {"gatewayId", "igw-1"}},
      {{"_return", true}}));
  json routes = Doc("AWS::EC2::RouteTable", "rtb-1")["configuration"]["routes"];
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0]["gatewayId"], "igw-1");
  Apply(Record("DeleteRoute", "ec2.amazonaws.com", "2024-05-01T10:01:00Z",
               {{"routeTableId", "rtb-1"}, {"destinationCidrBlock", "0.0.0.0/0"}},
               {{"_return", true}}));
  EXPECT_EQ(Doc("AWS::EC2::RouteTable", "rtb-1")["configuration"]["routes"], json::array());

  Apply(Record("AttachInternetGateway", "ec2.amazonaws.com", "2024-05-01T10:02:00Z",
               {{"internetGatewayId", "igw-1"}, {"vpcId", "vpc-1"}}, {{"_return", true}}));
  json igw = Doc("AWS::EC2::InternetGateway", "igw-1");
  EXPECT_EQ(igw["configuration"]["attachments"],
            json::array({{{"vpcId", "vpc-1"}, {"state", "available"}}}));
  Apply(Record("DetachInternetGateway", "ec2.amazonaws.com", "2024-05-01T10:03:00Z",
               {{"internetGatewayId", "igw-1"}, {"vpcId", "vpc-1"}}, {{"_return", true}}));
  EXPECT_EQ(Doc("AWS::EC2::InternetGateway", "igw-1")["configuration"]["attachments"],
            json::array());
}

}  // namespace
}  // namespace driftwatch
