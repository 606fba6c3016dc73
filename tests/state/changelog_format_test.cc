// Changelog records: every kind of write, turned into records and read back, restores a store to
// what committing the writes directly gives; each record names what routes it.

#include "state/changelog_format.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "state/memory_store.h"
#include "vocab/finding.h"

namespace driftwatch {
namespace {

// Everything a store answers, as text, for comparing two stores.
std::string Dump(MemoryStore& store, const std::vector<std::string>& positions) {
  std::string out;
  EXPECT_TRUE(store
                  .ScanResources([&](std::string_view k, std::string_view v) {
                    out.append("resource ").append(k).append(" ").append(v).append("\n");
                    return true;
                  })
                  .ok());
  EXPECT_TRUE(store
                  .ScanHistory("",
                               [&](const HistoryEntry& e) {
                                 out += "history " + e.resource_key + " " +
                                        std::to_string(e.time_ms) + " " + e.event_id + " " +
                                        e.action + " " + e.change + " " + e.document_after + " " +
                                        e.replay + (e.deleted ? " deleted" : "") +
                                        (e.applied ? "" : " not-applied") + "\n";
                                 return true;
                               })
                  .ok());
  EXPECT_TRUE(store
                  .ScanFindings([&](const Finding& f) {
                    out += "finding " + FindingToStoredJson(f) + "\n";
                    return true;
                  })
                  .ok());
  for (const std::string& p : positions) {
    int64_t next = 0;
    Status s = store.GetPosition(p, &next);
    EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
    out += "position " + p + " " + (s.ok() ? std::to_string(next) : "none") + "\n";
  }
  for (const char* seen : {"e-1", "e-2", "e-3", "cfg-1"}) {
    bool is_seen = false;
    EXPECT_TRUE(store.HasSeenEvent(seen, &is_seen).ok());
    out += std::string("seen ") + seen + " " + (is_seen ? "yes" : "no") + "\n";
  }
  for (auto [index, value] : {std::pair{ActivityIndex::kPrincipal, "arn:aws:iam::1:user/dev"},
                              std::pair{ActivityIndex::kAccessKey, "AKIA1"},
                              std::pair{ActivityIndex::kSourceIp, "198.51.100.7"},
                              std::pair{ActivityIndex::kSession, "s1"}}) {
    EXPECT_TRUE(store
                    .ScanActivity(index, value, 0, INT64_MAX,
                                  [&](const ActivityRecord& r) {
                                    out += "activity " + std::string(1, static_cast<char>(index)) +
                                           " " + r.event_id + " " + r.event_name + " " +
                                           r.detail + " " + std::to_string(r.resource_keys.size()) +
                                           "\n";
                                    return true;
                                  })
                    .ok());
  }
  EXPECT_TRUE(store
                  .ScanActivityRuns([&](const ActivityRun& r) {
                    out += "run " + r.run_id + " " + std::to_string(r.from_ms) + " " +
                           std::to_string(r.to_ms) + (r.indexed ? " indexed" : "") + "\n";
                    return true;
                  })
                  .ok());
  return out;
}

std::vector<WriteSet> Writes() {
  const std::string sg = MakeResourceKey("1", "us-east-1", "AWS::EC2::SecurityGroup", "sg-1");
  const std::string user = MakeResourceKey("2", "global", "AWS::IAM::User", "dev");
  WriteSet first;
  first.put_resources = {{sg, "{\"a\":1}"}, {user, "{\"u\":true}"}};
  HistoryEntry h;
  h.resource_key = sg;
  h.time_ms = 1700000000000;
  h.event_id = "e-1";
  h.action = "AuthorizeSecurityGroupIngress";
  h.actor.arn = "arn:aws:iam::1:user/dev";
  h.change = "{\"added\":1}";
  h.document_after = "{\"a\":1}";
  h.replay = "{\"call\":1}";
  first.history.push_back(h);
  h.resource_key = user;
  h.event_id = "e-2";
  h.time_ms = 1600000000000;  // older than the watermark: kept, not applied
  h.applied = false;
  h.document_after.clear();
  first.history.push_back(h);
  first.seen_event_ids = {{"e-1", 1700000000000}, {"e-2", 1600000000000}};
  Finding f;
  f.rule_id = "network-sg-open-to-world";
  f.title = "open";
  f.resource = {"AWS::EC2::SecurityGroup", "sg-1", "", "1", "us-east-1"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  f.event_ids = {"e-1"};
  f.event_times_ms = {1700000000000};
  f.first_seen_ms = f.last_seen_ms = 1700000000000;
  f.evidence = "{\"cidr\":\"0.0.0.0/0\"}";
  first.findings.push_back(f);
  ActivityRecord a;
  a.time_ms = 1700000000000;
  a.event_id = "e-1";
  a.event_name = "AuthorizeSecurityGroupIngress";
  a.account = "1";
  a.actor.arn = "arn:aws:iam::1:user/dev";
  a.actor.access_key_id = "AKIA1";
  a.actor.source_ip = "198.51.100.7";
  a.session_name = "s1";
  a.resource_keys = {sg};
  a.detail = "{\"groupId\":\"sg-1\"}";
  first.activity.push_back(a);
  a.event_id = "e-3";
  a.event_name = "DescribeInstances";
  a.read_only = true;
  a.resource_keys.clear();
  first.activity.push_back(a);
  first.activity_runs.push_back({"run-1", true, 1600000000000, 1700000000000});
  first.positions = {{"kafka:ct/3", 17}, {std::string(kWatermarkPosition), 1700000000000}};

  // Later: the security group deleted, the finding resolved, a Config item seen.
  WriteSet second;
  second.delete_resources = {sg};
  h = HistoryEntry();
  h.resource_key = sg;
  h.time_ms = 1700000100000;
  h.event_id = "e-4";
  h.action = "DeleteSecurityGroup";
  h.deleted = true;
  second.history.push_back(h);
  f.status = FindingStatus::kResolved;
  f.resolution = Resolution::kState;
  f.resolution_detail = R"({"event_id":"e-4"})";
  f.resolved_at_ms = 1700000100000;
  second.findings.push_back(f);
  second.seen_event_ids = {{"cfg-1", 1700000100000}};
  second.activity_runs.push_back({"run-1", true, 1600000000000, 1700000100000});
  second.positions = {{"kafka:ct/3", 18}, {"route:1", 3}};
  return {first, second};
}

TEST(ChangelogFormatTest, RecordsRestoreWhatTheWritesMade) {
  const std::vector<std::string> positions = {"kafka:ct/3", std::string(kWatermarkPosition),
                                              "route:1"};
  MemoryStore direct, restored;
  for (const WriteSet& w : Writes()) {
    ASSERT_TRUE(direct.Commit(w).ok());
    std::vector<changelog_format::Record> records;
    changelog_format::RecordsOf(w, &records);
    // What decides each record's partition is named, and positions come last.
    bool seen_position = false;
    for (const auto& r : records) {
      const auto kind = static_cast<changelog_format::Kind>(r.key.front());
      if (kind == changelog_format::Kind::kPosition) {
        seen_position = true;
        EXPECT_FALSE(r.source.empty()) << r.key;
        continue;
      }
      EXPECT_FALSE(seen_position) << "a state record after a position: " << r.key;
      if (kind == changelog_format::Kind::kSeen) {
        EXPECT_EQ(r.event_id, r.key.substr(1));
      } else if (kind != changelog_format::Kind::kActivityRun) {
        EXPECT_FALSE(r.account.empty()) << r.key;
      }
    }
    WriteSet back;
    for (const auto& r : records) {
      ASSERT_TRUE(changelog_format::AddRecord(r.key, r.value, r.tombstone, &back).ok()) << r.key;
    }
    ASSERT_TRUE(restored.Commit(back).ok());
  }
  const std::string want = Dump(direct, positions);
  EXPECT_NE(want.find("history 1|us-east-1|AWS::EC2::SecurityGroup|sg-1 1700000100000 e-4"),
            std::string::npos)
      << want;
  EXPECT_EQ(want.find("resource 1|"), std::string::npos) << "the deleted group is gone";
  EXPECT_EQ(Dump(restored, positions), want);
}

TEST(ChangelogFormatTest, UnreadableRecordsAreErrorsNamingTheirKind) {
  WriteSet w;
  EXPECT_FALSE(changelog_format::AddRecord("", "", false, &w).ok());
  Status s = changelog_format::AddRecord("hnot-a-history-key", "x", false, &w);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("history"), std::string::npos) << s.message();
  s = changelog_format::AddRecord("fid", "{not json", false, &w);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("finding"), std::string::npos) << s.message();
  s = changelog_format::AddRecord("zwhat", "1", false, &w);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown kind"), std::string::npos) << s.message();
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(changelog_format::AccountOfResourceKey("123|global|AWS::IAM::User|x"), "123");
}

}  // namespace
}  // namespace driftwatch
