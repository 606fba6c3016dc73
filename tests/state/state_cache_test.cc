#include "state/state_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/policy.h"
#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/activity_format.h"
#include "state/forwarding_store.h"
#include "state/memory_store.h"
#include "state/rocksdb_store.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

const std::string kSourceDir = DW_SOURCE_DIR;

TEST(StateCacheTest, KeepsWithinItsBytesAndDropsTheLeastRecentlyUsed) {
  StateCache cache(8 * 1024);
  const std::string doc(500, 'x');
  for (int i = 0; i < 100; ++i) {
    cache.PutResource("k" + std::to_string(i), StateCache::Resource{true, doc, nullptr});
    // k0 is read after every put, so it stays the most recently used.
    ASSERT_NE(cache.FindResource("k0"), nullptr) << "after put " << i;
    EXPECT_LE(cache.bytes(), size_t{8 * 1024});
  }
  EXPECT_EQ(cache.FindResource("k1"), nullptr);   // evicted long ago
  EXPECT_NE(cache.FindResource("k99"), nullptr);  // the newest
  EXPECT_LT(cache.entries(), size_t{20});
  EXPECT_GT(cache.entries(), size_t{5});
}

TEST(StateCacheTest, RemembersAbsenceAndReplacesInPlace) {
  StateCache cache(1 << 20);
  EXPECT_EQ(cache.FindResource("k"), nullptr);
  cache.PutResource("k", StateCache::Resource{});
  const StateCache::Resource* r = cache.FindResource("k");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->exists);
  cache.PutResource("k", StateCache::Resource{true, "{\"v\":1}", nullptr});
  r = cache.FindResource("k");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->exists);
  EXPECT_EQ(r->document, "{\"v\":1}");
  EXPECT_EQ(cache.entries(), 1u);
  // Resources and findings with the same name are different entries.
  EXPECT_EQ(cache.FindFinding("k"), nullptr);
  Finding f;
  f.finding_id = "k";
  cache.PutFinding("k", StateCache::FindingEntry{true, f});
  ASSERT_NE(cache.FindFinding("k"), nullptr);
  EXPECT_EQ(cache.FindResource("k")->document, "{\"v\":1}");
  cache.Clear();
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.FindResource("k"), nullptr);
  EXPECT_EQ(cache.FindFinding("k"), nullptr);
  // An entry larger than the whole cache is not kept (and evicts nothing).
  StateCache small(1024);
  small.PutResource("a", StateCache::Resource{true, "{}", nullptr});
  small.PutResource("big", StateCache::Resource{true, std::string(4096, 'x'), nullptr});
  EXPECT_EQ(small.FindResource("big"), nullptr);
  EXPECT_NE(small.FindResource("a"), nullptr);
}

std::string Call(const std::string& name, const std::string& source, int64_t ms,
                 const std::string& id, const std::string& params) {
  return R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAX",)"
         R"("arn":"arn:aws:iam::111122223333:user/dev","accountId":"111122223333",)"
         R"("accessKeyId":"AKIAEXAMPLE1","userName":"dev"},"eventTime":")" +
         FormatTimestamp(ms) + R"(","eventSource":")" + source + R"(","eventName":")" + name +
         R"(","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7",)"
         R"("userAgent":"aws-cli/2.13.0","requestParameters":)" +
         params + R"(,"responseElements":null,"eventID":")" + id +
         R"(","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"})";
}

// Security groups opened to the world and closed again, users made and removed, calls delivered
// ten minutes late and twice: findings open and resolve, documents are rebuilt from history.
std::vector<std::string> Stream() {
  std::vector<std::string> lines;
  const int64_t base = 1717236000000;
  for (int i = 0; i < 240; ++i) {
    const int64_t t = base + i * 60000;
    const std::string id = "ev-" + std::to_string(i);
    const std::string sg = "sg-" + std::to_string(i % 7);
    switch (i % 4) {
      case 0:
      case 1:
        lines.push_back(
            Call(i % 4 == 0 ? "AuthorizeSecurityGroupIngress" : "RevokeSecurityGroupIngress",
                 "ec2.amazonaws.com", t, id,
                 R"({"groupId":")" + sg +
                     R"(","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,)"
                     R"("toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}})"));
        break;
      case 2:
        lines.push_back(Call(i % 8 == 2 ? "CreateUser" : "DeleteUser", "iam.amazonaws.com", t, id,
                             R"({"userName":"user-)" + std::to_string(i % 5) + R"("})"));
        break;
      default:
        lines.push_back(Call("StopLogging", "cloudtrail.amazonaws.com", t - 600000, id,
                             R"({"name":"trail-)" + std::to_string(i % 3) + R"("})"));
    }
    if (i % 11 == 0) lines.push_back(lines.back());
    if (i % 60 == 30) {  // records that are no AWS event: rejected, counted, the stream goes on
      lines.push_back("not json at all {");
      lines.push_back(R"({"hello":"world"})");
    }
  }
  return lines;
}

std::string Dump(StateStore* store) {
  std::string out;
  EXPECT_TRUE(store
                  ->ScanResources([&](std::string_view k, std::string_view v) {
                    out.append(k).append(" ").append(v).append("\n");
                    return true;
                  })
                  .ok());
  EXPECT_TRUE(store
                  ->ScanHistory("",
                                [&](const HistoryEntry& e) {
                                  out += e.resource_key + " " + std::to_string(e.time_ms) + " " +
                                         e.event_id + " " + e.change + " " + e.document_after +
                                         " " + (e.applied ? "1" : "0") + "\n";
                                  return true;
                                })
                  .ok());
  EXPECT_TRUE(store
                  ->ScanFindings([&](const Finding& f) {
                    out += FindingToStoredJson(f) + "\n";
                    return true;
                  })
                  .ok());
  return out;
}

// "" when equal, else the first line where `got` differs from `want`.
std::string FirstDifference(const std::string& got, const std::string& want) {
  if (got == want) return "";
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  const size_t start = want.rfind('\n', i == 0 ? 0 : i - 1);
  const size_t from = start == std::string::npos ? 0 : start + 1;
  // The line, from a little before the first byte that differs.
  const size_t at = std::max(from, i > 120 ? i - 120 : size_t{0});
  return "want: " + want.substr(at, want.find('\n', at) - at).substr(0, 300) +
         "\n got: " + got.substr(at, got.find('\n', at) - at).substr(0, 300);
}

// Runs the stream in batches of 9. `fail_batches`: batches whose first commit fails; the batch is
// then given again, as the service does after a failed write.
std::string RunStream(size_t cache_bytes, const std::vector<int>& fail_batches, int* failures) {
  MemoryStore store;
  RuleLoadResult result;
  std::unique_ptr<CompiledRuleEngine> rules =
      CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, Policy{}, &result);
  EXPECT_NE(rules, nullptr) << result.ToText();
  SimdjsonEventDecoder decoder;
  PipelineParts parts;
  parts.decoder = &decoder;
  parts.store = &store;
  parts.rules = rules.get();
  parts.cache_bytes = cache_bytes;
  Pipeline pipeline(std::move(parts));
  const std::vector<std::string> lines = Stream();
  int batch_no = 0;
  for (size_t i = 0; i < lines.size(); i += 9, ++batch_no) {
    std::vector<PipelineRecord> batch;
    for (size_t j = i; j < std::min(lines.size(), i + 9); ++j) {
      batch.push_back({lines[j], "stream", "file:/stream", static_cast<int64_t>(j + 1)});
    }
    if (std::find(fail_batches.begin(), fail_batches.end(), batch_no) != fail_batches.end()) {
      store.FailNextCommit("disk full");
      if (!pipeline.ProcessBatch(batch).ok()) ++*failures;
    }
    Status s = pipeline.ProcessBatch(batch);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  EXPECT_EQ(pipeline.counters().invalid, 8);
  return Dump(&store);
}

TEST(StateCacheTest, PipelineWithCacheEndsLikeOneWithoutEvenAfterFailedCommits) {
  int failures = 0;
  const std::string plain = RunStream(0, {}, &failures);
  ASSERT_NE(plain.find("\"status\":\"resolved\""), std::string::npos) << "the stream resolves";
  ASSERT_NE(plain.find("\"status\":\"open\""), std::string::npos) << "the stream opens findings";
  EXPECT_EQ(FirstDifference(RunStream(size_t{64} << 20, {}, &failures), plain), "");
  // A failed batch changed documents and findings in memory; none of it may be served later.
  EXPECT_EQ(FirstDifference(RunStream(size_t{64} << 20, {1, 4, 9, 17, 23}, &failures), plain), "");
  EXPECT_EQ(failures, 5);
  // A cache too small to hold the working set evicts all the time.
  EXPECT_EQ(FirstDifference(RunStream(4096, {2, 5}, &failures), plain), "");
  EXPECT_EQ(failures, 7);
}

// A RocksDB state whose commit number `fail_at` (counting from 1) fails, changing nothing: a disk
// that fills up in the middle of a batch written in parts.
class FailingStore : public ForwardingStateStore {
 public:
  FailingStore(RocksDbStore* inner, int fail_at) : ForwardingStateStore(inner), fail_at_(fail_at) {}
  Status Commit(const WriteSet& w) override {
    if (++commits_ == fail_at_) return Status::Error("disk full");
    return ForwardingStateStore::Commit(w);
  }
  int commits() const { return commits_.load(); }

 private:
  int fail_at_;
  std::atomic<int> commits_{0};
};

class TempState {
 public:
  TempState() {
    std::string pattern = ::testing::TempDir() + "dw-parts-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    path_ = mkdtemp(buf.data());
  }
  ~TempState() { std::filesystem::remove_all(path_); }
  std::unique_ptr<RocksDbStore> Open() const {
    RocksDbStoreOptions o;
    o.sync = false;
    std::unique_ptr<RocksDbStore> store;
    Status s = RocksDbStore::Open(path_, o, &store);
    EXPECT_TRUE(s.ok()) << s.message();
    return store;
  }

 private:
  std::string path_;
};

// Runs the stream from the stored position of "file:/stream" to the end in batches of 9, each
// decoded ahead on a thread and written in parts of `every` records, through `store`; stops at
// the first failed batch.
Status RunInParts(StateStore* store, size_t every) {
  RuleLoadResult result;
  std::unique_ptr<CompiledRuleEngine> rules =
      CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, Policy{}, &result);
  SimdjsonEventDecoder decoder;
  PipelineParts parts;
  parts.decoder = &decoder;
  parts.store = store;
  parts.rules = rules.get();
  parts.commit_every_records = every;
  parts.decode_ahead = true;
  Pipeline pipeline(std::move(parts));
  int64_t next = 0;
  Status s = store->GetPosition("file:/stream", &next);
  if (!s.ok() && !s.IsNotFound()) return s;
  const std::vector<std::string> lines = Stream();
  for (size_t i = static_cast<size_t>(next); i < lines.size(); i += 9) {
    std::vector<PipelineRecord> batch;
    for (size_t j = i; j < std::min(lines.size(), i + 9); ++j) {
      batch.push_back({lines[j], "stream", "file:/stream", static_cast<int64_t>(j + 1)});
    }
    s = pipeline.ProcessBatch(batch);
    if (!s.ok()) return s;
  }
  if (next == 0) {
    EXPECT_EQ(pipeline.counters().invalid, 8);
  }
  return Status::Ok();
}

TEST(PipelinePartsTest, BatchesWrittenInPartsEndLikeWholeOnesAndResumeAfterAFailedPart) {
  int failures = 0;
  const std::string whole = RunStream(0, {}, &failures);
  for (size_t every : {1, 2, 4}) {
    TempState dir;
    std::unique_ptr<RocksDbStore> store = dir.Open();
    ASSERT_TRUE(RunInParts(store.get(), every).ok());
    EXPECT_EQ(FirstDifference(Dump(store.get()), whole), "") << "parts of " << every;
  }
  // A part fails in the middle of a batch: the run stops; a new run (a restart) resumes from
  // what the store holds, and the end is the same as if nothing had failed.
  for (int fail_at : {3, 10, 41}) {
    TempState dir;
    {
      std::unique_ptr<RocksDbStore> store = dir.Open();
      FailingStore failing(store.get(), fail_at);
      Status s = RunInParts(&failing, 4);
      ASSERT_FALSE(s.ok()) << "commit " << fail_at << " never failed";
      EXPECT_EQ(s.message(), "disk full");
    }
    std::unique_ptr<RocksDbStore> store = dir.Open();
    ASSERT_TRUE(RunInParts(store.get(), 4).ok());
    EXPECT_EQ(FirstDifference(Dump(store.get()), whole), "") << "failed at commit " << fail_at;
  }
}


// The activity index under every access key and principal that `lines` use.
std::string ActivityDump(StateStore* store, const std::vector<std::string>& lines) {
  SimdjsonEventDecoder decoder;
  std::set<std::pair<ActivityIndex, std::string>> values;
  for (const std::string& line : lines) {
    std::vector<Event> events;
    std::vector<EventDecoder::Rejected> rejected;
    decoder.Decode(line, "x", &events, &rejected);
    for (const Event& e : events) {
      values.insert({ActivityIndex::kAccessKey, e.principal.access_key_id});
      values.insert({ActivityIndex::kPrincipal, e.principal.arn});
    }
  }
  std::string out;
  size_t records = 0;
  for (const auto& [index, value] : values) {
    if (value.empty()) continue;
    EXPECT_TRUE(store
                    ->ScanActivity(index, value, INT64_MIN, INT64_MAX,
                                   [&](const ActivityRecord& r) {
                                     ++records;
                                     out += value + " " + activity_format::EncodeRecord(r) + "\n";
                                     return true;
                                   })
                    .ok());
  }
  EXPECT_GT(records, 100u);
  return out;
}

// Collects what a pipeline emits, one finding per line.
class CollectingSink : public FindingSink {
 public:
  Status Emit(const Finding& f) override {
    lines += FindingToJson(f) + "\n";
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  std::string lines;
};

// The decoding thread prepares each event (the applier's parse of the call, the event document
// when evaluating the rules needs it, the activity record): state, history, findings, the
// activity index and what is emitted are the same as when the applying thread does it all, and
// the rules' own evaluation then parses no document.
TEST(PipelinePartsTest, EventsPreparedAheadEndLikeEventsPreparedInline) {
  std::vector<std::string> lines = Stream();
  for (const char* file : {"/tests/data/incident/scenario.ndjson", "/config/samples/incident.ndjson"}) {
    std::ifstream in(kSourceDir + file);
    ASSERT_TRUE(in) << file;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
  }
  Policy policy;
  policy.has_approved_regions = true;
  policy.approved_regions = {"us-east-1", "us-west-2"};
  policy.has_trusted_ami_owners = true;
  policy.trusted_ami_owners = {"amazon", "111122223333"};
  policy.public_ports = {443};
  std::string dumps[2], emitted[2];
  int64_t parses[2] = {0, 0};
  for (int ahead = 0; ahead < 2; ++ahead) {
    RuleLoadResult result;
    std::unique_ptr<CompiledRuleEngine> rules =
        CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, policy, &result);
    ASSERT_NE(rules, nullptr) << result.ToText();
    MemoryStore store;
    SimdjsonEventDecoder decoder;
    CollectingSink sink;
    PipelineParts parts;
    parts.decoder = &decoder;
    parts.store = &store;
    parts.rules = rules.get();
    parts.sinks = {&sink};
    parts.decode_ahead = ahead == 1;
    parts.record_activity = true;
    Pipeline pipeline(std::move(parts));
    for (size_t i = 0; i < lines.size(); i += 7) {
      std::vector<PipelineRecord> batch;
      for (size_t j = i; j < std::min(lines.size(), i + 7); ++j) {
        batch.push_back({lines[j], "stream", "file:/stream", static_cast<int64_t>(j + 1)});
      }
      Status s = pipeline.ProcessBatch(batch);
      ASSERT_TRUE(s.ok()) << s.message();
    }
    dumps[ahead] = Dump(&store) + ActivityDump(&store, lines);
    emitted[ahead] = sink.lines;
    parses[ahead] = rules->document_parses();
  }
  EXPECT_EQ(FirstDifference(dumps[1], dumps[0]), "");
  EXPECT_EQ(FirstDifference(emitted[1], emitted[0]), "");
  EXPECT_GT(std::count(emitted[0].begin(), emitted[0].end(), '\n'), 10);
  EXPECT_GT(parses[0], 0);   // inline: the rules parse documents themselves
  EXPECT_EQ(parses[1], 0);   // ahead: every document they read was parsed on the other thread
}

}  // namespace
}  // namespace driftwatch
