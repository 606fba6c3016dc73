// "Every resource a call makes is in state" (doc/resource_calls.md): the share of successful write
// calls that reach a resource's history, on the shared third-party corpus (../shared/corpus, read
// in place, never copied; skipped, saying why, when absent) and on a generated attack-simulation
// stream. Calls the generated table says change no resource (sessions, sign-in, model-access
// agreements, data-plane calls) are counted apart. Each test prints the share and every call that
// was missed, and fails below 95 %.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "appliers/aws_resource_calls.h"
#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "state/memory_store.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr double kFloor = 0.95;

fs::path CorpusDir() {
  if (const char* env = std::getenv("DW_CORPUS_DIR"); env != nullptr && *env != '\0') return env;
  return fs::path(DW_SOURCE_DIR) / ".." / "shared" / "corpus";
}

struct Coverage {
  int writes = 0;        // successful write calls
  int no_resource = 0;   // of which the table says they change no resource
  int names_nothing = 0;  // of the others, records with no parameters, response or resources
  int reached = 0;       // of the others, those in some resource's history
  std::map<std::string, int> missed;      // "source name" -> count
  std::map<std::string, int> none_calls;  // "source name (why)" -> count
  std::map<std::string, int> nameless;    // "source name" -> count

  double Share() const {
    const int counted = writes - no_resource - names_nothing;
    return counted == 0 ? 1.0 : static_cast<double>(reached) / counted;
  }
  void Add(const Coverage& o) {
    writes += o.writes;
    no_resource += o.no_resource;
    names_nothing += o.names_nothing;
    reached += o.reached;
    for (const auto& [k, v] : o.missed) missed[k] += v;
    for (const auto& [k, v] : o.none_calls) none_calls[k] += v;
    for (const auto& [k, v] : o.nameless) nameless[k] += v;
  }
  void Print(const char* what) const {
    std::printf("\n[coverage] %s: %d successful write calls, %d change no resource (table), "
                "%d name nothing (no requestParameters, responseElements or resources), "
                "%d of the other %d reach a resource's history: %.3f\n",
                what, writes, no_resource, names_nothing, reached,
                writes - no_resource - names_nothing, Share());
    for (const auto& [k, v] : none_calls) std::printf("[coverage]   no resource: %s x%d\n", k.c_str(), v);
    for (const auto& [k, v] : nameless) std::printf("[coverage]   names nothing: %s x%d\n", k.c_str(), v);
    for (const auto& [k, v] : missed) std::printf("[coverage]   missed: %s x%d\n", k.c_str(), v);
  }
};

// Nothing to name a resource by: null, "", the corpus's "..." placeholders (values its sources
// removed), or containers of nothing else.
bool Empty(const json& v) {
  if (v.is_null()) return true;
  if (v.is_string()) return v.get_ref<const std::string&>().empty() || v == "...";
  if (!v.is_structured()) return false;
  for (const json& e : v) {
    if (!Empty(e)) return false;
  }
  return true;
}

// A record that names no resource at all: no request parameters, no response, no resources[]
// with a value (test fixtures stripped of their values). No applier can place it.
bool NamesNothing(const Event& e) {
  const json r = json::parse(e.document, nullptr, false);
  if (!r.is_object()) return true;
  return Empty(r.value("requestParameters", json())) &&
         Empty(r.value("responseElements", json())) && Empty(r.value("resources", json()));
}

// Runs `records` through the pipeline (decoder, appliers, state) into a fresh state and counts
// which successful write calls reached history.
Coverage Measure(const std::vector<std::string>& records) {
  MemoryStore store;
  SimdjsonEventDecoder decoder;
  PipelineParts parts;
  parts.decoder = &decoder;
  parts.store = &store;
  Pipeline pipeline(std::move(parts));
  std::vector<PipelineRecord> batch;
  for (size_t i = 0; i < records.size(); ++i) {
    batch.push_back({records[i], "coverage", "", static_cast<int64_t>(i)});
  }
  Coverage c;
  if (!pipeline.ProcessBatch(batch).ok()) {
    ADD_FAILURE() << "pipeline failed";
    return c;
  }
  std::set<std::string> in_history;
  EXPECT_TRUE(store.ScanHistory("", [&](const HistoryEntry& e) {
                     in_history.insert(e.event_id);
                     return true;
                   }).ok());
  SimdjsonEventDecoder again;
  std::set<std::string> counted;
  for (const std::string& r : records) {
    std::vector<Event> events;
    std::vector<EventDecoder::Rejected> rejected;
    again.Decode(r, "coverage", &events, &rejected);
    for (const Event& e : events) {
      if (e.kind != EventKind::kApiCall || !e.error_code.empty() || e.read_only) continue;
      if (!counted.insert(e.id).second) continue;  // a repeated event id is one call
      ++c.writes;
      const std::string name = e.event_source + " " + e.event_name;
      const ResourceCall* call = FindResourceCall(e.event_source, e.event_name);
      if (call != nullptr && call->action == ResourceCallAction::kNone) {
        ++c.no_resource;
        ++c.none_calls[name + " (" + call->why + ")"];
      } else if (in_history.count(e.id)) {
        ++c.reached;
      } else if (NamesNothing(e)) {
        ++c.names_nothing;
        ++c.nameless[name];
      } else {
        ++c.missed[name];
      }
    }
  }
  return c;
}

// The CloudTrail records of one corpus line.
std::vector<std::string> RecordsOfLine(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return {};
  if (j.is_object() && j.contains("event")) return {j["event"].dump()};
  return {line};
}

TEST(ResourceCoverageTest, SharedCorpusWriteCallsReachHistory) {
  const fs::path dir = CorpusDir();
  if (!fs::is_directory(dir)) {
    GTEST_SKIP() << "corpus folder " << dir << " is absent (set DW_CORPUS_DIR); nothing to measure";
  }
  Coverage total;
  for (const char* sub : {"labelled", "streams"}) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir / sub)) {
      if (e.path().extension() == ".ndjson") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      std::ifstream in(f);
      ASSERT_TRUE(in) << f;
      std::string line;
      Coverage file;
      std::vector<std::string> story;
      while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        if (std::string(sub) == "labelled") {
          // Each labelled case is its own story (cases reuse event ids).
          file.Add(Measure(RecordsOfLine(line)));
        } else {
          for (std::string& r : RecordsOfLine(line)) story.push_back(std::move(r));
        }
      }
      if (!story.empty()) file.Add(Measure(story));
          std::printf("[coverage] %s/%s: %d of %d: %.3f\n", sub, f.filename().c_str(), file.reached,
                  file.writes - file.no_resource - file.names_nothing, file.Share());
      total.Add(file);
    }
  }
  total.Print("shared corpus");
  ASSERT_GT(total.writes, 0);
  EXPECT_GE(total.Share(), kFloor) << "successful write calls reaching a resource's history";
}

// A generated attack-simulation stream: an access key assumes a role and, through it, creates
// and changes what attackers create (Lambda functions through Lambda's versioned API names,
// secrets, SSM parameters, NAT gateways, instance profiles, key pairs, addresses), tags and
// deletes some of it, and asks for Bedrock model access. Event ids are unique; `rounds` repeats
// the story with new names.
std::vector<std::string> AttackStream(int rounds) {
  const std::string acct = "111122223333";
  const std::string region = "us-east-1";
  // {source, name, requestParameters, responseElements}; {n} is the round, {a} the account.
  const std::vector<std::array<std::string, 4>> calls = {
      {"sts", "AssumeRole", R"({"roleArn":"arn:aws:iam::{a}:role/ops","roleSessionName":"s{n}"})",
       R"({"credentials":{"accessKeyId":"ASIAGEN{n}"}})"},
      {"lambda", "CreateFunction20150331",
       R"({"functionName":"exfil-{n}","runtime":"python3.12","role":"arn:aws:iam::{a}:role/ops","handler":"h.main","tags":{"owner":"x"}})",
       R"({"functionName":"exfil-{n}","functionArn":"arn:aws:lambda:us-east-1:{a}:function:exfil-{n}","runtime":"python3.12"})"},
      {"lambda", "UpdateFunctionCode20150331v2",
       R"({"functionName":"arn:aws:lambda:us-east-1:{a}:function:exfil-{n}","publish":true})",
       R"({"functionName":"exfil-{n}","functionArn":"arn:aws:lambda:us-east-1:{a}:function:exfil-{n}:2"})"},
      {"lambda", "AddPermission20150331v2",
       R"({"functionName":"exfil-{n}","statementId":"pub","action":"lambda:InvokeFunction","principal":"*"})",
       R"({"statement":"{}"})"},
      {"lambda", "UpdateFunctionConfiguration20150331v2",
       R"({"functionName":"exfil-{n}","environment":{}})", R"({"functionName":"exfil-{n}"})"},
      {"lambda", "TagResource20170331v2",
       R"({"resource":"arn:aws:lambda:us-east-1:{a}:function:exfil-{n}","tags":{"team":"red"}})",
       "null"},
      {"secretsmanager", "CreateSecret", R"({"name":"prod/db-{n}","clientRequestToken":"t"})",
       R"({"aRN":"arn:aws:secretsmanager:us-east-1:{a}:secret:prod/db-{n}-AbC123","name":"prod/db-{n}"})"},
      {"secretsmanager", "PutSecretValue",
       R"({"secretId":"arn:aws:secretsmanager:us-east-1:{a}:secret:prod/db-{n}-AbC123","clientRequestToken":"u"})",
       R"({"aRN":"arn:aws:secretsmanager:us-east-1:{a}:secret:prod/db-{n}-AbC123","versionId":"v2"})"},
      {"secretsmanager", "TagResource",
       R"({"secretId":"prod/db-{n}","tags":[{"key":"team","value":"red"}]})", "null"},
      {"secretsmanager", "CreateSecret", R"({"name":"tmp-{n}"})",
       R"({"aRN":"arn:aws:secretsmanager:us-east-1:{a}:secret:tmp-{n}-XyZ789","name":"tmp-{n}"})"},
      {"secretsmanager", "DeleteSecret",
       R"({"secretId":"tmp-{n}","forceDeleteWithoutRecovery":true})",
       R"({"aRN":"arn:aws:secretsmanager:us-east-1:{a}:secret:tmp-{n}-XyZ789","name":"tmp-{n}"})"},
      {"ssm", "PutParameter",
       R"({"name":"/app/{n}/token","type":"SecureString","overwrite":false})",
       R"({"version":1,"tier":"Standard"})"},
      {"ssm", "PutParameter", R"({"name":"/app/{n}/token","type":"SecureString","overwrite":true})",
       R"({"version":2,"tier":"Standard"})"},
      {"ssm", "PutParameter", R"({"name":"scratch-{n}","type":"String"})", R"({"version":1})"},
      {"ssm", "DeleteParameters", R"({"names":["scratch-{n}"]})",
       R"({"deletedParameters":["scratch-{n}"],"invalidParameters":[]})"},
      {"ssm", "AddTagsToResource",
       R"({"resourceType":"Parameter","resourceId":"/app/{n}/token","tags":[{"key":"k","value":"v"}]})",
       "null"},
      {"ec2", "AllocateAddress", R"({"domain":"vpc"})",
       R"({"publicIp":"203.0.113.{n}","allocationId":"eipalloc-0{n}","domain":"vpc"})"},
      {"ec2", "CreateNatGateway",
       R"({"CreateNatGatewayRequest":{"SubnetId":"subnet-0a","AllocationId":"eipalloc-0{n}"}})",
       R"({"CreateNatGatewayResponse":{"natGateway":{"natGatewayId":"nat-0{n}","subnetId":"subnet-0a","state":"pending"},"requestId":"r"}})"},
      {"ec2", "CreateTags",
       R"({"resourcesSet":{"items":[{"resourceId":"nat-0{n}"}]},"tagSet":{"items":[{"key":"Name","value":"egress"}]}})",
       R"({"_return":true})"},
      {"ec2", "CreateKeyPair", R"({"keyName":"k-{n}"})",
       R"({"keyName":"k-{n}","keyFingerprint":"ff","keyPairId":"key-0{n}"})"},
      {"iam", "CreateInstanceProfile", R"({"instanceProfileName":"ip-{n}"})",
       R"({"instanceProfile":{"instanceProfileName":"ip-{n}","instanceProfileId":"AIPA{n}","arn":"arn:aws:iam::{a}:instance-profile/ip-{n}"}})"},
      {"iam", "AddRoleToInstanceProfile", R"({"instanceProfileName":"ip-{n}","roleName":"ops"})",
       "null"},
      {"iam", "TagInstanceProfile",
       R"({"instanceProfileName":"ip-{n}","tags":[{"key":"team","value":"red"}]})", "null"},
      {"s3", "PutObject", R"({"bucketName":"loot-{n}","key":"dump.tar"})", "null"},
      {"logs", "CreateLogGroup", R"({"logGroupName":"/x/{n}"})", "null"},
      {"bedrock", "PutUseCaseForModelAccess", R"({"formData":"..."})", "null"},
      {"bedrock", "CreateFoundationModelAgreement", R"({"modelId":"anthropic.claude-v2","offerToken":"t"})",
       R"({"modelId":"anthropic.claude-v2"})"},
      {"ec2", "DeleteNatGateway", R"({"DeleteNatGatewayRequest":{"NatGatewayId":"nat-0{n}"}})",
       R"({"DeleteNatGatewayResponse":{"natGatewayId":"nat-0{n}"}})"},
      {"ssm", "DeleteParameter", R"({"name":"/app/{n}/token"})", "null"},
      {"secretsmanager", "GetSecretValue", R"({"secretId":"prod/db-{n}"})", "null"},
  };
  auto fill = [&](std::string s, int n) {
    for (const auto& [k, v] : {std::pair<std::string, std::string>{"{n}", std::to_string(n)},
                               {"{a}", acct}}) {
      for (size_t at = s.find(k); at != std::string::npos; at = s.find(k, at + v.size())) {
        s.replace(at, k.size(), v);
      }
    }
    return s;
  };
  std::vector<std::string> out;
  int i = 0;
  for (int n = 1; n <= rounds; ++n) {
    for (const auto& [source, name, req, resp] : calls) {
      ++i;
      char time[32];
      std::snprintf(time, sizeof(time), "2026-11-02T%02d:%02d:%02dZ", (i / 3600) % 24,
                    (i / 60) % 60, i % 60);
      const bool assumed = name != "AssumeRole";
      json r = {
          {"eventVersion", "1.08"},
          {"userIdentity",
           assumed ? json{{"type", "AssumedRole"},
                          {"principalId", "AROAGEN:s" + std::to_string(n)},
                          {"arn", "arn:aws:sts::" + acct + ":assumed-role/ops/s" + std::to_string(n)},
                          {"accountId", acct},
                          {"accessKeyId", "ASIAGEN" + std::to_string(n)},
                          {"sessionContext",
                           {{"sessionIssuer",
                             {{"type", "Role"}, {"arn", "arn:aws:iam::" + acct + ":role/ops"},
                              {"userName", "ops"}}}}}}
                   : json{{"type", "IAMUser"},
                          {"arn", "arn:aws:iam::" + acct + ":user/leaked"},
                          {"accountId", acct},
                          {"accessKeyId", "AKIAGENLEAKED0000001"},
                          {"userName", "leaked"}}},
          {"eventTime", time},
          {"eventSource", source + ".amazonaws.com"},
          {"eventName", name},
          {"awsRegion", region},
          {"sourceIPAddress", "198.51.100.9"},
          {"userAgent", "stratus"},
          {"requestParameters", json::parse(fill(req, n))},
          {"responseElements", json::parse(fill(resp, n))},
          {"eventID", "gen-" + std::to_string(i)},
          {"readOnly", name == "GetSecretValue"},
          {"eventType", "AwsApiCall"},
          {"recipientAccountId", acct}};
      out.push_back(r.dump());
    }
  }
  return out;
}

TEST(ResourceCoverageTest, GeneratedAttackStreamWriteCallsReachHistory) {
  const std::vector<std::string> stream = AttackStream(20);
  // DW_COVERAGE_STREAM=FILE keeps the stream, to measure another build on it
  // (driftwatch replay --state DIR FILE; driftwatch timeline --state DIR ...).
  if (const char* path = std::getenv("DW_COVERAGE_STREAM"); path != nullptr && *path != '\0') {
    std::ofstream out(path);
    for (const std::string& r : stream) out << r << "\n";
  }
  const Coverage c = Measure(stream);
  c.Print("generated attack stream");
  EXPECT_GE(c.Share(), kFloor) << "successful write calls reaching a resource's history";
  EXPECT_TRUE(c.missed.empty());
  EXPECT_GT(c.no_resource, 0);  // sessions and model-access calls are said to be so
}

// Every write operation of the generated table, one call each with its identifier member filled
// in the shape the table names: each one must reach history (or be said to change no resource).
TEST(ResourceCoverageTest, EveryTableEntryWithAMemberResolves) {
  size_t n = 0;
  const ResourceCall* table = ResourceCallTable(&n);
  ASSERT_GT(n, 5000u);
  std::vector<std::string> records;
  int i = 0;
  for (size_t k = 0; k < n; ++k) {
    const ResourceCall& c = table[k];
    const std::string key = c.key;
    const size_t space = key.find(' ');
    const std::string source = key.substr(0, space), name = key.substr(space + 1);
    json req = json::object();
    json resp = nullptr;
    std::string members = c.action == ResourceCallAction::kCreate && *c.response_members
                              ? c.response_members
                              : c.request_members;
    const std::string member = members.substr(0, members.find('|'));
    std::string value = "res-" + std::to_string(k);
    if (std::string(c.type).empty()) {
      value = "arn:aws:lambda:us-east-1:111122223333:function:f" + std::to_string(k);
    }
    if (!member.empty()) {
      (c.action == ResourceCallAction::kCreate && *c.response_members ? resp : req)[member] = value;
    }
    ++i;
    json r = {{"eventVersion", "1.08"},
              {"userIdentity", {{"type", "IAMUser"}, {"arn", "arn:aws:iam::111122223333:user/u"},
                                {"accountId", "111122223333"}}},
              {"eventTime", "2026-11-02T00:00:00Z"},
              {"eventSource", source},
              {"eventName", name},
              {"awsRegion", "us-east-1"},
              {"sourceIPAddress", "198.51.100.9"},
              {"requestParameters", req},
              {"responseElements", resp},
              {"eventID", "t-" + std::to_string(i)},
              {"readOnly", false},
              {"recipientAccountId", "111122223333"}};
    records.push_back(r.dump());
  }
  Coverage c = Measure(records);
  // Synthetic records carry nothing but the member: none of them is excused.
  for (const auto& [k, v] : c.nameless) c.missed[k] += v;
  c.names_nothing = 0;
  std::printf("\n[coverage] generated table: %zu entries, %d write calls, %d change no resource, "
              "%d name nothing, %d of %d reach history: %.3f\n",
              n, c.writes, c.no_resource, c.names_nothing, c.reached,
              c.writes - c.no_resource - c.names_nothing, c.Share());
  int shown = 0;
  for (const auto& [k, v] : c.missed) {
    if (++shown <= 400) std::printf("[coverage]   missed: %s\n", k.c_str());
  }
  // Names that a hand-written applier of another service also answers to (CreateUser of
  // Alexa for Business, CreateRoute of API Gateway) and entries whose first member is not the
  // one a synthetic record needs are below the floor of real streams; this guards the table
  // against regressions.
  EXPECT_GE(c.Share(), 0.90);
}

TEST(ResourceCallTableTest, VersionedNamesMapToTheirOperation) {
  EXPECT_EQ(StripApiVersion("CreateFunction20150331"), "CreateFunction");
  EXPECT_EQ(StripApiVersion("UpdateFunctionCode20150331v2"), "UpdateFunctionCode");
  EXPECT_EQ(StripApiVersion("CreateDistribution2020_05_31"), "CreateDistribution");
  EXPECT_EQ(StripApiVersion("CreateDBInstance"), "CreateDBInstance");
  EXPECT_EQ(StripApiVersion("Ec2"), "Ec2");
  const ResourceCall* c = FindResourceCall("lambda.amazonaws.com", "CreateFunction20150331");
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(c->type, "AWS::Lambda::Function");
  EXPECT_EQ(c->action, ResourceCallAction::kCreate);
  c = FindResourceCall("lambda.amazonaws.com", "UpdateFunctionCode20150331v2");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->action, ResourceCallAction::kUpdate);
  c = FindResourceCall("secretsmanager.amazonaws.com", "CreateSecret");
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(c->type, "AWS::SecretsManager::Secret");
  c = FindResourceCall("ssm.amazonaws.com", "PutParameter");
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(c->type, "AWS::SSM::Parameter");
  EXPECT_EQ(c->action, ResourceCallAction::kUpsert);
  c = FindResourceCall("ec2.amazonaws.com", "DeleteNatGateway");
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(c->type, "AWS::EC2::NatGateway");
  EXPECT_EQ(c->action, ResourceCallAction::kDelete);
  c = FindResourceCall("iam.amazonaws.com", "TagInstanceProfile");
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(c->type, "AWS::IAM::InstanceProfile");
  EXPECT_EQ(c->action, ResourceCallAction::kTag);
  EXPECT_TRUE(c->global);
  c = FindResourceCall("sts.amazonaws.com", "AssumeRole");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->action, ResourceCallAction::kNone);
  EXPECT_STRNE(c->why, "");
  c = FindResourceCall("bedrock.amazonaws.com", "PutUseCaseForModelAccess");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->action, ResourceCallAction::kNone);
  EXPECT_EQ(ResourceTypeOfArn("arn:aws:lambda:us-east-1:1:function:f"), "AWS::Lambda::Function");
  EXPECT_EQ(ResourceTypeOfArn("arn:aws:secretsmanager:us-east-1:1:secret:a/b-AbC123"),
            "AWS::SecretsManager::Secret");
  EXPECT_EQ(ResourceTypeOfArn("arn:aws:iam::1:instance-profile/p"), "AWS::IAM::InstanceProfile");
  EXPECT_EQ(ResourceTypeOfArn("arn:aws:s3:::bucket"), "AWS::S3::Bucket");
}

}  // namespace
}  // namespace driftwatch
