// Both StateStore implementations answer alike: the same tests run against RocksDB (real, in a
// temp dir) and the in-memory twin. RocksDB-only behaviour (reopen, format version, foreign
// directories, read-only) follows.

#include "state/state_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "state/activity_format.h"
#include "state/memory_store.h"
#include "state/rocksdb_store.h"
#include "state/state_format.h"
#include "state/state_queries.h"

namespace driftwatch {
namespace {

constexpr int64_t kDay = 24LL * 3600 * 1000;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dw-state-XXXXXX").string();
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

HistoryEntry Entry(const std::string& key, int64_t t, const std::string& id, std::string doc,
                   bool deleted = false, bool applied = true) {
  HistoryEntry h;
  h.resource_key = key;
  h.time_ms = t;
  h.event_id = id;
  h.kind = EventKind::kApiCall;
  h.action = "Act";
  h.actor.arn = "arn:aws:iam::1:user/alice";
  h.actor.type = "IAMUser";
  h.actor.access_key_id = "AKIA1";
  h.actor.source_ip = "198.51.100.7";
  h.change = "{\"x\":1}";
  h.applied = applied;
  h.deleted = deleted;
  h.document_after = std::move(doc);
  return h;
}

Finding SampleFinding() {
  Finding f;
  f.rule_id = "network.sg_open_ssh";
  f.title = "SSH open to the world";
  f.category = Category::kNetwork;
  f.severity = Severity::kHigh;
  f.resource = {"AWS::EC2::SecurityGroup", "sg-1", "", "1", "us-east-1"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  f.event_ids = {"e-1"};
  f.first_seen_ms = 1700000000000;
  f.last_seen_ms = 1700000000000;
  f.evidence = "{\"cidr\":\"0.0.0.0/0\"}";
  return f;
}

class StoreTest : public ::testing::TestWithParam<bool> {  // true: RocksDB
 protected:
  void SetUp() override {
    if (GetParam()) {
      std::unique_ptr<RocksDbStore> s;
      ASSERT_TRUE(RocksDbStore::Open(dir_.sub("state"), {}, &s).ok());
      store_ = std::move(s);
    } else {
      store_ = std::make_unique<MemoryStore>();
    }
  }
  std::vector<HistoryEntry> History(const std::string& key) {
    std::vector<HistoryEntry> out;
    EXPECT_TRUE(store_
                    ->ScanHistory(key,
                                  [&](const HistoryEntry& h) {
                                    out.push_back(h);
                                    return true;
                                  })
                    .ok());
    return out;
  }
  bool Seen(const std::string& id) {
    bool seen = false;
    EXPECT_TRUE(store_->HasSeenEvent(id, &seen).ok());
    return seen;
  }

  TempDir dir_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(StoreTest, CommitRoundTripsEveryFamily) {
  WriteSet w;
  w.put_resources = {{"1|us-east-1|AWS::EC2::SecurityGroup|sg-1", "{\"a\":1}"},
                     {"1|global|AWS::IAM::User|bob", "{\"b\":2}"},
                     {std::string("\0tomb|1|us-east-1|T|x", 20), "{\"deletedAtMs\":5}"}};
  w.history = {Entry("1|us-east-1|AWS::EC2::SecurityGroup|sg-1", 2000, "e-2", "{\"a\":1}"),
               Entry("1|us-east-1|AWS::EC2::SecurityGroup|sg-1", -5, "e-0", "{\"a\":0}"),
               Entry("1|us-east-1|AWS::EC2::SecurityGroup|sg-10", 1000, "e-9", "{}")};
  w.seen_event_ids = {{"e-2", 2000}};
  w.findings = {SampleFinding()};
  w.positions = {{"file:/x", 42}};
  ASSERT_TRUE(store_->Commit(w).ok());

  std::string doc;
  ASSERT_TRUE(store_->GetResource("1|global|AWS::IAM::User|bob", &doc).ok());
  EXPECT_EQ(doc, "{\"b\":2}");
  Status missing = store_->GetResource("1|global|AWS::IAM::User|nobody", &doc);
  EXPECT_TRUE(missing.IsNotFound()) << missing.ToString();
  EXPECT_EQ(missing.message(), "");  // a miss carries no message: nothing allocated
  EXPECT_EQ(doc, "{\"b\":2}");       // and leaves the output alone

  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->ScanResources([&](std::string_view k, std::string_view) {
                    keys.emplace_back(k);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"1|global|AWS::IAM::User|bob",
                                            "1|us-east-1|AWS::EC2::SecurityGroup|sg-1"}));

  // One resource's history: in time order (negative times too), not its prefix-sibling sg-10.
  auto h = History("1|us-east-1|AWS::EC2::SecurityGroup|sg-1");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].event_id, "e-0");
  EXPECT_EQ(h[0].time_ms, -5);
  EXPECT_EQ(h[1].event_id, "e-2");
  EXPECT_EQ(h[1].actor.arn, "arn:aws:iam::1:user/alice");
  EXPECT_EQ(h[1].actor.source_ip, "198.51.100.7");
  EXPECT_EQ(h[1].actor.access_key_id, "AKIA1");
  EXPECT_EQ(h[1].change, "{\"x\":1}");
  EXPECT_EQ(h[1].document_after, "{\"a\":1}");
  EXPECT_TRUE(h[1].applied);
  EXPECT_EQ(History("").size(), 3u);

  EXPECT_TRUE(Seen("e-2"));
  EXPECT_FALSE(Seen("e-3"));
  Finding f;
  ASSERT_TRUE(store_->GetFinding(SampleFinding().finding_id, &f).ok());
  EXPECT_EQ(f.rule_id, "network.sg_open_ssh");
  EXPECT_EQ(f.evidence, "{\"cidr\":\"0.0.0.0/0\"}");
  int64_t offset = 0;
  ASSERT_TRUE(store_->GetPosition("file:/x", &offset).ok());
  EXPECT_EQ(offset, 42);
  EXPECT_TRUE(store_->GetFinding("no-such-finding", &f).IsNotFound());
  EXPECT_TRUE(store_->GetPosition("file:/nowhere", &offset).IsNotFound());
  EXPECT_EQ(offset, 42);

  WriteSet del;
  del.delete_resources = {"1|global|AWS::IAM::User|bob"};
  ASSERT_TRUE(store_->Commit(del).ok());
  EXPECT_TRUE(store_->GetResource("1|global|AWS::IAM::User|bob", &doc).IsNotFound());
}

TEST_P(StoreTest, SeenIdsExpireByEventTime) {
  WriteSet w;
  w.seen_event_ids = {{"old", 0}, {"new", 10 * kDay}};
  ASSERT_TRUE(store_->Commit(w).ok());
  EXPECT_TRUE(Seen("old"));  // within 14 days of the newest event
  WriteSet later;
  later.seen_event_ids = {{"newest", 15 * kDay}};
  ASSERT_TRUE(store_->Commit(later).ok());
  EXPECT_FALSE(Seen("old"));
  EXPECT_TRUE(Seen("new"));
  if (GetParam()) {
    auto* rocks = static_cast<RocksDbStore*>(store_.get());
    ASSERT_TRUE(rocks->CompactAll().ok());
    EXPECT_FALSE(Seen("old"));
    EXPECT_TRUE(Seen("newest"));
  }
}

TEST_P(StoreTest, PointInTimeFromHistory) {
  const std::string sg = "1|us-east-1|AWS::EC2::SecurityGroup|sg-1";
  const std::string trail = "1|us-east-1|AWS::CloudTrail::Trail|main";
  WriteSet w;
  w.history = {Entry(sg, 100, "a", "{\"v\":1}"),
               Entry(sg, 200, "b", "{\"v\":2}"),
               Entry(sg, 250, "late", "", false, /*applied=*/false),
               Entry(sg, 300, "c", "", /*deleted=*/true),
               Entry(trail, 150, "d", "{\"t\":1}"),
               Entry(trail, 160, "unknown", "")};
  ASSERT_TRUE(store_->Commit(w).ok());
  auto at = [&](int64_t t) {
    std::vector<std::pair<std::string, std::string>> out;
    EXPECT_TRUE(ScanResourcesAt(store_.get(), t, [&](std::string_view k, std::string_view d) {
                  out.emplace_back(k, d);
                  return true;
                }).ok());
    return out;
  };
  using V = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(at(50), V{});
  EXPECT_EQ(at(100), (V{{sg, "{\"v\":1}"}}));
  EXPECT_EQ(at(199), (V{{trail, "{\"t\":1}"}, {sg, "{\"v\":1}"}}));
  EXPECT_EQ(at(260), (V{{trail, "{\"t\":1}"}, {sg, "{\"v\":2}"}}));
  EXPECT_EQ(at(300), (V{{trail, "{\"t\":1}"}}));
}

// One resource's history within a time range, and its newest entry, without reading the rest.
TEST_P(StoreTest, HistoryRangeAndNewestEntry) {
  const std::string sg = "1|us-east-1|AWS::EC2::SecurityGroup|sg-1";
  const std::string sg10 = "1|us-east-1|AWS::EC2::SecurityGroup|sg-10";  // sg-1 is its prefix
  WriteSet w;
  w.history = {Entry(sg, -5, "neg", "{\"v\":0}"), Entry(sg, 100, "a", "{\"v\":1}"),
               Entry(sg, 200, "b", "{\"v\":2}"),   Entry(sg, 200, "c", "{\"v\":3}"),
               Entry(sg, 300, "d", "{\"v\":4}"),   Entry(sg10, 150, "x", "{\"w\":1}"),
               Entry(sg10, 999, "y", "{\"w\":2}")};
  ASSERT_TRUE(store_->Commit(w).ok());
  auto range = [&](const std::string& key, int64_t from, int64_t to) {
    std::vector<std::string> ids;
    EXPECT_TRUE(store_
                    ->ScanHistoryRange(key, from, to,
                                       [&](const HistoryEntry& e) {
                                         EXPECT_EQ(e.resource_key, key);
                                         ids.push_back(e.event_id);
                                         return true;
                                       })
                    .ok());
    return ids;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(range(sg, 100, 200), (V{"a", "b", "c"}));
  EXPECT_EQ(range(sg, 101, 299), (V{"b", "c"}));
  EXPECT_EQ(range(sg, INT64_MIN, 0), V{"neg"});
  EXPECT_EQ(range(sg, 301, INT64_MAX), V{});
  EXPECT_EQ(range(sg10, 0, INT64_MAX), (V{"x", "y"}));
  auto backward = [&](const std::string& key, int64_t before, size_t limit) {
    std::vector<std::string> ids;
    EXPECT_TRUE(store_
                    ->ScanHistoryBackward(key, before,
                                          [&](const HistoryEntry& e) {
                                            EXPECT_EQ(e.resource_key, key);
                                            ids.push_back(e.event_id);
                                            return ids.size() < limit;
                                          })
                    .ok());
    return ids;
  };
  EXPECT_EQ(backward(sg, 300, 10), (V{"c", "b", "a", "neg"}));
  EXPECT_EQ(backward(sg, 201, 2), (V{"c", "b"}));
  EXPECT_EQ(backward(sg, 200, 10), (V{"a", "neg"}));
  EXPECT_EQ(backward(sg, INT64_MAX, 1), V{"d"});
  EXPECT_EQ(backward(sg, -5, 10), V{});
  EXPECT_EQ(backward(sg10, 1000, 10), (V{"y", "x"}));
  HistoryEntry last;
  ASSERT_TRUE(store_->LastHistory(sg, &last).ok());
  EXPECT_EQ(last.event_id, "d");
  EXPECT_EQ(last.document_after, "{\"v\":4}");
  ASSERT_TRUE(store_->LastHistory(sg10, &last).ok());
  EXPECT_EQ(last.event_id, "y");
  EXPECT_TRUE(store_->LastHistory("1|us-east-1|AWS::EC2::SecurityGroup|sg-2", &last).IsNotFound());
}

TEST_P(StoreTest, FailedOrEmptyCommitsLeaveNothing) {
  if (!GetParam()) {
    auto* mem = static_cast<MemoryStore*>(store_.get());
    mem->FailNextCommit("disk on fire");
    WriteSet w;
    w.put_resources = {{"k", "v"}};
    w.positions = {{"file:/x", 1}};
    Status s = store_->Commit(w);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), "disk on fire");
    std::string doc;
    EXPECT_TRUE(store_->GetResource("k", &doc).IsNotFound());
    int64_t offset = 0;
    EXPECT_TRUE(store_->GetPosition("file:/x", &offset).IsNotFound());
  }
  ASSERT_TRUE(store_->Commit(WriteSet{}).ok());
  size_t n = 0;
  ASSERT_TRUE(store_
                  ->ScanResources([&](std::string_view, std::string_view) {
                    ++n;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(n, 0u);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("RocksDb") : std::string("Memory");
                         });

// --- RocksDB only ------------------------------------------------------------------------

TEST(RocksDbStoreTest, ReopenKeepsEverythingIncludingTheWatermark) {
  TempDir dir;
  const std::string path = dir.sub("state");
  {
    std::unique_ptr<RocksDbStore> store;
    ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
    WriteSet w;
    w.put_resources = {{"1|r|T|a", "{}"}};
    w.seen_event_ids = {{"e", 20 * kDay}};
    w.positions = {{"watermark", 20 * kDay}, {"kafka:t/0", 7}};
    ASSERT_TRUE(store->Commit(w).ok());
  }
  std::unique_ptr<RocksDbStore> store;
  ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
  EXPECT_EQ(store->seen_watermark_ms(), 20 * kDay);
  int64_t offset = 0;
  ASSERT_TRUE(store->GetPosition("kafka:t/0", &offset).ok());
  EXPECT_EQ(offset, 7);
  bool seen = false;
  ASSERT_TRUE(store->HasSeenEvent("e", &seen).ok());
  EXPECT_TRUE(seen);
}

// Opens the state straight through RocksDB, every family, the way another driftwatch version
// would, and hands `fn` the database and the handle of the family named `family`.
void WithRawFamily(const std::string& path, const std::string& family,
                   const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
  rocksdb::DBOptions options;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, path, cfs, &handles, &db).ok());
  size_t at = names.size();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == family) at = i;
  }
  EXPECT_LT(at, names.size()) << "no family " << family;
  if (at < names.size()) fn(db, handles[at]);
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  delete db;
}

// Writes (`value` non-null) or reads the recorded format version straight through RocksDB.
void MetaVersion(const std::string& path, const char* value, std::string* read) {
  WithRawFamily(path, "meta", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
    if (value != nullptr && *value == '\0') {  // "": as if the version had never been written
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), meta, "format_version").ok());
    } else if (value != nullptr) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), meta, "format_version", value).ok());
    } else {
      ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), meta, "format_version", read).ok());
    }
  });
}

TEST(RocksDbStoreTest, RefusesAnotherFormatVersionNamingBoth) {
  TempDir dir;
  const std::string path = dir.sub("state");
  {
    std::unique_ptr<RocksDbStore> store;
    ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
  }
  MetaVersion(path, "6", nullptr);  // as a future driftwatch would record it
  std::unique_ptr<RocksDbStore> store;
  Status s = RocksDbStore::Open(path, {}, &store);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("format version 6"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("reads versions 1 to 5"), std::string::npos) << s.message();
  EXPECT_EQ(store, nullptr);
}

// Killed between RocksDB creating the directory and the version being written: an empty state
// of ours without a version is finished on the next writable open; one with data is refused.
TEST(RocksDbStoreTest, FinishesACreationCutShortButRefusesDataWithoutAVersion) {
  TempDir dir;
  const std::string path = dir.sub("state");
  {
    std::unique_ptr<RocksDbStore> store;
    ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
  }
  MetaVersion(path, "", nullptr);
  std::unique_ptr<RocksDbStore> store;
  RocksDbStoreOptions read_only;
  read_only.read_only = true;
  read_only.create_if_missing = false;
  Status s = RocksDbStore::Open(path, read_only, &store);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no format version"), std::string::npos) << s.message();
  s = RocksDbStore::Open(path, {}, &store);
  ASSERT_TRUE(s.ok()) << s.message();
  WriteSet w;
  w.put_resources = {{"1|us-east-1|AWS::EC2::SecurityGroup|sg-1", "{}"}};
  ASSERT_TRUE(store->Commit(w).ok());
  store.reset();
  std::string version;
  MetaVersion(path, nullptr, &version);
  EXPECT_EQ(version, "5");

  MetaVersion(path, "", nullptr);
  s = RocksDbStore::Open(path, {}, &store);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a driftwatch state (no format version recorded)"),
            std::string::npos)
      << s.message();
}

// A state written by format version 1 (history records without the replayable call) opens,
// and a writer records the current version from then on.
TEST(RocksDbStoreTest, ReadsFormatVersionOneAndUpgradesIt) {
  TempDir dir;
  const std::string path = dir.sub("state");
  {
    std::unique_ptr<RocksDbStore> store;
    ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
  }
  MetaVersion(path, "1", nullptr);
  {
    std::unique_ptr<RocksDbStore> store;
    Status s = RocksDbStore::Open(path, {}, &store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  std::string version;
  MetaVersion(path, nullptr, &version);
  EXPECT_EQ(version, "5");
}

// Format-2 entries (every entry holding its call's record) and format-3 key-only postings stay
// readable beside format-4 posting lists, and all answer the same scans.
TEST(RocksDbStoreTest, ReadsFormatTwoAndThreeActivityBesidePostingLists) {
  TempDir dir;
  const std::string path = dir.sub("state");
  ActivityRecord old_call;
  old_call.time_ms = 1700000000000;
  old_call.event_id = "old-1";
  old_call.event_source = "ec2.amazonaws.com";
  old_call.event_name = "RunInstances";
  old_call.actor.arn = "arn:aws:iam::1:user/x";
  old_call.actor.access_key_id = "AKIAOLD";
  old_call.resource_keys = {"1|us-east-1|AWS::EC2::Instance|i-1"};
  ActivityRecord mid_call = old_call;
  mid_call.time_ms += 500;
  mid_call.event_id = "mid-1";
  mid_call.event_name = "StopInstances";
  ActivityRecord new_call = old_call;
  new_call.time_ms += 1000;
  new_call.event_id = "new-1";
  new_call.event_name = "TerminateInstances";
  {
    std::unique_ptr<RocksDbStore> store;
    ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
    WriteSet w;
    w.activity = {new_call};
    ASSERT_TRUE(store->Commit(w).ok());
  }
  WithRawFamily(path, "activity", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* activity) {
    // As format 2 wrote it: the record under the entry key itself.
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), activity,
                        activity_format::EntryKey(ActivityIndex::kAccessKey, "AKIAOLD",
                                                  old_call.time_ms, old_call.event_id),
                        activity_format::EncodeRecord(old_call))
                    .ok());
    // As format 3 wrote it: the call under its call key, a key-only posting.
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), activity,
                        activity_format::CallKey(mid_call.time_ms, mid_call.event_id),
                        activity_format::EncodeCall(mid_call))
                    .ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), activity,
                        activity_format::EntryKey(ActivityIndex::kAccessKey, "AKIAOLD",
                                                  mid_call.time_ms, mid_call.event_id),
                        "")
                    .ok());
  });
  RocksDbStoreOptions query;
  query.read_only = true;
  query.create_if_missing = false;
  std::unique_ptr<RocksDbStore> store;
  ASSERT_TRUE(RocksDbStore::Open(path, query, &store).ok());
  std::vector<std::string> names;
  ASSERT_TRUE(store
                  ->ScanActivity(ActivityIndex::kAccessKey, "AKIAOLD", 0, INT64_MAX,
                                 [&](const ActivityRecord& r) {
                                   names.push_back(r.event_id + " " + r.event_name + " " +
                                                   r.resource_keys.at(0));
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "old-1 RunInstances 1|us-east-1|AWS::EC2::Instance|i-1",
                       "mid-1 StopInstances 1|us-east-1|AWS::EC2::Instance|i-1",
                       "new-1 TerminateInstances 1|us-east-1|AWS::EC2::Instance|i-1"}));
}

// Format 5: principals' and access keys' lists carry their calls, and are read without the call
// keys; a format-4 list (references only) beside them is still read through the call keys; a call
// written again with other content reads as its last write; below the activity horizon the call
// key decides (retention drops calls there, and a restored list may still name them).
TEST(RocksDbStoreTest, ListsCarryingCallsAnswerWithoutCallKeysAndBesideFormatFourLists) {
  TempDir dir;
  const std::string path = dir.sub("state");
  const int64_t t0 = 1700000000000;
  auto call = [&](int i, const char* name) {
    ActivityRecord r;
    r.time_ms = t0 + i * 1000;
    r.event_id = "e-" + std::to_string(i);
    r.event_source = "iam.amazonaws.com";
    r.event_name = name;
    r.actor.arn = "arn:aws:iam::1:user/x";
    r.actor.access_key_id = "AKIAX";
    r.actor.source_ip = "10.0.0.1";
    return r;
  };
  const ActivityRecord old4 = call(1, "ListUsers");     // written as format 4 wrote it
  const ActivityRecord gone = call(2, "GetUser");       // its call key dropped
  ActivityRecord again = call(3, "CreateUser");         // written twice
  const ActivityRecord plain = call(4, "DeleteUser");
  {
    std::unique_ptr<RocksDbStore> store;
    ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
    WriteSet w;
    w.activity = {gone, again, plain};
    ASSERT_TRUE(store->Commit(w).ok());
    again.event_name = "CreateUser2";
    WriteSet w2;
    w2.activity = {again};
    ASSERT_TRUE(store->Commit(w2).ok());
  }
  WithRawFamily(path, "activity", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* activity) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), activity,
                        activity_format::CallKey(old4.time_ms, old4.event_id),
                        activity_format::EncodeCall(old4))
                    .ok());
    std::string refs, key;
    activity_format::AppendCallRef(&refs, old4.time_ms, old4.event_id);
    key = activity_format::PostingSeek(ActivityIndex::kPrincipal, old4.actor.arn,
                                       activity_format::PostingBucket(old4.time_ms));
    activity_format::AppendPostingListId(&key, 1);
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), activity, key, activity_format::FinishPostingList(1, refs))
            .ok());
    // Every call key but old4's goes: the lists that carry calls still answer for them.
    for (const ActivityRecord* r : {&gone, static_cast<const ActivityRecord*>(&again), &plain}) {
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), activity,
                             activity_format::CallKey(r->time_ms, r->event_id))
                      .ok());
    }
  });
  auto scan = [&](ActivityIndex index, const std::string& value) {
    RocksDbStoreOptions query;
    query.read_only = true;
    query.create_if_missing = false;
    std::unique_ptr<RocksDbStore> store;
    EXPECT_TRUE(RocksDbStore::Open(path, query, &store).ok());
    std::vector<std::string> names;
    EXPECT_TRUE(store
                    ->ScanActivity(index, value, 0, INT64_MAX,
                                   [&](const ActivityRecord& r) {
                                     names.push_back(r.event_id + " " + r.event_name);
                                     return true;
                                   })
                    .ok());
    return names;
  };
  EXPECT_EQ(scan(ActivityIndex::kPrincipal, "arn:aws:iam::1:user/x"),
            (std::vector<std::string>{"e-1 ListUsers", "e-2 GetUser", "e-3 CreateUser2",
                                      "e-4 DeleteUser"}));
  EXPECT_EQ(scan(ActivityIndex::kAccessKey, "AKIAX"),
            (std::vector<std::string>{"e-2 GetUser", "e-3 CreateUser2", "e-4 DeleteUser"}));
  // Source IPs' lists name their calls only: with the call keys gone, nothing is left but old4,
  // which has no source-IP list.
  EXPECT_EQ(scan(ActivityIndex::kSourceIp, "10.0.0.1"), std::vector<std::string>{});

  // The activity horizon past e-2: below it the call key decides (e-2's is gone; e-1's is there).
  WithRawFamily(path, "positions", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* positions) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), positions, "horizon:activity",
                        state_format::EncodeInt64(t0 + 2500))
                    .ok());
  });
  EXPECT_EQ(scan(ActivityIndex::kPrincipal, "arn:aws:iam::1:user/x"),
            (std::vector<std::string>{"e-1 ListUsers", "e-3 CreateUser2", "e-4 DeleteUser"}));
}

// Posting lists: calls of several hours, commits and sessions, a call delivered twice; a scan
// answers exactly the calls of its value and window, in order, each once, against the in-memory
// store's answer.
TEST(RocksDbStoreTest, ActivityPostingListsAnswerLikeTheMemoryStore) {
  TempDir dir;
  const std::string path = dir.sub("state");
  MemoryStore twin;
  const int64_t t0 = 1700000000000;
  std::vector<ActivityRecord> calls;
  for (int i = 0; i < 900; ++i) {
    ActivityRecord r;
    r.time_ms = t0 + static_cast<int64_t>((i * 7919) % 900) * 20000;  // ~5 hours, shuffled
    r.event_id = "e-" + std::to_string(i);
    r.event_source = "s3.amazonaws.com";
    r.event_name = i % 3 == 0 ? "GetObject" : "ListBuckets";
    r.actor.arn = "arn:aws:iam::1:user/u" + std::to_string(i % 4);
    r.actor.access_key_id = "AKIA" + std::to_string(i % 5);
    r.actor.source_ip = i % 2 ? "10.0.0.1" : "";
    r.read_only = true;
    calls.push_back(r);
  }
  calls.push_back(calls[10]);  // delivered again
  for (int session = 0; session < 2; ++session) {
    std::unique_ptr<RocksDbStore> store;
    ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
    const size_t half = calls.size() / 2;
    const size_t from = session == 0 ? 0 : half, to = session == 0 ? half : calls.size();
    for (size_t i = from; i < to; i += 300) {
      WriteSet w;
      w.activity.assign(calls.begin() + static_cast<std::ptrdiff_t>(i),
                        calls.begin() + static_cast<std::ptrdiff_t>(std::min(to, i + 300)));
      WriteSet copy = w;
      ASSERT_TRUE(store->Commit(w).ok());
      ASSERT_TRUE(twin.Commit(copy).ok());
    }
  }
  RocksDbStoreOptions query;
  query.read_only = true;
  query.create_if_missing = false;
  std::unique_ptr<RocksDbStore> store;
  ASSERT_TRUE(RocksDbStore::Open(path, query, &store).ok());
  auto scan = [](StateStore* s, ActivityIndex index, const std::string& value, int64_t from,
                 int64_t to) {
    std::vector<std::string> out;
    Status st = s->ScanActivity(index, value, from, to, [&](const ActivityRecord& r) {
      out.push_back(std::to_string(r.time_ms) + " " + r.event_id + " " + r.event_name);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  };
  size_t total = 0;
  for (const auto& [index, value] :
       std::vector<std::pair<ActivityIndex, std::string>>{
           {ActivityIndex::kPrincipal, "arn:aws:iam::1:user/u1"},
           {ActivityIndex::kAccessKey, "AKIA3"},
           {ActivityIndex::kSourceIp, "10.0.0.1"},
           {ActivityIndex::kSession, "none"}}) {
    for (const auto& [from, to] : std::vector<std::pair<int64_t, int64_t>>{
             {0, INT64_MAX}, {INT64_MIN, INT64_MAX}, {t0 + 3600 * 1000 - 20000, t0 + 2 * 3600 * 1000 + 40000}}) {
      const std::vector<std::string> got = scan(store.get(), index, value, from, to);
      EXPECT_EQ(got, scan(&twin, index, value, from, to)) << value << " " << from;
      EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
      total += got.size();
    }
  }
  EXPECT_GT(total, 700u);
  EXPECT_EQ(scan(store.get(), ActivityIndex::kAccessKey, "AKIA0", 0, INT64_MAX).size(), 180u);
}

TEST(RocksDbStoreTest, RefusesForeignAndMissingDirectories) {
  TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.sub("other"), &db).ok());
    delete db;
  }
  std::unique_ptr<RocksDbStore> store;
  Status s = RocksDbStore::Open(dir.sub("other"), {}, &store);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a driftwatch state"), std::string::npos) << s.message();

  RocksDbStoreOptions query;
  query.create_if_missing = false;
  query.read_only = true;
  s = RocksDbStore::Open(dir.sub("missing"), query, &store);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "no driftwatch state at " + dir.sub("missing"));
  EXPECT_FALSE(std::filesystem::exists(dir.sub("missing")));
}

TEST(RocksDbStoreTest, FinishesACreationCutShortAfterTheDefaultFamily) {
  // A new state is made in two steps (RocksDB's default family, then ours together); a process
  // killed between them leaves the default family with the creation marker only. Opening it
  // again finishes the creation; an empty database of someone else's (no marker) is refused by
  // RefusesForeignAndMissingDirectories.
  TempDir dir;
  const std::string path = dir.sub("state");
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, path, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "driftwatch:creating", "").ok());
    delete db;
  }
  std::unique_ptr<RocksDbStore> store;
  Status s = RocksDbStore::Open(path, {}, &store);
  ASSERT_TRUE(s.ok()) << s.message();
  WriteSet w;
  w.put_resources = {{"1|r|T|a", "{\"x\":1}"}};
  ASSERT_TRUE(store->Commit(w).ok());
  store.reset();
  // Finished for good: the marker is gone and the state opens as any other.
  ASSERT_TRUE(RocksDbStore::Open(path, {}, &store).ok());
  std::string doc;
  ASSERT_TRUE(store->GetResource("1|r|T|a", &doc).ok());
  EXPECT_EQ(doc, "{\"x\":1}");
  store.reset();
  rocksdb::DB* db = nullptr;
  std::vector<std::string> families;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> d;
  for (const std::string& f : families) d.emplace_back(f, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, d, &h, &db).ok());
  std::string marker;
  EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), "driftwatch:creating", &marker).IsNotFound());
  for (rocksdb::ColumnFamilyHandle* handle : h) db->DestroyColumnFamilyHandle(handle);
  delete db;
}

TEST(RocksDbStoreTest, ReadOnlySeesCommittedStateAndCannotWrite) {
  TempDir dir;
  const std::string path = dir.sub("state");
  std::unique_ptr<RocksDbStore> writer;
  ASSERT_TRUE(RocksDbStore::Open(path, {}, &writer).ok());
  WriteSet w;
  w.put_resources = {{"1|r|T|a", "{\"x\":1}"}};
  ASSERT_TRUE(writer->Commit(w).ok());

  RocksDbStoreOptions ro;
  ro.read_only = true;
  std::unique_ptr<RocksDbStore> reader;
  ASSERT_TRUE(RocksDbStore::Open(path, ro, &reader).ok());
  std::string doc;
  ASSERT_TRUE(reader->GetResource("1|r|T|a", &doc).ok());
  EXPECT_FALSE(reader->Commit(w).ok());
}

TEST(StateFormatTest, HistoryValueRoundTripAndRejectsGarbage) {
  HistoryEntry e = Entry("k", 1, "id", "{\"doc\":true}", true, false);
  e.kind = EventKind::kConfigItem;
  const std::string bytes = state_format::EncodeHistoryValue(e);
  HistoryEntry back;
  ASSERT_TRUE(state_format::DecodeHistoryValue(bytes, &back));
  EXPECT_EQ(back.kind, EventKind::kConfigItem);
  EXPECT_TRUE(back.deleted);
  EXPECT_FALSE(back.applied);
  EXPECT_EQ(back.document_after, "{\"doc\":true}");
  EXPECT_FALSE(state_format::DecodeHistoryValue(bytes.substr(0, bytes.size() - 3), &back));
  EXPECT_FALSE(state_format::DecodeHistoryValue("\x02garbage", &back));
  EXPECT_TRUE(back.replay.empty());

  // Version 2 carries the replayable call; a version 1 record (no such field) still reads.
  e.replay = "{\"name\":\"CreateUser\"}";
  ASSERT_TRUE(state_format::DecodeHistoryValue(state_format::EncodeHistoryValue(e), &back));
  EXPECT_EQ(back.replay, e.replay);
  std::string v1 = state_format::EncodeHistoryValue(e);
  v1.resize(v1.size() - e.replay.size() - 1);  // drop the replay field
  v1[0] = 1;
  ASSERT_TRUE(state_format::DecodeHistoryValue(v1, &back));
  EXPECT_TRUE(back.replay.empty());
  EXPECT_EQ(back.document_after, "{\"doc\":true}");
  v1[0] = 2;  // a version 2 record must have the field
  EXPECT_FALSE(state_format::DecodeHistoryValue(v1, &back));
  std::string key, id;
  int64_t t = 0;
  ASSERT_TRUE(state_format::ParseHistoryKey(state_format::HistoryKey("a|b|c|d", INT64_MIN, "e"),
                                            &key, &t, &id));
  EXPECT_EQ(key, "a|b|c|d");
  EXPECT_EQ(t, INT64_MIN);
  EXPECT_EQ(id, "e");
}

}  // namespace
}  // namespace driftwatch
