#pragma once
// A generated CloudTrail stream written by this project for the Kafka tests and benchmark:
// per account, security groups opened to the world (AuthorizeSecurityGroupIngress 0.0.0.0/0 on
// port 22) and closed again (RevokeSecurityGroupIngress), among read-only calls. The share of
// read-only calls is a parameter (the benchmark uses 80%).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vocab/time_util.h"

namespace driftwatch::testing_gen {

struct GenOptions {
  int accounts = 20;
  int groups_per_account = 7;
  int read_only_percent = 80;
  int64_t start_ms = 1793577600000;  // 2026-11-02T00:00:00Z
  int64_t ms_per_event = 1000;        // event time between consecutive records
  // Some write calls are identity calls instead of security-group changes: access keys created
  // and deleted (their age is checked against the event-time watermark) and console logins
  // without MFA (event findings, which expire): the time-driven findings.
  bool identity = false;
};

inline std::string AccountId(int a) { return std::to_string(100000000000LL + a); }

class CloudTrailGen {
 public:
  explicit CloudTrailGen(GenOptions options = {}) : o_(options) {}

  // Record i of the stream (deterministic). Keyed by account() after the call.
  std::string Event(int64_t i) {
    const int a = static_cast<int>(i % o_.accounts);
    account_ = AccountId(a);
    const std::string time = FormatTimestamp(o_.start_ms + i * o_.ms_per_event);
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
    if (o_.identity && roll < o_.read_only_percent + 9) {
      return head + IdentityCall(i, roll - o_.read_only_percent, time) + tail;
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
  // The middle of an identity write call of the current account (see GenOptions::identity).
  std::string IdentityCall(int64_t i, int kind, const std::string& time) {
    const std::string common =
        R"(,"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0",)";
    if (kind < 2) {
      return R"("eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin")" + common +
             R"("requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},)"
             R"("additionalEventData":{"MFAUsed":"No"},"readOnly":false)";
    }
    std::vector<std::string>& keys = keys_[account_];
    const std::string user = "svc-" + std::to_string((i / o_.accounts) % 3);
    if (kind < 7 || keys.empty()) {
      const std::string key = "AKIAGEN" + std::to_string(1000000000000 + i);
      keys.push_back(key + "/" + user);
      return R"("eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey")" + common +
             R"("requestParameters":{"userName":")" + user +
             R"("},"responseElements":{"accessKey":{"accessKeyId":")" + key +
             R"(","status":"Active","userName":")" + user + R"(","createDate":")" + time +
             R"("}},"readOnly":false)";
    }
    const std::string oldest = keys.front();
    keys.erase(keys.begin());
    const size_t slash = oldest.find('/');
    return R"("eventSource":"iam.amazonaws.com","eventName":"DeleteAccessKey")" + common +
           R"("requestParameters":{"userName":")" + oldest.substr(slash + 1) +
           R"(","accessKeyId":")" + oldest.substr(0, slash) +
           R"("},"responseElements":null,"readOnly":false)";
  }

  GenOptions o_;
  std::map<std::string, std::vector<std::string>> keys_;  // account -> "key/user", oldest first
  std::string account_;
  std::map<std::string, bool> open_;
};

}  // namespace driftwatch::testing_gen
