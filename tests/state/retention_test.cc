// Retention (state/retention.h) on both stores: a state filled across more than the horizons in
// event time keeps recent history and calls, each resource's state as of the horizon, current
// documents, findings and seen ids, drops the rest, records the horizons, and 0 keeps everything.

#include "state/retention.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "state/changelog_format.h"
#include "state/forwarding_store.h"
#include "state/memory_store.h"
#include "state/rocksdb_store.h"
#include "state/state_queries.h"

namespace driftwatch {
namespace {

constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kT0 = 1704067200000;  // 2024-01-01T00:00:00Z
// Noon of day d after kT0.
int64_t Day(int d) { return kT0 + d * kDay + kDay / 2; }

const std::string kA = MakeResourceKey("1", "us-east-1", "AWS::EC2::SecurityGroup", "sg-a");
const std::string kB = MakeResourceKey("1", "us-east-1", "AWS::EC2::SecurityGroup", "sg-b");
const std::string kC = MakeResourceKey("2", "global", "AWS::IAM::User", "carol");
const std::string kD = MakeResourceKey("2", "us-east-1", "AWS::S3::Bucket", "bucket-d");
const std::string kPrincipal = "arn:aws:iam::1:user/dev";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dw-ret-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    EXPECT_NE(mkdtemp(buf.data()), nullptr);
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

HistoryEntry Entry(const std::string& key, int day, const std::string& id, bool deleted = false,
                   bool applied = true) {
  HistoryEntry h;
  h.resource_key = key;
  h.time_ms = Day(day);
  h.event_id = id;
  h.action = deleted ? "Delete" : "Change";
  h.actor.arn = kPrincipal;
  h.change = "{}";
  h.applied = applied;
  h.deleted = deleted;
  if (applied && !deleted) h.document_after = "{\"id\":\"" + id + "\"}";
  return h;
}

ActivityRecord Call(int day, const std::string& id) {
  ActivityRecord a;
  a.time_ms = Day(day);
  a.event_id = id;
  a.event_source = "ec2.amazonaws.com";
  a.event_name = "DescribeInstances";
  a.account = "1";
  a.actor.arn = kPrincipal;
  a.actor.access_key_id = "AKIA1";
  a.actor.source_ip = "198.51.100.7";
  a.session_name = "s1";
  a.read_only = true;
  return a;
}

Finding MakeFinding(const std::string& id, int day, bool open) {
  Finding f;
  f.rule_id = "network-sg-open-to-world";
  f.title = "open";
  f.resource = {"AWS::EC2::SecurityGroup", id, "", "1", "us-east-1"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  f.event_ids = {"e-" + id};
  f.first_seen_ms = f.last_seen_ms = Day(day);
  if (!open) {
    f.status = FindingStatus::kResolved;
    f.resolution = Resolution::kState;
    f.resolved_at_ms = Day(day + 1);
  }
  return f;
}

// 600 days of event time. History horizon (400 days): midnight of day 200; activity (90 days):
// midnight of day 510.
std::vector<WriteSet> Fill() {
  WriteSet w;
  // A: changed on days 0 and 10, a late call on day 5 kept but not applied, then 500 and 590.
  for (const HistoryEntry& h : {Entry(kA, 0, "a0"), Entry(kA, 5, "a5", false, false),
                                Entry(kA, 10, "a10"), Entry(kA, 500, "a500"),
                                Entry(kA, 590, "a590")}) {
    w.history.push_back(h);
  }
  // B: created on day 5, deleted on day 20.
  w.history.push_back(Entry(kB, 5, "b5"));
  w.history.push_back(Entry(kB, 20, "b20", true));
  // C: created on day 1, never changed since.
  w.history.push_back(Entry(kC, 1, "c1"));
  // D: created on day 100, changed on 150 and 250.
  w.history.push_back(Entry(kD, 100, "d100"));
  w.history.push_back(Entry(kD, 150, "d150"));
  w.history.push_back(Entry(kD, 250, "d250"));
  w.put_resources = {{kA, "{\"id\":\"a590\"}"}, {kC, "{\"id\":\"c1\"}"}, {kD, "{\"id\":\"d250\"}"}};
  w.findings = {MakeFinding("sg-a", 0, true), MakeFinding("sg-b", 2, false)};
  for (int day : {0, 100, 505, 515, 595}) w.activity.push_back(Call(day, "call-" + std::to_string(day)));
  w.activity_runs.push_back({"run-1", true, Day(0), Day(600)});
  w.seen_event_ids = {{"a590", Day(590)}, {"recent", Day(599)}};
  w.positions = {{"kafka:ct/2", 42}, {std::string(kWatermarkPosition), Day(600)}};
  return {w};
}

std::vector<std::string> HistoryIds(StateStore* store, const std::string& key) {
  std::vector<std::string> ids;
  EXPECT_TRUE(store
                  ->ScanHistory(key,
                                [&](const HistoryEntry& e) {
                                  ids.push_back(e.event_id);
                                  return true;
                                })
                  .ok());
  return ids;
}

std::vector<std::string> CallIds(StateStore* store, ActivityIndex index, const std::string& value) {
  std::vector<std::string> ids;
  EXPECT_TRUE(store
                  ->ScanActivity(index, value, INT64_MIN, INT64_MAX,
                                 [&](const ActivityRecord& r) {
                                   ids.push_back(r.event_id);
                                   return true;
                                 })
                  .ok());
  return ids;
}

std::string StateAt(StateStore* store, int64_t at_ms) {
  std::string out;
  EXPECT_TRUE(ScanResourcesAt(store, at_ms, [&](std::string_view k, std::string_view d) {
                out.append(k).append("=").append(d).append("\n");
                return true;
              }).ok());
  return out;
}

int64_t Position(StateStore* store, std::string_view key) {
  int64_t v = 0;
  Status s = store->GetPosition(key, &v);
  EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
  return s.ok() ? v : INT64_MIN;
}

// Every WriteSet committed through it, for replaying them as changelog records.
class RecordingStore : public ForwardingStateStore {
 public:
  explicit RecordingStore(StateStore* inner) : ForwardingStateStore(inner) {}
  Status Commit(const WriteSet& w) override {
    committed.push_back(w);
    return ForwardingStateStore::Commit(w);
  }
  std::vector<WriteSet> committed;
};

// MemoryStore, or RocksDB in a temp directory.
class RetentionTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<StateStore> Open() {
    if (!GetParam()) return std::make_unique<MemoryStore>();
    std::unique_ptr<RocksDbStore> store;
    EXPECT_TRUE(RocksDbStore::Open(dir_.sub("s" + std::to_string(++opened_)), {}, &store).ok());
    return store;
  }
  TempDir dir_;
  int opened_ = 0;
};

TEST(RetentionHorizonTest, MidnightUtcOfTheWatermarksDayMinusTheDays) {
  EXPECT_EQ(RetentionHorizon(Day(600), 400), kT0 + 200 * kDay);
  EXPECT_EQ(RetentionHorizon(kT0 + 600 * kDay, 90), kT0 + 510 * kDay);
  EXPECT_EQ(RetentionHorizon(Day(600), 0), INT64_MIN);
  EXPECT_EQ(RetentionHorizon(INT64_MIN, 90), INT64_MIN);
  EXPECT_EQ(RetentionHorizon(-1, 1), -2 * kDay);  // before 1970 still floors to its day
}

TEST_P(RetentionTest, KeepsRecentHistoryAndCallsAndTheStateAtTheHorizonDropsTheRest) {
  auto store = Open();
  for (const WriteSet& w : Fill()) ASSERT_TRUE(store->Commit(w).ok());
  // What `state --at` answers from the horizon on must not change.
  std::vector<int64_t> times = {kT0 + 200 * kDay, Day(200), Day(300), Day(505), Day(595)};
  std::vector<std::string> before;
  for (int64_t t : times) before.push_back(StateAt(store.get(), t));

  RetentionOptions options;  // defaults: history 400 days, activity 90
  RetentionResult r;
  ASSERT_TRUE(ApplyRetention(store.get(), options, &r).ok());
  EXPECT_EQ(r.history_horizon_ms, kT0 + 200 * kDay);
  EXPECT_EQ(r.activity_horizon_ms, kT0 + 510 * kDay);
  EXPECT_EQ(r.history_dropped, 5);   // a0, a5 (not applied), b5, b20, d100
  EXPECT_EQ(r.activity_dropped, 3);  // days 0, 100, 505

  // Recent history kept whole; of the old, each resource's state at the horizon.
  EXPECT_EQ(HistoryIds(store.get(), kA), (std::vector<std::string>{"a10", "a500", "a590"}));
  EXPECT_TRUE(HistoryIds(store.get(), kB).empty()) << "deleted before the horizon";
  EXPECT_EQ(HistoryIds(store.get(), kC), (std::vector<std::string>{"c1"}));
  EXPECT_EQ(HistoryIds(store.get(), kD), (std::vector<std::string>{"d150", "d250"}));
  for (size_t i = 0; i < times.size(); ++i) {
    EXPECT_EQ(StateAt(store.get(), times[i]), before[i]) << "at " << times[i];
  }

  // Recent calls under every index value; old ones and their postings gone.
  const std::vector<std::string> recent = {"call-515", "call-595"};
  EXPECT_EQ(CallIds(store.get(), ActivityIndex::kPrincipal, kPrincipal), recent);
  EXPECT_EQ(CallIds(store.get(), ActivityIndex::kAccessKey, "AKIA1"), recent);
  EXPECT_EQ(CallIds(store.get(), ActivityIndex::kSourceIp, "198.51.100.7"), recent);
  EXPECT_EQ(CallIds(store.get(), ActivityIndex::kSession, "s1"), recent);
  int runs = 0;
  ASSERT_TRUE(store->ScanActivityRuns([&](const ActivityRun&) { return ++runs, true; }).ok());
  EXPECT_EQ(runs, 1);

  // Current documents, findings (open or not), seen ids and positions: all kept.
  std::vector<std::string> resources;
  ASSERT_TRUE(store->ScanResources([&](std::string_view k, std::string_view) {
    resources.emplace_back(k);
    return true;
  }).ok());
  EXPECT_EQ(resources.size(), 3u);
  Finding f;
  ASSERT_TRUE(store->GetFinding(MakeFinding("sg-a", 0, true).finding_id, &f).ok());
  EXPECT_EQ(f.status, FindingStatus::kOpen);
  EXPECT_TRUE(store->GetFinding(MakeFinding("sg-b", 2, false).finding_id, &f).ok());
  bool seen = false;
  ASSERT_TRUE(store->HasSeenEvent("recent", &seen).ok());
  EXPECT_TRUE(seen);
  EXPECT_EQ(Position(store.get(), "kafka:ct/2"), 42);

  // The horizons are stored, and a second sweep to them drops nothing.
  EXPECT_EQ(Position(store.get(), kHistoryHorizonPosition), kT0 + 200 * kDay);
  EXPECT_EQ(Position(store.get(), kActivityHorizonPosition), kT0 + 510 * kDay);
  EXPECT_FALSE(RetentionDue(store.get(), options, r));
  RetentionResult again;
  ASSERT_TRUE(ApplyRetention(store.get(), options, &again).ok());
  EXPECT_EQ(again.history_dropped + again.activity_dropped, 0);
  EXPECT_EQ(again.commits, 0);

  if (GetParam()) {
    // Compacted, nothing dropped comes back.
    ASSERT_TRUE(static_cast<RocksDbStore*>(store.get())->CompactAll().ok());
    EXPECT_EQ(CallIds(store.get(), ActivityIndex::kPrincipal, kPrincipal), recent);
    EXPECT_EQ(HistoryIds(store.get(), kA), (std::vector<std::string>{"a10", "a500", "a590"}));
    // No posting list of an hour below the activity horizon is left: read the family raw.
    store.reset();
    const std::string path = dir_.sub("s" + std::to_string(opened_));
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, cfs, &handles, &raw).ok());
    int lists = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] != "activity") continue;
      std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions(), handles[i]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        const std::string key = it->key().ToString();
        if (std::string("PKIS").find(key.front()) == std::string::npos || key.size() < 17) continue;
        uint64_t bits = 0;
        for (size_t b = key.size() - 16; b < key.size() - 8; ++b) {
          bits = (bits << 8) | static_cast<uint8_t>(key[b]);
        }
        EXPECT_GE(static_cast<int64_t>(bits ^ 0x8000000000000000ull), kT0 + 510 * kDay);
        ++lists;
      }
    }
    EXPECT_EQ(lists, 8) << "the recent calls' lists: four values, two hours";
    for (rocksdb::ColumnFamilyHandle* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
}

TEST_P(RetentionTest, ZeroKeepsEverything) {
  auto store = Open();
  for (const WriteSet& w : Fill()) ASSERT_TRUE(store->Commit(w).ok());
  RetentionOptions options;
  options.history_days = 0;
  options.activity_days = 0;
  EXPECT_FALSE(RetentionDue(store.get(), options, RetentionResult()));
  RetentionResult r;
  ASSERT_TRUE(ApplyRetention(store.get(), options, &r).ok());
  EXPECT_EQ(r.history_dropped + r.activity_dropped, 0);
  EXPECT_EQ(r.commits, 0);
  EXPECT_EQ(HistoryIds(store.get(), kA).size(), 5u);
  EXPECT_EQ(HistoryIds(store.get(), kB).size(), 2u);
  EXPECT_EQ(CallIds(store.get(), ActivityIndex::kPrincipal, kPrincipal).size(), 5u);
  EXPECT_EQ(Position(store.get(), kHistoryHorizonPosition), INT64_MIN);
  EXPECT_EQ(Position(store.get(), kActivityHorizonPosition), INT64_MIN);

  // One family on, the other kept whole.
  options.activity_days = 90;
  ASSERT_TRUE(ApplyRetention(store.get(), options, &r).ok());
  EXPECT_EQ(r.history_dropped, 0);
  EXPECT_EQ(r.activity_dropped, 3);
  EXPECT_EQ(HistoryIds(store.get(), kA).size(), 5u);
  EXPECT_EQ(Position(store.get(), kHistoryHorizonPosition), INT64_MIN);
}

TEST_P(RetentionTest, SmallCommitsAndOwnedAccountsDropTheSame) {
  auto whole = Open();
  auto chunked = Open();
  for (const WriteSet& w : Fill()) {
    ASSERT_TRUE(whole->Commit(w).ok());
    ASSERT_TRUE(chunked->Commit(w).ok());
  }
  RetentionOptions options;
  RetentionResult r;
  ASSERT_TRUE(ApplyRetention(whole.get(), options, &r).ok());
  options.max_drops_per_commit = 1;
  // Account 2 first (another member owns account 1), then everything.
  options.owns_account = [](std::string_view account) { return account == "2"; };
  RetentionResult part;
  ASSERT_TRUE(ApplyRetention(chunked.get(), options, &part).ok());
  EXPECT_EQ(part.history_dropped, 1);  // d100
  EXPECT_EQ(part.activity_dropped, 0);
  EXPECT_EQ(HistoryIds(chunked.get(), kA).size(), 5u) << "account 1 is not this member's";
  options.owns_account = nullptr;
  ASSERT_TRUE(ApplyRetention(chunked.get(), options, &part).ok());
  EXPECT_EQ(part.history_dropped, 4);
  EXPECT_EQ(part.activity_dropped, 3);
  EXPECT_EQ(part.commits, 5);  // history: A's two, B's two; calls: one each
  for (const std::string& key : {kA, kB, kC, kD}) {
    EXPECT_EQ(HistoryIds(chunked.get(), key), HistoryIds(whole.get(), key)) << key;
  }
  EXPECT_EQ(CallIds(chunked.get(), ActivityIndex::kSession, "s1"),
            CallIds(whole.get(), ActivityIndex::kSession, "s1"));
}

// The drops as changelog records: tombstones of the dropped keys, which restore a store to the
// same state, horizons included.
TEST_P(RetentionTest, DropsAreTombstonesThatRestoreTheSameState) {
  auto direct = Open();
  RecordingStore recording(direct.get());
  for (const WriteSet& w : Fill()) ASSERT_TRUE(recording.Commit(w).ok());
  RetentionResult r;
  ASSERT_TRUE(ApplyRetention(&recording, RetentionOptions(), &r).ok());

  auto restored = Open();
  size_t tombstones = 0;
  for (const WriteSet& w : recording.committed) {
    std::vector<changelog_format::Record> records;
    changelog_format::RecordsOf(w, &records);
    WriteSet back;
    for (const auto& rec : records) {
      if (rec.tombstone) {
        ++tombstones;
        EXPECT_FALSE(rec.account.empty()) << "a tombstone names its account: " << rec.key;
      }
      ASSERT_TRUE(changelog_format::AddRecord(rec.key, rec.value, rec.tombstone, &back).ok());
    }
    ASSERT_TRUE(restored->Commit(back).ok());
  }
  EXPECT_EQ(tombstones, 8u);  // 5 history entries, 3 calls
  for (const std::string& key : {kA, kB, kC, kD}) {
    EXPECT_EQ(HistoryIds(restored.get(), key), HistoryIds(direct.get(), key)) << key;
  }
  EXPECT_EQ(CallIds(restored.get(), ActivityIndex::kAccessKey, "AKIA1"),
            (std::vector<std::string>{"call-515", "call-595"}));
  EXPECT_EQ(Position(restored.get(), kHistoryHorizonPosition), kT0 + 200 * kDay);
  EXPECT_EQ(Position(restored.get(), kActivityHorizonPosition), kT0 + 510 * kDay);
}

INSTANTIATE_TEST_SUITE_P(BothStores, RetentionTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("RocksDb") : std::string("Memory");
                         });

}  // namespace
}  // namespace driftwatch
