// Conformance report against third-party labelled AWS events (../shared/corpus/labelled, see
// its README). Each source rule is mapped to the driftwatch category it belongs to (or to none,
// with the reason); every case runs through the real decoder, appliers, state and the built-in
// pack in a fresh state. Per category: how many of the source's positives driftwatch flags in
// that category, and how many of its negatives it leaves alone. Panther cases whose result
// depends on mocked helpers are skipped. The report is printed; doc/conformance.md explains the
// deliberate disagreements. Skipped (saying why) when the corpus is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/memory_store.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;

const std::string kSourceDir = DW_SOURCE_DIR;
constexpr double kFlaggedFloor = 0.85;
constexpr double kLeftAloneFloor = 0.80;

std::string CorpusDir() {
  if (const char* env = std::getenv("DW_CORPUS_DIR"); env != nullptr && *env != '\0') {
    return std::string(env) + "/labelled";
  }
  return kSourceDir + "/../shared/corpus/labelled";
}

// Source rule id -> driftwatch category. Rules not listed map to none: threat-detection
// heuristics (recon, brute force, credential use, exfiltration, secrets reads) and routine
// operations, which are not drift of the customer's configuration. See doc/conformance.md.
const std::map<std::string, std::string>& CategoryOf() {
  static const std::map<std::string, std::string> m = {
      // identity
      {"AWS.CloudTrail.IAMAnythingChanged", "identity"},
      {"AWS.CloudTrail.IAMEntityCreatedWithoutCloudFormation", "identity"},
      {"AWS.CloudTrail.LoginProfileCreatedOrModified", "identity"},
      {"AWS.CloudTrail.RootAccessKeyCreated", "identity"},
      {"AWS.CloudTrail.RootPasswordChanged", "identity"},
      {"AWS.Console.RootLogin", "identity"},
      {"AWS.Console.RootLoginFailed", "identity"},
      {"AWS.Console.LoginWithoutMFA", "identity"},
      {"AWS.IAM.AttachAdminRolePolicy", "identity"},
      {"AWS.IAM.AttachAdminUserPolicy", "identity"},
      {"AWS.IAM.Backdoor.User.Keys", "identity"},
      {"AWS.IAM.BackdoorRole", "identity"},
      {"AWS.IAM.CreateRole", "identity"},
      {"AWS.IAM.CreateUser", "identity"},
      {"AWS.IAM.CredentialsUpdated", "identity"},
      {"AWS.IAM.PolicyModified", "identity"},
      {"AWS.Root.Activity", "identity"},
      {"AWS.User.Login.Profile.Modified", "identity"},
      {"cloudtrail_root_account_usage", "identity"},
      {"cloudtrail_mfa_policy_abuse_attempt", "identity"},
      // network
      {"AWS.CloudTrail.NetworkACLPermissiveEntry", "network"},
      {"cloudtrail_network_acl_ingress_anywhere", "network"},
      {"cloudtrail_security_group_ingress_anywhere", "network"},
      {"AWS.EC2.SecurityGroupModified", "network"},
      {"AWS.EC2.ManualSecurityGroupChange", "network"},
      {"AWS.EC2.NetworkACLModified", "network"},
      {"AWS.EC2.RouteTableModified", "network"},
      {"AWS.EC2.GatewayModified", "network"},
      {"AWS.EC2.VPCModified", "network"},
      // data-protection
      {"AWS.CloudTrail.AMIModifiedForPublicAccess", "data-protection"},
      {"AWS.CloudTrail.SnapshotMadePublic", "data-protection"},
      {"AWS.CloudTrail.ResourceMadePublic", "data-protection"},
      {"AWS.CloudTrail.CodebuildProjectMadePublic", "data-protection"},
      {"AWS.S3.BucketPolicyModified", "data-protection"},
      {"AWS.S3.DeleteBucketEncryption", "data-protection"},
      {"AWS.S3.DeletePublicAccessBlock", "data-protection"},
      {"AWS.KMS.CustomerManagedKeyLoss", "data-protection"},
      {"AWS.EC2.EBS.Encryption.Disabled", "data-protection"},
      {"AWS.RDS.InstanceMadePublic", "data-protection"},
      {"AWS.RDS.SnapshotShared", "data-protection"},
      {"AWS.RDS.PublicRestore", "data-protection"},
      {"cloudtrail_snapshot_or_ami_made_public", "data-protection"},
      {"public_ami", "data-protection"},
      {"cloudtrail_public_resources", "data-protection"},
      {"cloudtrail_put_bucket_acl", "data-protection"},
      {"cloudtrail_put_object_acl_public", "data-protection"},
      {"cloudtrail_put_object_acl_public_publisher_example", "data-protection"},
      // logging
      {"AWS.CloudTrail.Stopped", "logging"},
      {"AWS.CloudTrail.EventSelectorsDisabled", "logging"},
      {"AWS.CloudTrail.SecurityConfigurationChange", "logging"},
      {"AWS.ConfigService.DisabledDeleted", "logging"},
      {"AWS.VPCFlow.LogsDeleted", "logging"},
      {"AWS.CloudTrail.DNSLogsDeleted", "logging"},
      {"AWS.S3.DisableBucketLogging", "logging"},
      {"AWS.RDS.ActivityStreamStopped", "logging"},
      {"AWS.Bedrock.DeleteModelInvocationLoggingConfiguration", "logging"},
      // inventory
      {"AWS.UnusedRegion", "inventory"},
      // patching
      {"config_compliance", "patching"},
  };
  return m;
}

class Sink : public FindingSink {
 public:
  Status Emit(const Finding& f) override {
    if (f.status == FindingStatus::kOpen) categories.insert(std::string(CategoryName(f.category)));
    return Status::Ok();
  }
  std::set<std::string> categories;
};

Policy CorpusPolicy() {
  Policy p;
  // The regions the corpus's own "unused region" rule treats as used.
  p.has_approved_regions = true;
  p.approved_regions = {"us-east-1", "us-east-2", "us-west-1", "us-west-2"};
  p.public_ports = {80, 443};
  return p;
}

struct Tally {
  int positives = 0, flagged = 0, negatives = 0, left_alone = 0;
};

TEST(LabelledCorpusTest, ConformanceReport) {
  const std::string dir = CorpusDir();
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "labelled corpus not found at " << dir << " (set DW_CORPUS_DIR)";
  }
  RuleLoadResult load;
  auto probe = CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, CorpusPolicy(), &load);
  ASSERT_NE(probe, nullptr) << load.ToText();

  std::map<std::string, Tally> per_category;
  std::map<std::string, Tally> per_rule;
  int skipped_mocks = 0, cases = 0;
  std::vector<std::string> missed;
  for (const char* file : {"panther.ndjson", "streamalert.ndjson"}) {
    std::ifstream in(dir + "/" + file);
    ASSERT_TRUE(in) << dir << "/" << file;
    std::string line;
    while (std::getline(in, line)) {
      json c = json::parse(line, nullptr, false);
      ASSERT_FALSE(c.is_discarded());
      if (c.value("has_mocks", false)) {
        ++skipped_mocks;
        continue;
      }
      auto it = CategoryOf().find(c.value("rule_id", ""));
      if (it == CategoryOf().end()) continue;
      ++cases;
      const std::string& category = it->second;
      const bool expected = c.value("expected", false);

      MemoryStore store;
      SimdjsonEventDecoder decoder;
      RuleLoadResult r;
      auto engine = CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, CorpusPolicy(), &r);
      Sink sink;
      PipelineParts parts;
      parts.decoder = &decoder;
      parts.store = &store;
      parts.rules = engine.get();
      parts.sinks = {&sink};
      Pipeline pipeline(std::move(parts));
      const std::string bytes = c["event"].dump();
      ASSERT_TRUE(pipeline.ProcessBatch({{bytes, "corpus", "", 0}}).ok());
      const bool flagged = sink.categories.count(category) != 0;

      Tally& t = per_category[category];
      Tally& rt = per_rule[c["rule_id"].get<std::string>()];
      if (expected) {
        ++t.positives;
        ++rt.positives;
        if (flagged) {
          ++t.flagged;
          ++rt.flagged;
        } else {
          missed.push_back(c["rule_id"].get<std::string>() + " / " + c.value("test_name", ""));
        }
      } else {
        ++t.negatives;
        ++rt.negatives;
        if (!flagged) {
          ++t.left_alone;
          ++rt.left_alone;
        }
      }
    }
  }

  Tally total;
  std::printf("\n%-16s %18s %22s\n", "category", "positives flagged", "negatives left alone");
  for (const auto& [category, t] : per_category) {
    std::printf("%-16s %10d / %-6d %14d / %-6d\n", category.c_str(), t.flagged, t.positives,
                t.left_alone, t.negatives);
    total.positives += t.positives;
    total.flagged += t.flagged;
    total.negatives += t.negatives;
    total.left_alone += t.left_alone;
  }
  std::printf("%-16s %10d / %-6d %14d / %-6d\n", "all", total.flagged, total.positives,
              total.left_alone, total.negatives);
  std::printf("\ncases scored: %d, skipped (mocked helpers): %d\n\nper source rule "
              "(flagged/positives, left alone/negatives):\n",
              cases, skipped_mocks);
  for (const auto& [rule, t] : per_rule) {
    std::printf("  %-58s %d/%d  %d/%d\n", rule.c_str(), t.flagged, t.positives, t.left_alone,
                t.negatives);
  }
  std::printf("\npositives not flagged:\n");
  for (const std::string& m : missed) std::printf("  %s\n", m.c_str());

  // Floors the built-in pack meets today (doc/conformance.md); a regression fails here.
  ASSERT_GT(total.positives, 0);
  const double flagged_rate = static_cast<double>(total.flagged) / total.positives;
  const double left_alone_rate = static_cast<double>(total.left_alone) / total.negatives;
  EXPECT_GE(flagged_rate, kFlaggedFloor) << "positives flagged";
  EXPECT_GE(left_alone_rate, kLeftAloneFloor) << "negatives left alone";
}

}  // namespace
}  // namespace driftwatch
