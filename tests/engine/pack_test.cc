// The built-in pack as data: for every rule a positive and a negative sample written by the
// project (tests/data/rules/<rule-id>.json), and for every state rule a lifecycle (opened by one
// event, resolved by the reverse event or a Config item). Samples run through the real decoder,
// appliers, in-memory state store and compiled rules: the path production events take.
//
// Sample file: {"positive": [S...], "negative": [S...], "lifecycle": {"open": [R...],
// "resolve": [R...]}} where a sample S is a record R or {"records": [R...]} (fed in order into
// one fresh state), and a record R is a CloudTrail record (defaults filled in: ids, times,
// account 111122223333, region us-east-1, an IAM user actor), {"config_item": {...}} (wrapped in a
// ConfigurationItemChangeNotification) or {"compliance": {...}} (a ComplianceChangeNotification).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/memory_store.h"
#include "tests/engine/sample_records.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;

const std::string kSourceDir = DW_SOURCE_DIR;

using testing_samples::CollectingSink;
using testing_samples::RecordMaker;

Policy PackPolicy() {
  Policy p;
  p.has_approved_regions = true;
  p.approved_regions = {"us-east-1", "us-west-2"};
  p.has_approved_resource_types = true;
  p.approved_resource_types = {"AWS::EC2::SecurityGroup", "AWS::EC2::Instance",
                               "AWS::EC2::NetworkAcl",    "AWS::EC2::RouteTable",
                               "AWS::S3::Bucket",         "AWS::IAM::User",
                               "AWS::IAM::Role",          "AWS::IAM::AccountPasswordPolicy",
                               "AWS::CloudTrail::Trail",  "AWS::KMS::Key",
                               "AWS::RDS::DBInstance",    "AWS::RDS::DBSnapshot",
                               "AWS::EC2::Snapshot",      "AWS::EC2::Image",
                               "AWS::EC2::EbsEncryptionByDefault",
                               "AWS::Config::ConfigurationRecorder"};
  p.trusted_accounts = {"222233334444"};
  p.has_trusted_ami_owners = true;
  p.trusted_ami_owners = {"amazon", "self"};
  p.trusted_amis = {"ami-0a1b2c3d4e5f60718"};
  p.public_ports = {80, 443};
  p.access_key_max_age_days = 90;
  p.has_iam_admin_principals = true;
  p.iam_admin_principals = {"arn:aws:iam::111122223333:role/iam-admin*"};
  return p;
}

class PackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RuleLoadResult result;
    auto engine =
        CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, PackPolicy(), &result);
    ASSERT_NE(engine, nullptr) << result.ToText();
    rules_ = new std::vector<RuleSummary>(result.rules);
  }
  static void TearDownTestSuite() {
    delete rules_;
    rules_ = nullptr;
  }

  // Runs records, one batch each, into a fresh state; returns every finding emitted.
  struct Run {
    MemoryStore store;
    std::unique_ptr<CompiledRuleEngine> engine;
    SimdjsonEventDecoder decoder;
    CollectingSink sink;
    std::unique_ptr<Pipeline> pipeline;
    RecordMaker maker;
    Run() {
      RuleLoadResult result;
      engine = CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, PackPolicy(), &result);
      PipelineParts parts;
      parts.decoder = &decoder;
      parts.store = &store;
      parts.rules = engine.get();
      parts.sinks = {&sink};
      pipeline = std::make_unique<Pipeline>(std::move(parts));
    }
    void Feed(const json& records, const std::string& what) {
      for (const json& r : records) {
        const std::string bytes = maker.Make(r);
        PipelineRecord rec{bytes, what, "", 0};
        Status s = pipeline->ProcessBatch({rec});
        ASSERT_TRUE(s.ok()) << what << ": " << s.message();
        ASSERT_EQ(pipeline->counters().invalid, 0) << what << ": sample not decodable: " << bytes;
      }
    }
  };

  static json Records(const json& sample) {
    if (sample.is_object() && sample.contains("records")) return sample["records"];
    return json::array({sample});
  }

  static json LoadSamples(const std::string& rule_id) {
    const std::string path = kSourceDir + "/tests/data/rules/" + rule_id + ".json";
    std::ifstream in(path);
    if (!in) return json();
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str(), nullptr, false);
  }

  static std::map<std::string, Finding> StoredFindings(MemoryStore& store) {
    std::map<std::string, Finding> out;
    EXPECT_TRUE(store.ScanFindings([&](const Finding& f) {
                       out[f.finding_id] = f;
                       return true;
                     })
                    .ok());
    return out;
  }

  static std::vector<RuleSummary>* rules_;
};

std::vector<RuleSummary>* PackTest::rules_ = nullptr;

TEST_F(PackTest, EveryRuleHasPositiveAndNegativeSamples) {
  ASSERT_NE(rules_, nullptr);
  EXPECT_GE(rules_->size(), 40u);
  std::set<Category> categories;
  for (const RuleSummary& rule : *rules_) {
    categories.insert(rule.category);
    json samples = LoadSamples(rule.id);
    ASSERT_TRUE(samples.is_object()) << "no samples (or bad JSON) for " << rule.id;
    EXPECT_GE(samples.value("positive", json::array()).size(), 1u) << rule.id;
    EXPECT_GE(samples.value("negative", json::array()).size(), 1u) << rule.id;
    if (rule.is_state) {
      EXPECT_TRUE(samples.contains("lifecycle")) << "state rule without lifecycle: " << rule.id;
    }
    EXPECT_TRUE(rule.enabled) << rule.id << ": " << rule.disabled_reason;
  }
  EXPECT_EQ(categories.size(), 6u) << "every category has rules";
}

TEST_F(PackTest, PositivesOpenAndNegativesDoNot) {
  ASSERT_NE(rules_, nullptr);
  for (const RuleSummary& rule : *rules_) {
    json samples = LoadSamples(rule.id);
    if (!samples.is_object()) continue;
    int i = 0;
    for (const json& sample : samples.value("positive", json::array())) {
      const std::string what = rule.id + " positive #" + std::to_string(i++);
      Run run;
      run.Feed(Records(sample), what);
      // An event rule paired with a posture rule (evidence_for) gives the drift one finding: the
      // posture rule's, carrying the event's evidence; where the posture rule does not watch the
      // event (another resource type, another call), the event rule's own.
      int opened = 0, posture_with_evidence = 0;
      std::map<std::string, int> open_per_resource;
      for (const Finding& f : run.sink.findings) {
        if (f.status == FindingStatus::kOpen) {
          ++open_per_resource[f.resource.type + "/" + f.resource.id + "/" + f.rule_id];
        }
        if (f.rule_id == rule.id && f.status == FindingStatus::kOpen) {
          ++opened;
          EXPECT_EQ(f.category, rule.category) << what;
          EXPECT_EQ(f.kind, rule.kind) << what;
          EXPECT_FALSE(f.resource.id.empty()) << what;
          EXPECT_FALSE(f.description.empty()) << what;
          EXPECT_NE(f.evidence, "{}") << what << ": evidence names what matched";
        }
      }
      if (!rule.evidence_for.empty()) {
        Finding posture;
        for (const auto& [id, f] : StoredFindings(run.store)) {
          if (f.rule_id != rule.evidence_for || f.status != FindingStatus::kOpen) continue;
          json evidence = json::parse(f.evidence, nullptr, false);
          if (evidence.is_object() && evidence.contains("event") &&
              evidence["event"].value("event_rule", "") == rule.id) {
            ++posture_with_evidence;
            EXPECT_FALSE(f.actor.arn.empty()) << what << ": the event's actor";
          }
        }
        EXPECT_EQ(opened + posture_with_evidence, 1)
            << what << ": one finding for the drift (" << opened << " of the event rule, "
            << posture_with_evidence << " of " << rule.evidence_for << " with its evidence)";
      } else {
        EXPECT_EQ(opened, 1) << what;
      }
      for (const auto& [key, n] : open_per_resource) EXPECT_EQ(n, 1) << what << ": " << key;
    }
    i = 0;
    for (const json& sample : samples.value("negative", json::array())) {
      const std::string what = rule.id + " negative #" + std::to_string(i++);
      Run run;
      run.Feed(Records(sample), what);
      for (const Finding& f : run.sink.findings) {
        EXPECT_NE(f.rule_id, rule.id) << what << ": " << FindingToJson(f);
      }
    }
  }
}

TEST_F(PackTest, StateRulesOpenAndResolveThroughTheStream) {
  ASSERT_NE(rules_, nullptr);
  for (const RuleSummary& rule : *rules_) {
    if (!rule.is_state) continue;
    json samples = LoadSamples(rule.id);
    if (!samples.is_object() || !samples.contains("lifecycle")) continue;
    const std::string what = rule.id + " lifecycle";
    Run run;
    run.Feed(samples["lifecycle"]["open"], what + " open");
    std::string finding_id;
    for (const Finding& f : run.sink.findings) {
      if (f.rule_id == rule.id && f.status == FindingStatus::kOpen) finding_id = f.finding_id;
    }
    ASSERT_FALSE(finding_id.empty()) << what << ": not opened";
    const size_t before = run.sink.findings.size();
    run.Feed(samples["lifecycle"]["resolve"], what + " resolve");
    int resolved = 0;
    for (size_t k = before; k < run.sink.findings.size(); ++k) {
      const Finding& f = run.sink.findings[k];
      if (f.rule_id != rule.id) continue;
      EXPECT_EQ(f.finding_id, finding_id) << what;
      EXPECT_EQ(f.status, FindingStatus::kResolved) << what;
      EXPECT_GT(f.resolved_at_ms, 0) << what;
      ++resolved;
    }
    EXPECT_EQ(resolved, 1) << what << ": resolved exactly once";
    Finding stored;
    Status s = run.store.GetFinding(finding_id, &stored);
    ASSERT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
    EXPECT_TRUE(s.ok()) << what;
    EXPECT_EQ(stored.status, FindingStatus::kResolved) << what;
  }
}

}  // namespace
}  // namespace driftwatch
