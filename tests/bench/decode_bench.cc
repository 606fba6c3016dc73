// Decoder throughput against the raw simdjson parse of the same bytes, measured in the same run.
//
// Generates an NDJSON CloudTrail stream in memory (varied services, identities and payloads,
// about 80% read-only calls), then times, over several repetitions:
//   raw:    simdjson DOM parser.parse() of every line (the full-parse baseline)
//   decode: Decoder::DecodeInto() of every line into reused Event objects
//   walk:   On-Demand iteration over every top-level field reading nothing (a floor for any
//           On-Demand decoder, for reading the decode figure)
//   decode (copy, append): Decoder::Decode() into a cleared vector, copying each line first —
//           what a caller without padding guarantees or reuse gets
// and prints the median events/s of each and the ratio decode/raw (target >= 0.80).
//
// Usage: decode_bench [records=200000] [repetitions=7]

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/decoder.h"
#include "tests/bench/bench_stream.h"

namespace {

using driftwatch::bench_stream::Rng;

struct Api {
  const char* source;
  const char* name;
  bool read_only;
  const char* params;    // requestParameters JSON, or nullptr for null
  const char* response;  // responseElements JSON, or nullptr for null
  const char* resource;  // resources[0].type or nullptr
};

const Api kApis[] = {
    {"ec2.amazonaws.com", "DescribeInstances", true,
     R"({"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}})",
     nullptr, nullptr},
    {"ec2.amazonaws.com", "DescribeSecurityGroups", true,
     R"({"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}})", nullptr, nullptr},
    {"ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false,
     R"({"groupId":"sg-0a1b2c3d4e5f60718","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"groups":{},"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]},"ipv6Ranges":{},"prefixListIds":{}}]}})",
     R"({"requestId":"5a6b7c8d-1111-2222-3333-444455556666","_return":true,"securityGroupRuleSet":{"items":[{"groupOwnerId":"111122223333","groupId":"sg-0a1b2c3d4e5f60718","securityGroupRuleId":"sgr-0123456789abcdef0","isEgress":false,"ipProtocol":"tcp","fromPort":443,"toPort":443,"cidrIpv4":"10.0.0.0/8"}]}})",
     "AWS::EC2::SecurityGroup"},
    {"ec2.amazonaws.com", "RunInstances", false,
     R"({"instancesSet":{"items":[{"imageId":"ami-0abcdef1234567890","minCount":1,"maxCount":1}]},"instanceType":"t3.micro","blockDeviceMapping":{},"monitoring":{"enabled":false},"disableApiTermination":false,"disableApiStop":false,"clientToken":"abc-123"})",
     R"({"requestId":"0f0e0d0c-aaaa-bbbb-cccc-ddddeeeeffff","reservationId":"r-0123456789abcdef0","ownerId":"111122223333","groupSet":{},"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0","imageId":"ami-0abcdef1234567890","instanceState":{"code":0,"name":"pending"}}]}})",
     "AWS::EC2::Instance"},
    {"s3.amazonaws.com", "GetObject", true,
     R"({"bucketName":"app-artifacts-111122223333","Host":"app-artifacts-111122223333.s3.eu-west-1.amazonaws.com","key":"releases/2024/03/build-8812.tar.gz"})",
     nullptr, "AWS::S3::Object"},
    {"s3.amazonaws.com", "ListBuckets", true, R"({"Host":"s3.amazonaws.com"})", nullptr, nullptr},
    {"s3.amazonaws.com", "HeadObject", true,
     R"({"bucketName":"logs-111122223333","Host":"logs-111122223333.s3.amazonaws.com","key":"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/05/file.json.gz"})",
     nullptr, "AWS::S3::Object"},
    {"s3.amazonaws.com", "PutBucketAcl", false,
     R"({"bucketName":"public-site","Host":"public-site.s3.amazonaws.com","acl":"","x-amz-acl":["public-read"]})",
     nullptr, "AWS::S3::Bucket"},
    {"iam.amazonaws.com", "GetUser", true, R"({"userName":"svc-reporting"})", nullptr, nullptr},
    {"iam.amazonaws.com", "ListRoles", true, nullptr, nullptr, nullptr},
    {"iam.amazonaws.com", "CreateAccessKey", false, R"({"userName":"svc-reporting"})",
     R"({"accessKey":{"userName":"svc-reporting","accessKeyId":"AKIAEXAMPLENEWKEY001","status":"Active","createDate":"Mar 5, 2024 9:30:00 AM"}})",
     "AWS::IAM::User"},
    {"iam.amazonaws.com", "AttachRolePolicy", false,
     R"({"roleName":"ci-deployer","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})",
     nullptr, "AWS::IAM::Role"},
    {"sts.amazonaws.com", "AssumeRole", true,
     R"({"roleArn":"arn:aws:iam::111122223333:role/ci-deployer","roleSessionName":"build-8812","durationSeconds":3600})",
     R"({"credentials":{"accessKeyId":"ASIAEXAMPLETEMP0001","sessionToken":"IQoJb3JpZ2luX2VjEXAMPLE","expiration":"Mar 5, 2024 10:30:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:build-8812","arn":"arn:aws:sts::111122223333:assumed-role/ci-deployer/build-8812"}})",
     "AWS::IAM::Role"},
    {"sts.amazonaws.com", "GetCallerIdentity", true, nullptr, nullptr, nullptr},
    {"kms.amazonaws.com", "Decrypt", true,
     R"({"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:eu-west-1:111122223333:function:billing"}})",
     nullptr, "AWS::KMS::Key"},
    {"kms.amazonaws.com", "GenerateDataKey", true,
     R"({"keyId":"alias/aws/s3","keySpec":"AES_256","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::app-artifacts-111122223333"}})",
     nullptr, "AWS::KMS::Key"},
    {"lambda.amazonaws.com", "ListFunctions20150331", true, R"({"functionVersion":"ALL"})", nullptr,
     nullptr},
    {"dynamodb.amazonaws.com", "DescribeTable", true, R"({"tableName":"orders"})", nullptr,
     nullptr},
    {"cloudtrail.amazonaws.com", "LookupEvents", true,
     R"({"maxResults":50,"lookupAttributes":[{"attributeKey":"EventName","attributeValue":"ConsoleLogin"}]})",
     nullptr, nullptr},
    {"rds.amazonaws.com", "ModifyDBInstance", false,
     R"({"dBInstanceIdentifier":"orders-db","publiclyAccessible":false,"applyImmediately":true})",
     R"({"dBInstanceIdentifier":"orders-db","dBInstanceClass":"db.r6g.large","engine":"postgres","dBInstanceStatus":"available"})",
     "AWS::RDS::DBInstance"},
};
constexpr size_t kApiCount = sizeof(kApis) / sizeof(kApis[0]);

void AppendRecord(Rng& rng, uint64_t serial, std::string* out) {
  // About 80% read-only calls: pick read-only APIs four times out of five.
  const bool want_read = rng.Chance(80);
  const Api* api = nullptr;
  while (api == nullptr) {
    const Api& candidate = kApis[rng.Below(kApiCount)];
    if (candidate.read_only == want_read) api = &candidate;
  }
  const char* regions[] = {"us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"};
  const char* region = regions[rng.Below(4)];
  char buf[512];
  const unsigned account = 100000000u + static_cast<unsigned>(rng.Below(4));
  const unsigned sec = static_cast<unsigned>(serial % 60),
                 min = static_cast<unsigned>(serial / 60 % 60);
  std::string& s = *out;
  s += R"({"eventVersion":"1.08","userIdentity":)";
  const unsigned who = static_cast<unsigned>(rng.Below(10));
  if (who < 6) {
    std::snprintf(
        buf, sizeof buf,
        R"({"type":"AssumedRole","principalId":"AROAEXAMPLEROLE%02u:session-%llu","arn":"arn:aws:sts::111%09u:assumed-role/role-%02u/session-%llu","accountId":"111%09u","accessKeyId":"ASIAEXAMPLE%09llu","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEROLE%02u","arn":"arn:aws:iam::111%09u:role/role-%02u","accountId":"111%09u","userName":"role-%02u"},"webIdFederationData":{},"attributes":{"creationDate":"2024-03-05T09:%02u:00Z","mfaAuthenticated":"%s"}}})",
        who, static_cast<unsigned long long>(serial % 977), account, who,
        static_cast<unsigned long long>(serial % 977), account,
        static_cast<unsigned long long>(serial), who, account, who, account, who, min,
        rng.Chance(10) ? "true" : "false");
  } else if (who < 9) {
    std::snprintf(
        buf, sizeof buf,
        R"({"type":"IAMUser","principalId":"AIDAEXAMPLEUSER%02u","arn":"arn:aws:iam::111%09u:user/user-%02u","accountId":"111%09u","accessKeyId":"AKIAEXAMPLE%09llu","userName":"user-%02u"})",
        who, account, who, account, static_cast<unsigned long long>(serial % 1000), who);
  } else {
    std::snprintf(buf, sizeof buf, R"({"type":"AWSService","invokedBy":"%s"})",
                  rng.Chance(50) ? "cloudformation.amazonaws.com" : "lambda.amazonaws.com");
  }
  s += buf;
  std::snprintf(
      buf, sizeof buf,
      R"(,"eventTime":"2024-03-05T09:%02u:%02uZ","eventSource":"%s","eventName":"%s","awsRegion":"%s","sourceIPAddress":"%u.%u.%u.%u","userAgent":"%s")",
      min, sec, api->source, api->name, region, 10 + static_cast<unsigned>(rng.Below(200)),
      static_cast<unsigned>(rng.Below(256)), static_cast<unsigned>(rng.Below(256)),
      static_cast<unsigned>(rng.Below(256)),
      rng.Chance(50) ? "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2"
                     : "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 lang/python#3.11");
  s += buf;
  // Some calls fail.
  if (rng.Chance(5))
    s +=
        R"(,"errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation")";
  s += R"(,"requestParameters":)";
  s += (api->params != nullptr && !rng.Chance(10)) ? api->params : "null";
  s += R"(,"responseElements":)";
  s += api->response != nullptr ? api->response : "null";
  std::snprintf(
      buf, sizeof buf,
      R"(,"requestID":"%08llx-1f2e-4d3c-8b7a-%012llx","eventID":"%08llx-9a8b-4c7d-8e6f-%012llx","readOnly":%s)",
      static_cast<unsigned long long>(serial),
      static_cast<unsigned long long>(rng.Next() & 0xffffffffffffULL),
      static_cast<unsigned long long>(serial),
      static_cast<unsigned long long>(rng.Next() & 0xffffffffffffULL),
      api->read_only ? "true" : "false");
  s += buf;
  if (api->resource != nullptr) {
    std::snprintf(
        buf, sizeof buf,
        R"(,"resources":[{"accountId":"111%09u","type":"%s","ARN":"arn:aws:%s:%s:111%09u:resource/r-%04llu"}])",
        account, api->resource, "svc", region, account,
        static_cast<unsigned long long>(serial % 10000));
    s += buf;
  }
  std::snprintf(
      buf, sizeof buf,
      R"(,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111%09u","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s"}})",
      account, api->source);
  s += buf;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const size_t records = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 7;
  if (records == 0 || repetitions <= 0) {
    std::fprintf(stderr, "usage: decode_bench [records] [repetitions]\n");
    return 2;
  }

  // One buffer, one record a line; every line is followed by the rest of the buffer and the
  // padding at its end, so both sides may parse in place.
  std::string data;
  data.reserve(records * 1600);
  Rng rng(20240305);
  std::vector<std::pair<size_t, size_t>> lines;  // offset, length
  lines.reserve(records);
  for (size_t i = 0; i < records; ++i) {
    const size_t start = data.size();
    AppendRecord(rng, i, &data);
    lines.emplace_back(start, data.size() - start);
    data += '\n';
  }
  const size_t bytes = data.size();
  data.append(simdjson::SIMDJSON_PADDING, '\0');
  std::printf("generated %zu CloudTrail records, %.1f MB (%.0f bytes/record)\n", records,
              static_cast<double>(bytes) / 1e6, static_cast<double>(bytes) / records);

  simdjson::dom::parser dom;
  driftwatch::Decoder decoder;
  std::vector<driftwatch::Event> events;
  simdjson::ondemand::parser ondemand;
  std::vector<double> raw_rates, decode_rates, copy_rates, walk_rates;
  size_t sink = 0;

  for (int rep = 0; rep < repetitions; ++rep) {
    // (a) raw: full DOM parse of every line.
    auto t0 = std::chrono::steady_clock::now();
    size_t parsed = 0;
    for (const auto& [offset, length] : lines) {
      auto doc = dom.parse(data.data() + offset, length, /*realloc_if_needed=*/false);
      if (doc.error()) {
        std::fprintf(stderr, "raw parse failed: %s\n", simdjson::error_message(doc.error()));
        return 1;
      }
      ++parsed;
    }
    auto t1 = std::chrono::steady_clock::now();
    raw_rates.push_back(static_cast<double>(parsed) / Seconds(t1 - t0));

    // Reference: the least any On-Demand decoder does — visit every top-level field, read none.
    size_t walked = 0;
    t0 = std::chrono::steady_clock::now();
    for (const auto& [offset, length] : lines) {
      simdjson::ondemand::document doc;
      if (ondemand.iterate(data.data() + offset, length, data.size() - offset).get(doc)) return 1;
      simdjson::ondemand::object object;
      if (doc.get_object().get(object)) return 1;
      for (auto field : object) {
        if (field.error()) return 1;
        ++walked;
      }
    }
    t1 = std::chrono::steady_clock::now();
    walk_rates.push_back(static_cast<double>(lines.size()) / Seconds(t1 - t0));
    sink += walked;

    // (b) decode into reused events, parsing in place.
    size_t decoded = 0;
    t0 = std::chrono::steady_clock::now();
    for (const auto& [offset, length] : lines) {
      size_t used = 0;
      driftwatch::DecodeResult r =
          decoder.DecodeInto(std::string_view(data.data() + offset, length), "bench", &events,
                             &used, data.size() - offset - length);
      if (!r.invalid.empty()) {
        std::fprintf(stderr, "decode failed: %s\n", r.invalid[0].detail.c_str());
        return 1;
      }
      decoded += r.events;
      sink += events[0].document.size();
    }
    t1 = std::chrono::steady_clock::now();
    decode_rates.push_back(static_cast<double>(decoded) / Seconds(t1 - t0));

    // (c) the plain API: copy into the decoder's buffer, append to a cleared vector.
    std::vector<driftwatch::Event> fresh;
    size_t appended = 0;
    t0 = std::chrono::steady_clock::now();
    for (const auto& [offset, length] : lines) {
      fresh.clear();
      appended +=
          decoder.Decode(std::string_view(data.data() + offset, length), "bench", &fresh).events;
    }
    t1 = std::chrono::steady_clock::now();
    copy_rates.push_back(static_cast<double>(appended) / Seconds(t1 - t0));
    if (decoded != records || appended != records) {
      std::fprintf(stderr, "expected %zu events, got %zu / %zu\n", records, decoded, appended);
      return 1;
    }
  }

  const double raw = Median(raw_rates), decode = Median(decode_rates), copy = Median(copy_rates);
  const double walk = Median(walk_rates);
  std::printf("raw simdjson DOM parse: %10.0f records/s  (%.0f MB/s)\n", raw,
              raw * static_cast<double>(bytes) / records / 1e6);
  std::printf(
      "reference, On-Demand walk of the top-level fields only: %10.0f records/s  "
      "ratio walk/raw = %.2f\n",
      walk, walk / raw);
  std::printf("decode (in place, reused events): %10.0f events/s  ratio decode/raw = %.2f\n",
              decode, decode / raw);
  std::printf("decode (copy, fresh events):      %10.0f events/s  ratio decode/raw = %.2f\n", copy,
              copy / raw);
  std::printf("target ratio >= 0.80: %s   (median of %d repetitions; checksum %zu)\n",
              decode / raw >= 0.80 ? "met" : "NOT met", repetitions, sink % 1000);
  return 0;
}
