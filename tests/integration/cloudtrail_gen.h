#pragma once
// A generated CloudTrail stream written by this project for the Kafka tests and benchmark:
// per account, security groups opened to the world (AuthorizeSecurityGroupIngress 0.0.0.0/0 on
// port 22) and closed again (RevokeSecurityGroupIngress), among read-only calls. The share of
// read-only calls is a parameter (the benchmark uses 80%).

#include <cstdint>
#include <map>
#include <string>

#include "engine/time_util.h"

namespace driftwatch::testing_gen {

struct GenOptions {
  int accounts = 20;
  int groups_per_account = 7;
  int read_only_percent = 80;
  int64_t start_ms = 1793577600000;  // 2026-11-02T00:00:00Z
};

inline std::string AccountId(int a) { return std::to_string(100000000000LL + a); }

class CloudTrailGen {
 public:
  explicit CloudTrailGen(GenOptions options = {}) : o_(options) {}

  // Record i of the stream (deterministic). Keyed by account() after the call.
  std::string Event(int64_t i) {
    const int a = static_cast<int>(i % o_.accounts);
    account_ = AccountId(a);
    const std::string time = FormatTimestamp(o_.start_ms + i * 1000);
    const std::string id = "gen-" + std::to_string(i);
    const int roll = static_cast<int>((i * 37) % 100);
    std::string head = R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAGEN","arn":"arn:aws:iam::)" +
                       account_ + R"(:user/dev","accountId":")" + account_ +
                       R"(","accessKeyId":"AKIAGEN0000000000001","userName":"dev"},"eventTime":")" +
                       time + R"(",)";
    std::string tail = R"(,"requestID":"r-)" + std::to_string(i) + R"(","eventID":")" + id +
                       R"(","eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":")" +
                       account_ + R"(","eventCategory":"Management"})";
    if (roll < o_.read_only_percent) {
      return head +
             R"("eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"instancesSet":{},"filterSet":{}},"responseElements":null,"readOnly":true)" +
             tail;
    }
    const int g = static_cast<int>((i / o_.accounts) % o_.groups_per_account);
    const std::string sg = "sg-" + std::to_string(a) + "x" + std::to_string(g);
    bool& open = open_[account_ + "/" + sg];
    const char* name = open ? "RevokeSecurityGroupIngress" : "AuthorizeSecurityGroupIngress";
    open = !open;
    return head + R"("eventSource":"ec2.amazonaws.com","eventName":")" + name +
           R"(","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"groupId":")" +
           sg +
           R"(","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}]}},"responseElements":{"_return":true},"readOnly":false)" +
           tail;
  }
  const std::string& account() const { return account_; }
  // "account/sg" -> open to the world after the events generated so far.
  const std::map<std::string, bool>& open_groups() const { return open_; }

 private:
  GenOptions o_;
  std::string account_;
  std::map<std::string, bool> open_;
};

}  // namespace driftwatch::testing_gen
