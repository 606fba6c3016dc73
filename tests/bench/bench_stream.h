#pragma once
// The benchmark stream: a deterministic NDJSON CloudTrail stream (about 80% read-only calls;
// writes on a few thousand security groups, trails, users, buckets and instances, with
// duplicates and late deliveries), the same bytes for the same record count on every machine.
// state_bench times the pipeline on it; tests/tools/gen_stream.cc writes it to a file for
// `driftwatch replay` (state_bench's A/B mode, tests/scripts/golden_output.sh).

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace driftwatch::bench_stream {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  bool Chance(int percent) { return Below(100) < static_cast<size_t>(percent); }

 private:
  uint64_t state_;
};

inline std::string Time(int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline std::string Record(size_t i, int64_t t, const std::string& source, const std::string& name,
                          bool read_only, const std::string& params, const std::string& response) {
  std::string r;
  r.reserve(900);
  r += R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE)";
  r += std::to_string(i % 13);
  r += R"(","arn":"arn:aws:iam::111122223333:user/dev)" + std::to_string(i % 13);
  r += R"(","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE)" + std::to_string(i % 13);
  r += R"(","userName":"dev)" + std::to_string(i % 13) +
       R"(","sessionContext":{"attributes":{"creationDate":")";
  r += Time(t - 300) + R"(","mfaAuthenticated":"false"}}},"eventTime":")" + Time(t);
  r += R"(","eventSource":")" + source + R"(","eventName":")" + name;
  r += R"(","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.)" + std::to_string(i % 250);
  r +=
      R"(","userAgent":"aws-cli/2.13.0 Python/3.11.4 Linux/6.1 exe/x86_64.debian.12","requestParameters":)";
  r += params + R"(,"responseElements":)" + response;
  r += R"(,"requestID":"req-)" + std::to_string(i) + R"(","eventID":"ev-)" + std::to_string(i);
  r += R"(","readOnly":)" + std::string(read_only ? "true" : "false");
  r +=
      R"(,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}})";
  return r;
}

inline std::vector<std::string> Generate(size_t n) {
  Rng rng(42);
  std::vector<std::string> out;
  out.reserve(n);
  const int64_t base = 1717236000;
  for (size_t i = 0; out.size() < n; ++i) {
    const int64_t t = base + static_cast<int64_t>(i);
    const size_t k = rng.Below(3000);
    if (rng.Below(100) < 80) {
      static const char* kReads[][2] = {{"ec2.amazonaws.com", "DescribeInstances"},
                                        {"s3.amazonaws.com", "GetBucketPolicy"},
                                        {"iam.amazonaws.com", "ListUsers"},
                                        {"ec2.amazonaws.com", "DescribeSecurityGroups"},
                                        {"sts.amazonaws.com", "GetCallerIdentity"}};
      const auto& r = kReads[rng.Below(5)];
      out.push_back(Record(
          i, t, r[0], r[1], true,
          R"({"filterSet":{"items":[{"name":"tag:team","valueSet":{"items":[{"value":"payments"}]}}]},"maxResults":100})",
          "null"));
      continue;
    }
    const std::string ks = std::to_string(k);
    switch (rng.Below(6)) {
      case 0:
        out.push_back(Record(
            i, t, "ec2.amazonaws.com",
            rng.Below(2) ? "AuthorizeSecurityGroupIngress" : "RevokeSecurityGroupIngress", false,
            R"({"groupId":"sg-)" + ks +
                R"(","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":)" +
                std::to_string(k % 100) + R"(,"toPort":)" + std::to_string(k % 100) +
                R"(,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}]}})",
            R"({"_return":true})"));
        break;
      case 1:
        out.push_back(Record(i, t, "cloudtrail.amazonaws.com",
                             rng.Below(2) ? "StartLogging" : "StopLogging", false,
                             R"({"name":"trail-)" + std::to_string(k % 40) + R"("})", "null"));
        break;
      case 2:
        out.push_back(Record(i, t, "iam.amazonaws.com", "CreateAccessKey", false,
                             R"({"userName":"user-)" + std::to_string(k % 400) + R"("})",
                             R"({"accessKey":{"accessKeyId":"AKIAK)" + std::to_string(i) +
                                 R"(","status":"Active","userName":"user-)" +
                                 std::to_string(k % 400) +
                                 R"(","createDate":"Jun 1, 2024 10:00:00 AM"}})"));
        break;
      case 3:
        out.push_back(Record(
            i, t, "s3.amazonaws.com", "PutBucketPolicy", false,
            R"({"bucketName":"bucket-)" + ks +
                R"(","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-)" +
                ks + R"(/*"}]},"policy":[""]})",
            "null"));
        break;
      case 4:
        out.push_back(Record(
            i, t, "ec2.amazonaws.com", "RunInstances", false,
            R"({"imageId":"ami-)" + std::to_string(k % 20) + R"(","instanceType":"t3.micro"})",
            R"({"instancesSet":{"items":[{"instanceId":"i-)" + std::to_string(i) +
                R"(","imageId":"ami-)" + std::to_string(k % 20) +
                R"(","instanceType":"t3.micro","instanceState":{"code":0,"name":"pending"}}]}})"));
        break;
      default:
        // A late delivery, ten minutes older than its neighbours.
        out.push_back(Record(i, t - 600, "cloudtrail.amazonaws.com", "StartLogging", false,
                             R"({"name":"trail-)" + std::to_string(k % 40) + R"("})", "null"));
    }
    if (rng.Below(100) < 3 && out.size() < n) out.push_back(out.back());  // duplicate delivery
  }
  return out;
}

}  // namespace driftwatch::bench_stream
