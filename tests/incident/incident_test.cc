// driftwatch incident / timeline over states filled by the real pipeline (simdjson decoder,
// built-in rule pack, RocksDB in a temporary directory): the scenario of
// tests/data/incident/scenario.ndjson, determinism under re-delivery and reordering within
// CloudTrail's delivery window, and the report's honesty when the activity index is missing.

#include "incident/incident.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "config/policy.h"
#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/memory_store.h"
#include "state/rocksdb_store.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;
const std::string kSourceDir = DW_SOURCE_DIR;
constexpr const char* kLeakedKey = "AKIAEXAMPLELEAKED007";

std::vector<std::string> ScenarioLines() {
  std::ifstream in(kSourceDir + "/tests/data/incident/scenario.ndjson");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

Policy ScenarioPolicy() {
  Policy p;
  p.has_approved_regions = true;
  p.approved_regions = {"us-east-1", "us-west-2"};
  p.trusted_accounts = {"444455556666"};
  p.has_trusted_ami_owners = true;
  p.trusted_ami_owners = {"amazon", "111122223333"};
  p.public_ports = {443};
  p.access_key_max_age_days = 90;
  return p;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "dw-incident-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    path_ = mkdtemp(buf.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<RocksDbStore> OpenStore(const std::string& dir) {
  RocksDbStoreOptions o;
  o.sync = false;
  std::unique_ptr<RocksDbStore> store;
  Status s = RocksDbStore::Open(dir, o, &store);
  EXPECT_TRUE(s.ok()) << s.message();
  return store;
}

// Feeds `lines` through a fresh pipeline, `batch` records per batch.
void Replay(StateStore* store, const std::vector<std::string>& lines, size_t batch,
            bool record_activity = true) {
  RuleLoadResult result;
  std::unique_ptr<CompiledRuleEngine> rules =
      CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, ScenarioPolicy(), &result);
  ASSERT_NE(rules, nullptr) << result.ToText();
  SimdjsonEventDecoder decoder;
  PipelineParts parts;
  parts.decoder = &decoder;
  parts.store = store;
  parts.rules = rules.get();
  parts.record_activity = record_activity;
  Pipeline pipeline(std::move(parts));
  for (size_t i = 0; i < lines.size(); i += batch) {
    std::vector<PipelineRecord> records;
    for (size_t j = i; j < std::min(lines.size(), i + batch); ++j) {
      records.push_back({lines[j], "scenario.ndjson", "", 0});
    }
    Status s = pipeline.ProcessBatch(records);
    ASSERT_TRUE(s.ok()) << s.message();
  }
}

int64_t T(const char* text) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseTimestamp(text, &ms)) << text;
  return ms;
}

IncidentQuery LeakedKeyQuery() {
  IncidentQuery q;
  q.by = ActivityIndex::kAccessKey;
  q.value = kLeakedKey;
  q.from_ms = T("2026-11-02T00:00:00Z");
  q.to_ms = T("2026-11-03T00:00:00Z");
  return q;
}

IncidentReport Report(StateStore* store, const IncidentQuery& q) {
  IncidentReport r;
  Status s = BuildIncidentReport(store, q, &r);
  EXPECT_TRUE(s.ok()) << s.message();
  return r;
}

std::string AllFindings(StateStore* store) {
  std::string out;
  Status s = store->ScanFindings([&](const Finding& f) {
    out += FindingToJson(f) + "\n";
    return true;
  });
  EXPECT_TRUE(s.ok());
  return out;
}

std::set<std::string> UndoTargets(const IncidentReport& r, const std::string& action) {
  std::set<std::string> out;
  for (const IncidentUndo& u : r.undo) {
    if (u.action == action) out.insert(u.target);
  }
  return out;
}

TEST(IncidentTest, ScenarioReportNamesEverythingLeftBehindAndNothingElse) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Replay(store.get(), ScenarioLines(), 5);
  const IncidentReport r = Report(store.get(), LeakedKeyQuery());
  EXPECT_EQ(r.coverage, "complete");

  // Left behind: what the incident created and nobody removed.
  EXPECT_EQ(UndoTargets(r, "delete-resource"),
            (std::set<std::string>{
                "111122223333|ap-southeast-1|AWS::EC2::Instance|i-0miner0000000007",
                "111122223333|global|AWS::IAM::User|backup-svc",
                "111122223333|us-east-1|AWS::EC2::SecurityGroup|sg-0attack000000001",
                "111122223333|us-east-1|AWS::S3::Bucket|exfil-drop-2026"}));
  // Changed and not changed back since (the trail was restarted by its owner: not listed).
  EXPECT_EQ(UndoTargets(r, "revert-change"),
            (std::set<std::string>{"111122223333|global|AWS::IAM::Role|ops-admin",
                                   "111122223333|us-east-1|AWS::S3::Bucket|acme-reports"}));
  // The leaked key was deactivated in the cleanup; the one the attacker made was not.
  EXPECT_EQ(UndoTargets(r, "deactivate-key"), (std::set<std::string>{"AKIAEXAMPLEBACKUP007"}));
  EXPECT_EQ(UndoTargets(r, "detach-policy"),
            (std::set<std::string>{"arn:aws:iam::aws:policy/AdministratorAccess"}));
  EXPECT_EQ(UndoTargets(r, "delete-login-profile"), (std::set<std::string>{"backup-svc"}));
  EXPECT_EQ(r.undo.size(), 9u);

  // Every call, failed and read-only ones too, through the chain of credentials.
  std::set<std::string> names;
  for (const ActivityRecord& c : r.calls) names.insert(c.event_name + "/" + c.error_code);
  EXPECT_TRUE(names.count("DeleteDetector/AccessDenied"));
  EXPECT_TRUE(names.count("ListUsers/"));
  EXPECT_TRUE(names.count("DescribeInstances/"));  // by the assumed-role session
  EXPECT_TRUE(names.count("ListBuckets/"));        // by the key the attacker created
  EXPECT_FALSE(names.count("StartLogging/"));      // the owner's cleanup is not the incident
  EXPECT_FALSE(names.count("TerminateInstances/"));
  EXPECT_EQ(r.calls.size(), 20u);
  ASSERT_EQ(r.principals.size(), 3u);
  EXPECT_EQ(r.principals[1].value, "AKIAEXAMPLEBACKUP007");
  EXPECT_EQ(r.principals[2].value, "ASIAEXAMPLETEMP00001");
  EXPECT_EQ(r.principals[2].principal_arn,
            "arn:aws:sts::111122223333:assumed-role/ops-admin/sync");

  std::map<std::string, std::string> key_status;
  for (const IncidentAccessKey& k : r.access_keys) key_status[k.access_key_id] = k.status_now;
  EXPECT_EQ(key_status[kLeakedKey], "Inactive");
  EXPECT_EQ(key_status["AKIAEXAMPLEBACKUP007"], "Active");
  ASSERT_EQ(r.trust_changes.size(), 1u);
  EXPECT_EQ(r.trust_changes[0].role_name, "ops-admin");

  std::map<std::string, bool> exists;
  for (const IncidentResource& res : r.resources) exists[res.resource_key] = res.exists_now;
  EXPECT_FALSE(exists.at("111122223333|ap-southeast-1|AWS::EC2::Instance|i-0miner0000000008"));
  EXPECT_FALSE(exists.at("111122223333|us-east-1|AWS::EC2::SecurityGroup|sg-0attack000000002"));
  EXPECT_TRUE(exists.at("111122223333|us-east-1|AWS::CloudTrail::Trail|org-audit"));

  // Findings opened by the incident, none of the owner's from October.
  std::set<std::string> rules;
  for (const Finding& f : r.findings) {
    rules.insert(f.rule_id);
    EXPECT_GE(f.first_seen_ms, r.query.from_ms);
  }
  EXPECT_TRUE(rules.count("network-sg-open-to-world"));
  EXPECT_TRUE(rules.count("logging-trail-not-logging"));
  EXPECT_TRUE(rules.count("inventory-resource-in-unapproved-region"));

  // The checklist names exactly the undo items.
  const std::string checklist = IncidentToChecklist(r);
  EXPECT_EQ(std::count(checklist.begin(), checklist.end(), '\n'), 9);
  EXPECT_EQ(checklist.find("i-0miner0000000008"), std::string::npos);
  EXPECT_EQ(checklist.find("sg-0attack000000002"), std::string::npos);
  EXPECT_EQ(checklist.find("org-audit"), std::string::npos);
}

TEST(IncidentTest, QueriesBySourceIpPrincipalAndSession) {
  MemoryStore store;
  Replay(&store, ScenarioLines(), 7);
  IncidentQuery q = LeakedKeyQuery();
  q.by = ActivityIndex::kSourceIp;
  q.value = "198.51.100.23";
  IncidentReport r = Report(&store, q);
  ASSERT_FALSE(r.calls.empty());
  for (const ActivityRecord& c : r.calls) EXPECT_EQ(c.actor.source_ip, "198.51.100.23");
  EXPECT_EQ(UndoTargets(r, "delete-resource"),
            (std::set<std::string>{"111122223333|us-east-1|AWS::S3::Bucket|exfil-drop-2026"}));

  q.by = ActivityIndex::kSession;
  q.value = "sync";
  r = Report(&store, q);
  EXPECT_EQ(r.calls.size(), 5u);
  EXPECT_EQ(UndoTargets(r, "delete-resource"),
            (std::set<std::string>{
                "111122223333|ap-southeast-1|AWS::EC2::Instance|i-0miner0000000007",
                "111122223333|us-east-1|AWS::EC2::SecurityGroup|sg-0attack000000001"}));

  q.by = ActivityIndex::kPrincipal;
  q.value = "arn:aws:iam::111122223333:user/admin";
  q.from_ms = T("2026-11-02T09:00:00Z");
  r = Report(&store, q);
  EXPECT_EQ(r.calls.size(), 4u);
  // The cleanup created nothing; what it changed is listed as its own last change.
  EXPECT_TRUE(UndoTargets(r, "delete-resource").empty());
  EXPECT_TRUE(UndoTargets(r, "revert-change").count(
      "111122223333|us-east-1|AWS::CloudTrail::Trail|org-audit"));
}

TEST(IncidentTest, MemoryAndRocksDbStoresGiveTheSameReport) {
  TempDir dir;
  auto rocks = OpenStore(dir.path());
  MemoryStore memory;
  Replay(rocks.get(), ScenarioLines(), 3);
  Replay(&memory, ScenarioLines(), 3);
  EXPECT_EQ(IncidentToNdjson(Report(rocks.get(), LeakedKeyQuery())),
            IncidentToNdjson(Report(&memory, LeakedKeyQuery())));
}

// Issue 7 item 3: the same input twice, or reordered within CloudTrail's delivery window, gives
// the same findings and the same report.
TEST(IncidentTest, DeterministicUnderRedelivery) {
  const std::vector<std::string> lines = ScenarioLines();
  TempDir base_dir;
  auto base = OpenStore(base_dir.path());
  Replay(base.get(), lines, 4);
  const std::string findings = AllFindings(base.get());
  const std::string report = IncidentToMarkdown(Report(base.get(), LeakedKeyQuery()));
  ASSERT_NE(findings, "");

  // Twice into the same state: the second pass changes nothing.
  TempDir dir;
  auto store = OpenStore(dir.path());
  Replay(store.get(), lines, 4);
  Replay(store.get(), lines, 9);
  EXPECT_EQ(AllFindings(store.get()), findings);
  EXPECT_EQ(IncidentToMarkdown(Report(store.get(), LeakedKeyQuery())), report);
  // The timeline is not compared: events older than the seen-id TTL (14 days behind the newest)
  // are re-applied as late events, and their history record then says "notApplied".
}

// Reordered within 15 minutes: a call delivered late is put in its event-time place (the
// document is rebuilt from history with the later calls applied again), rules judge each step
// as of its own call, and a finding's event list, first/last seen and actor do not depend on
// arrival order. History (and so the timeline) legitimately differs: it records what arrived
// late ("appliedLate").
TEST(IncidentTest, DeterministicUnderReorderingWithinFifteenMinutes) {
  const std::vector<std::string> lines = ScenarioLines();
  TempDir base_dir;
  auto base = OpenStore(base_dir.path());
  Replay(base.get(), lines, 4);
  const std::string findings = AllFindings(base.get());
  const std::string report = IncidentToMarkdown(Report(base.get(), LeakedKeyQuery()));
  // Shuffled within 15-minute buckets of event time, several seeds and batch sizes.
  std::vector<std::pair<int64_t, std::string>> timed;
  for (const std::string& line : lines) {
    int64_t ms = 0;
    ASSERT_TRUE(ParseTimestamp(json::parse(line)["eventTime"].get<std::string>(), &ms));
    timed.emplace_back(ms, line);
  }
  constexpr int64_t kWindowMs = 15 * 60 * 1000;
  for (unsigned seed : {1u, 2u, 3u, 4u}) {
    std::mt19937 rng(seed);
    std::map<int64_t, std::vector<std::string>> buckets;
    for (const auto& [ms, line] : timed) buckets[ms / kWindowMs].push_back(line);
    std::vector<std::string> shuffled;
    for (auto& [bucket, group] : buckets) {
      std::shuffle(group.begin(), group.end(), rng);
      shuffled.insert(shuffled.end(), group.begin(), group.end());
    }
    ASSERT_NE(shuffled, lines) << "seed " << seed << " did not reorder anything";
    TempDir dir;
    auto store = OpenStore(dir.path());
    Replay(store.get(), shuffled, 1 + seed * 2);
    EXPECT_EQ(AllFindings(store.get()), findings) << "seed " << seed;
    EXPECT_EQ(IncidentToMarkdown(Report(store.get(), LeakedKeyQuery())), report)
        << "seed " << seed;
  }
}

TEST(IncidentTest, SaysSoWhenTheActivityIndexIsMissing) {
  const std::vector<std::string> lines = ScenarioLines();
  MemoryStore store;
  Replay(&store, lines, 10, /*record_activity=*/false);
  IncidentReport r = Report(&store, LeakedKeyQuery());
  EXPECT_EQ(r.coverage, "absent");
  EXPECT_NE(IncidentToMarkdown(r).find("no activity index covers this window"),
            std::string::npos);
  EXPECT_NE(IncidentToChecklist(r).find("# note: call index absent"), std::string::npos);
  // Only calls that changed state, from history: no failed or read-only ones.
  for (const ActivityRecord& c : r.calls) {
    EXPECT_TRUE(c.error_code.empty());
    EXPECT_NE(c.event_name, "ListUsers");
    EXPECT_EQ(c.actor.access_key_id, kLeakedKey);
  }
  EXPECT_EQ(r.calls.size(), 5u);  // CreateUser ... UpdateAssumeRolePolicy
  EXPECT_TRUE(UndoTargets(r, "delete-resource").count("111122223333|global|AWS::IAM::User|backup-svc"));

  // Half indexed, half not: partial.
  MemoryStore mixed;
  const size_t half = lines.size() / 2;
  Replay(&mixed, std::vector<std::string>(lines.begin(), lines.begin() + half), 10, true);
  Replay(&mixed, std::vector<std::string>(lines.begin() + half, lines.end()), 10, false);
  r = Report(&mixed, LeakedKeyQuery());
  EXPECT_EQ(r.coverage, "partial");
}

TEST(IncidentTest, HistoryScanFindsTheSameStateChangesAsTheIndex) {
  MemoryStore store;
  Replay(&store, ScenarioLines(), 6);
  IncidentQuery q = LeakedKeyQuery();
  q.by = ActivityIndex::kPrincipal;
  q.value = "arn:aws:iam::111122223333:user/backup-svc";
  const IncidentReport indexed = Report(&store, q);
  q.force_history_scan = true;
  const IncidentReport scanned = Report(&store, q);
  EXPECT_EQ(scanned.coverage, "history-scan");
  std::set<std::string> a, b;
  for (const ActivityRecord& c : indexed.calls) {
    if (c.error_code.empty() && !c.read_only) a.insert(c.event_id);
  }
  for (const ActivityRecord& c : scanned.calls) b.insert(c.event_id);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 5u);
  EXPECT_EQ(UndoTargets(indexed, "delete-resource"), UndoTargets(scanned, "delete-resource"));
}

// A CloudTrail IAM call by an IAM user, for the key/profile scenario below.
std::string IamCall(const std::string& time, const std::string& user, const std::string& key,
                    const std::string& name, const json& request, const json& response,
                    int id) {
  json e = {{"eventVersion", "1.08"},
            {"userIdentity",
             {{"type", "IAMUser"},
              {"principalId", "AIDAEXAMPLE" + user},
              {"arn", "arn:aws:iam::111122223333:user/" + user},
              {"accountId", "111122223333"},
              {"accessKeyId", key},
              {"userName", user}}},
            {"eventTime", time},
            {"eventSource", "iam.amazonaws.com"},
            {"eventName", name},
            {"awsRegion", "us-east-1"},
            {"sourceIPAddress", user == "admin" ? "192.0.2.10" : "203.0.113.99"},
            {"userAgent", "aws-cli/2.15.0"},
            {"requestParameters", request},
            {"responseElements", response},
            {"requestID", "req-k" + std::to_string(id)},
            {"eventID", "7a1c0000-0000-4000-9000-" + std::string(12 - std::to_string(id).size(),
                                                                 '0') + std::to_string(id)},
            {"readOnly", false},
            {"eventType", "AwsApiCall"},
            {"managementEvent", true},
            {"recipientAccountId", "111122223333"},
            {"eventCategory", "Management"}};
  return e.dump();
}

std::string NewKey(const std::string& time, const std::string& by, const std::string& by_key,
                   const std::string& user, const std::string& id, int n) {
  return IamCall(time, by, by_key, "CreateAccessKey", {{"userName", user}},
                 {{"accessKey",
                   {{"userName", user}, {"accessKeyId", id}, {"status", "Active"},
                    {"createDate", time}}}},
                 n);
}

// Issue 7 item 1: keys and login profiles the incident deleted or deactivated are reported next
// to the created ones, and the checklist holds only what is still to undo: a key created and
// deleted again, a legitimate key deleted or deactivated, a profile created and deleted are not
// in it; a dormant key activated, a profile created and kept, a password changed are.
TEST(IncidentTest, KeysAndLoginProfilesDeletedOrDeactivatedAreReported) {
  const std::string admin = "AKIAEXAMPLEADMIN0001", intruder = "AKIAEXAMPLEINTRUDER1";
  const json none = nullptr;
  std::vector<std::string> lines;
  int n = 0;
  // October: the owner's setup.
  for (const char* u : {"intruder", "ops", "dev", "old", "noconsole"}) {
    const std::string time = "2026-10-01T10:00:0" + std::to_string(n) + "Z";
    lines.push_back(IamCall(time, "admin", admin, "CreateUser", {{"userName", u}},
                            {{"user", {{"userName", u}}}}, ++n));
  }
  lines.push_back(NewKey("2026-10-01T10:01:00Z", "admin", admin, "intruder", intruder, ++n));
  lines.push_back(NewKey("2026-10-01T10:01:10Z", "admin", admin, "ops", "AKIAEXAMPLEOPS000001", ++n));
  lines.push_back(NewKey("2026-10-01T10:01:20Z", "admin", admin, "ops", "AKIAEXAMPLEOPS000002", ++n));
  lines.push_back(NewKey("2026-10-01T10:01:30Z", "admin", admin, "old", "AKIAEXAMPLEOLD000001", ++n));
  lines.push_back(IamCall("2026-10-01T10:01:40Z", "admin", admin, "UpdateAccessKey",
                          {{"userName", "old"}, {"accessKeyId", "AKIAEXAMPLEOLD000001"},
                           {"status", "Inactive"}},
                          none, ++n));
  for (const char* u : {"ops", "dev"}) {
    const std::string time = "2026-10-01T10:02:0" + std::to_string(n % 10) + "Z";
    lines.push_back(IamCall(time, "admin", admin, "CreateLoginProfile", {{"userName", u}},
                            {{"loginProfile", {{"userName", u}, {"createDate", time}}}}, ++n));
  }
  // November 5: the intruder's key at work.
  const std::vector<std::pair<std::string, std::string>> incident = {
      {"CreateAccessKey", ""},  // AKIAEXAMPLETEMPKEY01 for ops, below
      {"DeleteAccessKey", R"({"userName":"ops","accessKeyId":"AKIAEXAMPLETEMPKEY01"})"},
      {"DeleteAccessKey", R"({"userName":"ops","accessKeyId":"AKIAEXAMPLEOPS000001"})"},
      {"UpdateAccessKey",
       R"({"userName":"ops","accessKeyId":"AKIAEXAMPLEOPS000002","status":"Inactive"})"},
      {"UpdateAccessKey",
       R"({"userName":"old","accessKeyId":"AKIAEXAMPLEOLD000001","status":"Active"})"},
      {"CreateLoginProfile", R"({"userName":"noconsole"})"},
      {"DeleteLoginProfile", R"({"userName":"noconsole"})"},
      {"DeleteLoginProfile", R"({"userName":"dev"})"},
      {"UpdateLoginProfile", R"({"userName":"ops","passwordResetRequired":false})"},
      {"CreateLoginProfile", R"({"userName":"old"})"},
  };
  for (size_t i = 0; i < incident.size(); ++i) {
    const std::string time = "2026-11-05T01:0" + std::to_string(i) + ":00Z";
    if (i == 0) {
      lines.push_back(NewKey(time, "intruder", intruder, "ops", "AKIAEXAMPLETEMPKEY01", ++n));
      continue;
    }
    json response = nullptr;
    if (incident[i].first == "CreateLoginProfile") {
      const std::string user = json::parse(incident[i].second)["userName"];
      response = {{"loginProfile", {{"userName", user}, {"createDate", time}}}};
    }
    lines.push_back(IamCall(time, "intruder", intruder, incident[i].first,
                            json::parse(incident[i].second), response, ++n));
  }

  MemoryStore store;
  Replay(&store, lines, 4);
  IncidentQuery q;
  q.by = ActivityIndex::kAccessKey;
  q.value = intruder;
  q.from_ms = T("2026-11-05T00:00:00Z");
  q.to_ms = T("2026-11-06T00:00:00Z");
  const IncidentReport r = Report(&store, q);
  EXPECT_EQ(r.coverage, "complete");
  EXPECT_EQ(r.calls.size(), incident.size());

  std::map<std::string, const IncidentAccessKey*> keys;
  for (const IncidentAccessKey& k : r.access_keys) keys[k.access_key_id] = &k;
  ASSERT_EQ(keys.size(), 5u);
  const IncidentAccessKey& temp = *keys.at("AKIAEXAMPLETEMPKEY01");
  EXPECT_TRUE(temp.created && temp.deleted);
  EXPECT_EQ(temp.status_now, "deleted");
  EXPECT_EQ(temp.user_name, "ops");
  const IncidentAccessKey& ops1 = *keys.at("AKIAEXAMPLEOPS000001");
  EXPECT_TRUE(ops1.deleted && !ops1.created && !ops1.used);
  EXPECT_EQ(ops1.status_now, "deleted");
  const IncidentAccessKey& ops2 = *keys.at("AKIAEXAMPLEOPS000002");
  EXPECT_TRUE(ops2.deactivated && !ops2.deleted);
  EXPECT_EQ(ops2.status_now, "Inactive");
  const IncidentAccessKey& old = *keys.at("AKIAEXAMPLEOLD000001");
  EXPECT_TRUE(old.activated);
  EXPECT_EQ(old.status_now, "Active");
  EXPECT_TRUE(keys.at(intruder)->used);

  std::map<std::string, std::vector<std::string>> profiles;
  for (const IncidentLoginProfile& lp : r.login_profiles) {
    profiles[lp.user_name].push_back(lp.action + (lp.exists_now ? "+" : "-"));
  }
  EXPECT_EQ(profiles["noconsole"], (std::vector<std::string>{"created-", "deleted-"}));
  EXPECT_EQ(profiles["dev"], (std::vector<std::string>{"deleted-"}));
  EXPECT_EQ(profiles["ops"], (std::vector<std::string>{"updated+"}));
  EXPECT_EQ(profiles["old"], (std::vector<std::string>{"created+"}));

  // The checklist: the dormant key activated and the intruder's own key, the profile it made,
  // the password it set. Nothing for the deleted or deactivated keys, nothing to "revert" on the
  // users whose only changes were these.
  EXPECT_EQ(UndoTargets(r, "deactivate-key"),
            (std::set<std::string>{"AKIAEXAMPLEOLD000001", intruder}));
  EXPECT_EQ(UndoTargets(r, "delete-login-profile"), (std::set<std::string>{"old"}));
  EXPECT_EQ(UndoTargets(r, "reset-password"), (std::set<std::string>{"ops"}));
  EXPECT_TRUE(UndoTargets(r, "revert-change").empty());
  EXPECT_EQ(r.undo.size(), 4u);
  const std::string checklist = IncidentToChecklist(r);
  EXPECT_EQ(std::count(checklist.begin(), checklist.end(), '\n'), 4);
  EXPECT_EQ(checklist.find("TEMPKEY01"), std::string::npos);
  EXPECT_EQ(checklist.find("OPS000001"), std::string::npos);

  // Both formats carry the deletions.
  const std::string md = IncidentToMarkdown(r);
  EXPECT_NE(md.find("| AKIAEXAMPLETEMPKEY01 | ops | created ("), std::string::npos) << md;
  EXPECT_NE(md.find("| AKIAEXAMPLEOPS000001 | ops | deleted ("), std::string::npos) << md;
  EXPECT_NE(md.find("| AKIAEXAMPLEOPS000002 | ops | deactivated ("), std::string::npos) << md;
  EXPECT_NE(md.find("- user dev: deleted at 2026-11-05T01:07:00"), std::string::npos) << md;
  int deleted_keys = 0, deleted_profiles = 0;
  for (const std::string& line : [&] {
         std::vector<std::string> v;
         std::string nd = IncidentToNdjson(r);
         for (size_t at = 0, nl; (nl = nd.find('\n', at)) != std::string::npos; at = nl + 1) {
           v.push_back(nd.substr(at, nl - at));
         }
         return v;
       }()) {
    const json j = json::parse(line);
    if (j["kind"] == "access_key" && j["deleted"] == true) {
      ++deleted_keys;
      EXPECT_FALSE(j["deletedEventId"].get<std::string>().empty());
    }
    if (j["kind"] == "login_profile" && j["action"] == "deleted") ++deleted_profiles;
  }
  EXPECT_EQ(deleted_keys, 2);
  EXPECT_EQ(deleted_profiles, 2);
}

TEST(IncidentTest, TimelineIsInEventTimeOrderAndFilters) {
  MemoryStore store;
  Replay(&store, ScenarioLines(), 8);
  TimelineQuery q;
  q.from_ms = T("2026-11-02T00:00:00Z");
  q.to_ms = T("2026-11-03T00:00:00Z");
  std::vector<TimelineLine> lines;
  ASSERT_TRUE(BuildTimeline(&store, q, &lines).ok());
  ASSERT_FALSE(lines.empty());
  bool change = false, opened = false, resolved = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_GE(lines[i].time_ms, q.from_ms);
    if (i > 0) {
      EXPECT_LE(lines[i - 1].time_ms, lines[i].time_ms);
    }
    change |= lines[i].kind == "change";
    opened |= lines[i].kind == "finding-opened";
    resolved |= lines[i].kind == "finding-resolved";
  }
  EXPECT_TRUE(change && opened && resolved);

  q.resource = "sg-0attack000000001";
  ASSERT_TRUE(BuildTimeline(&store, q, &lines).ok());
  ASSERT_EQ(lines.size(), 3u);  // create, authorize, one finding for the drift
  EXPECT_EQ(lines[0].action, "CreateSecurityGroup");
  EXPECT_EQ(lines[1].action, "AuthorizeSecurityGroupIngress");
  EXPECT_EQ(lines[2].kind, "finding-opened");

  q.resource.clear();
  q.has_category = true;
  q.category = Category::kLogging;
  ASSERT_TRUE(BuildTimeline(&store, q, &lines).ok());
  ASSERT_FALSE(lines.empty());
  for (const TimelineLine& l : lines) {
    EXPECT_NE(l.resource_key.find("CloudTrail"), std::string::npos) << l.resource_key;
  }
}

}  // namespace
}  // namespace driftwatch

namespace driftwatch {
namespace {

// What an attacker creates through an assumed role, with the names CloudTrail records
// (Lambda's versioned API names included), reaches state through the generated resource-call
// table, and the undo checklist names each resource still there with the call that created it:
// a Lambda function, secrets, SSM parameters, a NAT gateway and its address. A secret the
// attacker deleted and a parameter the owner deleted later are not listed.
std::vector<std::string> AssumedRoleCreationLines() {
  const std::string acct = "111122223333";
  struct Call {
    const char* time;
    bool assumed;
    const char* source;
    const char* name;
    const char* req;
    const char* resp;
  };
  const Call calls[] = {
      {"2026-11-02T05:00:00Z", false, "sts", "AssumeRole",
       R"({"roleArn":"arn:aws:iam::111122223333:role/deployer","roleSessionName":"persist"})",
       R"({"credentials":{"accessKeyId":"ASIAEXAMPLEPERSIST01","sessionToken":"t","expiration":"Nov 2, 2026 6:00:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLEDEPLOY001:persist","arn":"arn:aws:sts::111122223333:assumed-role/deployer/persist"}})"},
      {"2026-11-02T05:01:00Z", true, "lambda", "CreateFunction20150331",
       R"({"functionName":"log-shipper","runtime":"python3.12","role":"arn:aws:iam::111122223333:role/deployer","handler":"app.handler"})",
       R"({"functionName":"log-shipper","functionArn":"arn:aws:lambda:us-east-1:111122223333:function:log-shipper","runtime":"python3.12"})"},
      {"2026-11-02T05:02:00Z", true, "lambda", "UpdateFunctionCode20150331v2",
       R"({"functionName":"arn:aws:lambda:us-east-1:111122223333:function:log-shipper"})",
       R"({"functionName":"log-shipper","functionArn":"arn:aws:lambda:us-east-1:111122223333:function:log-shipper"})"},
      {"2026-11-02T05:03:00Z", true, "lambda", "AddPermission20150331v2",
       R"({"functionName":"log-shipper","statementId":"any","action":"lambda:InvokeFunction","principal":"*"})",
       R"({"statement":"{}"})"},
      {"2026-11-02T05:04:00Z", true, "secretsmanager", "CreateSecret", R"({"name":"prod/exfil"})",
       R"({"aRN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/exfil-AbC123","name":"prod/exfil"})"},
      {"2026-11-02T05:05:00Z", true, "secretsmanager", "PutSecretValue",
       R"({"secretId":"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/exfil-AbC123"})",
       R"({"aRN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/exfil-AbC123","versionId":"v2"})"},
      {"2026-11-02T05:06:00Z", true, "secretsmanager", "CreateSecret", R"({"name":"scratch"})",
       R"({"aRN":"arn:aws:secretsmanager:us-east-1:111122223333:secret:scratch-XyZ789","name":"scratch"})"},
      {"2026-11-02T05:07:00Z", true, "secretsmanager", "DeleteSecret",
       R"({"secretId":"scratch","forceDeleteWithoutRecovery":true})", "null"},
      {"2026-11-02T05:08:00Z", true, "ssm", "PutParameter",
       R"({"name":"/app/token","type":"SecureString"})", R"({"version":1,"tier":"Standard"})"},
      {"2026-11-02T05:09:00Z", true, "ssm", "PutParameter", R"({"name":"/app/old","type":"String"})",
       R"({"version":1})"},
      {"2026-11-02T05:10:00Z", true, "ec2", "AllocateAddress", R"({"domain":"vpc"})",
       R"({"publicIp":"203.0.113.10","allocationId":"eipalloc-0attack01","domain":"vpc"})"},
      {"2026-11-02T05:11:00Z", true, "ec2", "CreateNatGateway",
       R"({"CreateNatGatewayRequest":{"SubnetId":"subnet-0a","AllocationId":"eipalloc-0attack01"}})",
       R"({"CreateNatGatewayResponse":{"natGateway":{"natGatewayId":"nat-0attack01","subnetId":"subnet-0a","state":"pending"}}})"},
      {"2026-11-02T05:12:00Z", true, "iam", "TagInstanceProfile",
       R"({"instanceProfileName":"web","tags":[{"key":"owner","value":"x"}]})", "null"},
      // The owner's cleanup, later, by another principal.
      {"2026-11-02T09:00:00Z", false, "ssm", "DeleteParameter", R"({"name":"/app/old"})", "null"},
  };
  std::vector<std::string> lines;
  int i = 0;
  for (const Call& c : calls) {
    ++i;
    const bool owner = std::string(c.time) >= "2026-11-02T09";
    json identity =
        c.assumed
            ? json{{"type", "AssumedRole"},
                   {"principalId", "AROAEXAMPLEDEPLOY001:persist"},
                   {"arn", "arn:aws:sts::" + acct + ":assumed-role/deployer/persist"},
                   {"accountId", acct},
                   {"accessKeyId", "ASIAEXAMPLEPERSIST01"},
                   {"sessionContext",
                    {{"sessionIssuer", {{"type", "Role"},
                                        {"arn", "arn:aws:iam::" + acct + ":role/deployer"},
                                        {"userName", "deployer"}}}}}}
            : json{{"type", "IAMUser"},
                   {"arn", "arn:aws:iam::" + acct + (owner ? ":user/admin" : ":user/ci-build")},
                   {"accountId", acct},
                   {"accessKeyId", owner ? "AKIAEXAMPLEADMIN0001" : "AKIAEXAMPLELEAKED009"},
                   {"userName", owner ? "admin" : "ci-build"}};
    json r = {{"eventVersion", "1.08"},
              {"userIdentity", identity},
              {"eventTime", c.time},
              {"eventSource", std::string(c.source) + ".amazonaws.com"},
              {"eventName", c.name},
              {"awsRegion", "us-east-1"},
              {"sourceIPAddress", owner ? "198.51.100.2" : "203.0.113.66"},
              {"userAgent", "aws-cli/2.15.0"},
              {"requestParameters", json::parse(c.req)},
              {"responseElements", json::parse(c.resp)},
              {"eventID", "persist-" + std::to_string(i)},
              {"readOnly", std::string(c.name) == "AssumeRole"},
              {"eventType", "AwsApiCall"},
              {"recipientAccountId", acct}};
    lines.push_back(r.dump());
  }
  return lines;
}

TEST(IncidentTest, ChecklistNamesFunctionsSecretsAndParametersCreatedThroughAnAssumedRole) {
  MemoryStore store;
  Replay(&store, AssumedRoleCreationLines(), 4);
  IncidentQuery q;
  q.by = ActivityIndex::kAccessKey;
  q.value = "AKIAEXAMPLELEAKED009";
  q.from_ms = T("2026-11-02T00:00:00Z");
  q.to_ms = T("2026-11-03T00:00:00Z");
  const IncidentReport r = Report(&store, q);
  ASSERT_EQ(r.principals.size(), 2u);  // the leaked key, then the role session it assumed
  EXPECT_EQ(r.principals[1].value, "ASIAEXAMPLEPERSIST01");

  std::map<std::string, std::string> created;  // target -> detail
  for (const IncidentUndo& u : r.undo) {
    if (u.action == "delete-resource") created[u.target] = u.detail;
  }
  const std::map<std::string, std::string> want = {
      {"111122223333|us-east-1|AWS::Lambda::Function|log-shipper",
       "created by CreateFunction20150331"},
      {"111122223333|us-east-1|AWS::SecretsManager::Secret|prod/exfil", "created by CreateSecret"},
      {"111122223333|us-east-1|AWS::SSM::Parameter|app/token", "created by PutParameter"},
      {"111122223333|us-east-1|AWS::EC2::NatGateway|nat-0attack01",
       "created by CreateNatGateway"},
      {"111122223333|us-east-1|AWS::EC2::EIP|eipalloc-0attack01", "created by AllocateAddress"},
  };
  EXPECT_EQ(created, want);

  // The function's later changes are the incident's too; the creating call is named by id.
  for (const IncidentResource& res : r.resources) {
    if (res.resource_key == "111122223333|us-east-1|AWS::Lambda::Function|log-shipper") {
      EXPECT_EQ(res.created_by_event_id, "persist-2");
      EXPECT_EQ(res.actions, (std::vector<std::string>{"CreateFunction20150331",
                                                       "UpdateFunctionCode20150331v2",
                                                       "AddPermission20150331v2"}));
    }
  }
  // Gone: the secret the attacker deleted, the parameter the owner deleted.
  const std::string checklist = IncidentToChecklist(r);
  EXPECT_EQ(checklist.find("scratch"), std::string::npos);
  EXPECT_EQ(checklist.find("app/old"), std::string::npos);
  EXPECT_NE(checklist.find("- [ ] delete 111122223333|us-east-1|AWS::Lambda::Function|log-shipper "
                           "(created by CreateFunction20150331)"),
            std::string::npos);
  // An instance profile the incident only tagged is to be reverted, not deleted.
  EXPECT_EQ(UndoTargets(r, "revert-change"),
            (std::set<std::string>{"111122223333|global|AWS::IAM::InstanceProfile|web"}));
  // The NDJSON undo line carries the creating call's event id.
  EXPECT_NE(IncidentToNdjson(r).find(R"("eventId":"persist-2")"), std::string::npos);
}

}  // namespace
}  // namespace driftwatch
