// The Kafka ingest parts against the real librdkafka mock cluster, in this process: the
// consumer-group source (stored positions, commits, rebalances, outages), time-range replay and
// the producer sinks.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ingest/account_key.h"
#include "kafka/changelog.h"
#include "kafka/embedded_broker.h"
#include "kafka/kafka_producer.h"
#include "kafka/kafka_replay.h"
#include "kafka/kafka_source.h"
#include "state/memory_store.h"
#include "state/retention.h"
#include "state/state_format.h"
#include "tests/integration/kafka_test_util.h"
#include "vocab/finding.h"

namespace driftwatch {
namespace {

using testing_kafka::ReadTopic;
using testing_kafka::WaitFor;

// Group timings short enough for tests; the defaults (45 s session) are for production.
const std::vector<std::pair<std::string, std::string>> kFastGroup = {
    {"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "200"}};

struct Member;

class KafkaIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(EmbeddedBroker::Start(1, &broker_).ok());
    ASSERT_TRUE(broker_->CreateTopic("ct", 4).ok());
    KafkaProducerOptions po;
    po.brokers = broker_->bootstrap();
    ASSERT_TRUE(KafkaProducer::Open(po, &producer_).ok());
  }

  // Records "r<i>" keyed by one of 10 accounts.
  void Produce(int from, int to, int64_t timestamp_base_ms = 0) {
    for (int i = from; i < to; ++i) {
      const int64_t ts = timestamp_base_ms > 0 ? timestamp_base_ms + i * 1000LL : 0;
      ASSERT_TRUE(producer_->Produce("ct", "acct-" + std::to_string(i % 10),
                                     "r" + std::to_string(i), ts)
                      .ok());
    }
    ASSERT_TRUE(producer_->Flush(10000).ok());
  }

  // close_timeout_ms: 0 keeps KafkaSourceOptions' default.
  std::unique_ptr<KafkaSource> OpenSource(StateStore* store, const std::string& group,
                                          int close_timeout_ms = 0) {
    KafkaSourceOptions so;
    so.brokers = broker_->bootstrap();
    so.topics = {"ct"};
    so.group_id = group;
    so.properties = kFastGroup;
    so.batch_max_wait_ms = 50;
    if (close_timeout_ms > 0) so.close_timeout_ms = close_timeout_ms;
    so.positions = store;
    std::unique_ptr<KafkaSource> source;
    EXPECT_TRUE(KafkaSource::Open(so, &source).ok());
    return source;
  }

  // Makes the changelog topic "ct-changelog" (4 partitions, as "ct") and has each member write
  // through a ChangelogStore of it.
  void ShareChangelog(std::initializer_list<Member*> members);

  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<KafkaProducer> producer_;
};

// What a pipeline does with a batch, reduced to what these tests check: record each payload and
// store the positions in one commit.
struct Member {
  MemoryStore store;
  std::unique_ptr<ChangelogStore> changelog;  // when the test hands state over
  StateStore* writer = &store;                // the changelog when there is one
  std::vector<std::string> seen;
  Status Apply(const std::vector<RawRecord>& batch) {
    WriteSet ws;
    for (const RawRecord& r : batch) {
      seen.push_back(r.bytes);
      ws.positions.push_back({r.source, r.next_offset});
    }
    return writer->Commit(ws);
  }
  KafkaSource::AssignHandler RestoreHandler() {
    return [this](const std::vector<std::pair<std::string, int32_t>>& parts) {
      int64_t restored = 0;
      return changelog->Restore(parts, &restored);
    };
  }
};

void KafkaIngestTest::ShareChangelog(std::initializer_list<Member*> members) {
  ASSERT_TRUE(broker_->CreateTopic("ct-changelog", 4).ok());
  for (Member* m : members) {
    ChangelogOptions co;
    co.brokers = broker_->bootstrap();
    co.topic = "ct-changelog";
    co.source_topics = {"ct"};
    ASSERT_TRUE(ChangelogStore::Open(co, &m->store, &m->changelog).ok());
    m->writer = m->changelog.get();
  }
}

// Closes and destroys `source` on another thread and waits for that up to `watchdog_ms`, far
// longer than any close should take: returns false if it was still running then (the thread is
// left behind; the test fails). `*status` is Close()'s result.
bool CloseAndDestroyWithin(std::unique_ptr<KafkaSource> source, int watchdog_ms, Status* status) {
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> result = done->get_future();
  std::thread closer([done, s = std::move(source)]() mutable {
    const auto start = std::chrono::steady_clock::now();
    Status st = s->Close();
    const auto closed = std::chrono::steady_clock::now();
    s.reset();  // rd_kafka_destroy must not wait for the group either
    const auto destroyed = std::chrono::steady_clock::now();
    using ms = std::chrono::milliseconds;
    // For the log only: how long each part took (no timed assertion).
    std::fprintf(stderr, "close: %lld ms (%s), destroy: %lld ms\n",
                 static_cast<long long>(std::chrono::duration_cast<ms>(closed - start).count()),
                 st.ok() ? "left the group" : st.message().c_str(),
                 static_cast<long long>(std::chrono::duration_cast<ms>(destroyed - closed).count()));
    done->set_value(st);
  });
  if (result.wait_for(std::chrono::milliseconds(watchdog_ms)) != std::future_status::ready) {
    closer.detach();
    return false;
  }
  closer.join();
  *status = result.get();
  return true;
}

// Polls `source` once and applies what it returns as one durable batch.
void PollOnce(KafkaSource* source, Member* m) {
  std::vector<RawRecord> batch;
  bool more = false;
  ASSERT_TRUE(source->Next(500, &batch, &more).ok());
  EXPECT_TRUE(more);
  if (batch.empty()) return;
  ASSERT_TRUE(m->Apply(batch).ok());
  source->OnBatchDurable();
}

TEST_F(KafkaIngestTest, ReadsEveryRecordOnceAndResumesFromStoredPositions) {
  Produce(0, 200);
  Member m;
  {
    auto source = OpenSource(&m.store, "g1");
    ASSERT_TRUE(WaitFor([&] {
      PollOnce(source.get(), &m);
      return m.seen.size() >= 200;
    }, 20000));
    ASSERT_TRUE(source->Close().ok());
  }
  EXPECT_EQ(std::set<std::string>(m.seen.begin(), m.seen.end()).size(), 200u);
  EXPECT_EQ(m.seen.size(), 200u);
  int64_t stored_total = 0;
  for (int p = 0; p < 4; ++p) {
    int64_t next = 0;
    Status got = m.store.GetPosition(KafkaPositionKey("ct", p), &next);
    ASSERT_TRUE(got.ok() || got.IsNotFound()) << got.ToString();
    if (got.ok()) stored_total += next;
  }
  EXPECT_EQ(stored_total, 200);  // next offsets over all partitions = records read

  // A new group has no committed offsets: the stored positions alone decide where it starts.
  Produce(200, 250);
  auto again = OpenSource(&m.store, "g-fresh");
  const size_t before = m.seen.size();
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(again.get(), &m);
    return m.seen.size() >= before + 50;
  }, 20000));
  // Nothing more arrives: none of the first 200 is read again.
  for (int i = 0; i < 10; ++i) PollOnce(again.get(), &m);
  std::set<std::string> second(m.seen.begin() + static_cast<long>(before), m.seen.end());
  EXPECT_EQ(m.seen.size(), before + 50);
  EXPECT_EQ(second.count("r200"), 1u);
  EXPECT_EQ(second.count("r0"), 0u);
}

TEST_F(KafkaIngestTest, CommitsOffsetsToTheGroupAfterDurableBatches) {
  Produce(0, 40);
  Member m;
  auto source = OpenSource(&m.store, "g-commit");
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source.get(), &m);
    return m.seen.size() >= 40;
  }, 20000));
  // Lag is known per assigned partition and drops to zero once everything is read.
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source.get(), &m);
    auto lag = source->lag();
    if (lag.size() != 4) return false;
    for (const auto& l : lag) {
      if (l.lag != 0) return false;
    }
    return true;
  }, 10000));
  ASSERT_TRUE(source->Close().ok());
  // A member of the same group with an empty store starts from the group's committed offsets.
  Member fresh;
  auto next = OpenSource(&fresh.store, "g-commit");
  Produce(40, 45);
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(next.get(), &fresh);
    return fresh.seen.size() >= 5;
  }, 20000));
  for (int i = 0; i < 5; ++i) PollOnce(next.get(), &fresh);
  EXPECT_EQ(fresh.seen.size(), 5u);
}

// With the changelog, a partition's new owner continues from the position the last owner's
// state reached, whether or not the last owner's offset commit won its race with the rebalance
// (the embedded broker refuses commits while the group is joining).
TEST_F(KafkaIngestTest, RebalanceBetweenTwoMembersLosesNothingAndAppliesNothingTwice) {
  Member a, b;
  ASSERT_NO_FATAL_FAILURE(ShareChangelog({&a, &b}));
  auto source_a = OpenSource(a.writer, "g-rebalance");
  source_a->SetDrainHandler([&](const std::vector<RawRecord>& batch) { return a.Apply(batch); });
  source_a->SetAssignHandler(a.RestoreHandler());
  Produce(0, 100);
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source_a.get(), &a);
    return a.seen.size() >= 30;
  }, 20000));

  // B joins while records keep coming: partitions move from A to B.
  auto source_b = OpenSource(b.writer, "g-rebalance");
  source_b->SetDrainHandler([&](const std::vector<RawRecord>& batch) { return b.Apply(batch); });
  source_b->SetAssignHandler(b.RestoreHandler());
  int next = 100;
  ASSERT_TRUE(WaitFor([&] {
    if (next < 300) {
      Produce(next, next + 10);
      next += 10;
    }
    PollOnce(source_a.get(), &a);
    PollOnce(source_b.get(), &b);
    return next >= 300 && b.seen.size() > 0 && source_b->lag().size() > 0 &&
           source_a->lag().size() > 0;
  }, 40000));
  EXPECT_GT(source_b->rebalances(), 0);

  // A leaves: B takes everything over from the offsets A committed on revoke.
  ASSERT_TRUE(source_a->Close().ok());
  Produce(300, 320);
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source_b.get(), &b);
    return a.seen.size() + b.seen.size() >= 320;
  }, 40000));
  for (int i = 0; i < 5; ++i) PollOnce(source_b.get(), &b);

  std::map<std::string, int> applied;
  for (const auto& s : a.seen) ++applied[s];
  for (const auto& s : b.seen) ++applied[s];
  EXPECT_EQ(applied.size(), 320u) << "records lost";
  for (const auto& [record, times] : applied) EXPECT_EQ(times, 1) << record << " applied twice";
  EXPECT_GT(a.seen.size(), 0u);
  EXPECT_GT(b.seen.size(), 0u);
}

// Retention through the changelog: what a sweep drops is produced as tombstones of the dropped
// keys, with the horizons, to the partition of the dropped records' account; a member restoring
// that partition ends with the same state, the dropped records gone.
TEST_F(KafkaIngestTest, RetentionProducesTombstonesAndARestoreDropsTheSame) {
  Member a, b;
  ASSERT_NO_FATAL_FAILURE(ShareChangelog({&a, &b}));
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  constexpr int64_t kT0 = 1704067200000;  // 2024-01-01T00:00:00Z
  const std::string sg = MakeResourceKey("acct-1", "us-east-1", "AWS::EC2::SecurityGroup", "sg-1");
  WriteSet w;
  w.account_sources = {{"acct-1", "kafka:ct/2"}};
  for (int day : {0, 10, 550}) {
    HistoryEntry h;
    h.resource_key = sg;
    h.time_ms = kT0 + day * kDay;
    h.event_id = "h-" + std::to_string(day);
    h.action = "AuthorizeSecurityGroupIngress";
    h.document_after = "{\"day\":" + std::to_string(day) + "}";
    w.history.push_back(h);
    ActivityRecord call;
    call.time_ms = h.time_ms;
    call.event_id = "c-" + std::to_string(day);
    call.event_name = "DescribeInstances";
    call.account = "acct-1";
    call.actor.arn = "arn:aws:iam::1:user/dev";
    call.actor.source_ip = "198.51.100.7";
    w.activity.push_back(call);
  }
  w.put_resources = {{sg, "{\"day\":550}"}};
  w.positions = {{"kafka:ct/2", 3}, {std::string(kWatermarkPosition), kT0 + 600 * kDay}};
  ASSERT_TRUE(a.writer->Commit(w).ok());

  RetentionOptions options;  // history 400 days, calls 90
  RetentionResult r;
  ASSERT_TRUE(ApplyRetention(a.writer, options, &r).ok());
  EXPECT_EQ(r.history_dropped, 1);   // h-0; h-10 is the group's state at the horizon
  EXPECT_EQ(r.activity_dropped, 2);  // c-0, c-10
  ASSERT_TRUE(a.changelog->WaitDelivered(10000));
  EXPECT_EQ(a.changelog->stats().unrouted, 0);

  const auto messages = testing_kafka::ReadTopic(
      broker_->bootstrap(), "ct-changelog", static_cast<size_t>(a.changelog->stats().produced));
  ASSERT_EQ(messages.size(), static_cast<size_t>(a.changelog->stats().produced));
  std::set<std::string> tombstones;
  std::map<std::string, int64_t> horizons;
  for (const auto& m : messages) {
    EXPECT_EQ(m.partition, 2) << "everything of acct-1 goes to its partition: " << m.key;
    if (m.tombstone) tombstones.insert(m.key);
    int64_t v = 0;
    if (m.key.rfind("phorizon:", 0) == 0 && state_format::DecodeInt64(m.value, &v)) {
      horizons[m.key.substr(1)] = v;
    }
  }
  const std::set<std::string> want = {
      "h" + state_format::HistoryKey(sg, kT0, "h-0"),
      "a" + state_format::EncodeInt64(kT0) + "c-0",
      "a" + state_format::EncodeInt64(kT0 + 10 * kDay) + "c-10"};
  EXPECT_EQ(tombstones, want);
  EXPECT_EQ(horizons[std::string(kHistoryHorizonPosition)], kT0 + 200 * kDay);
  EXPECT_EQ(horizons[std::string(kActivityHorizonPosition)], kT0 + 510 * kDay);

  // B restores partition 2 from the changelog: the same history, calls and horizons.
  int64_t restored = 0;
  ASSERT_TRUE(b.changelog->Restore({{"ct", 2}}, &restored).ok());
  EXPECT_EQ(restored, a.changelog->stats().produced);
  auto history = [&](StateStore& s) {
    std::vector<std::string> ids;
    EXPECT_TRUE(s.ScanHistory(sg, [&](const HistoryEntry& e) {
      ids.push_back(e.event_id);
      return true;
    }).ok());
    return ids;
  };
  auto calls = [&](StateStore& s) {
    std::vector<std::string> ids;
    EXPECT_TRUE(s.ScanActivity(ActivityIndex::kSourceIp, "198.51.100.7", INT64_MIN, INT64_MAX,
                               [&](const ActivityRecord& c) {
                                 ids.push_back(c.event_id);
                                 return true;
                               })
                    .ok());
    return ids;
  };
  EXPECT_EQ(history(a.store), (std::vector<std::string>{"h-10", "h-550"}));
  EXPECT_EQ(history(b.store), history(a.store));
  EXPECT_EQ(calls(a.store), (std::vector<std::string>{"c-550"}));
  EXPECT_EQ(calls(b.store), calls(a.store));
  for (std::string_view key : {kHistoryHorizonPosition, kActivityHorizonPosition}) {
    int64_t ha = 0, hb = 0;
    ASSERT_TRUE(a.store.GetPosition(key, &ha).ok()) << key;
    ASSERT_TRUE(b.store.GetPosition(key, &hb).ok()) << key;
    EXPECT_EQ(ha, hb) << key;
  }
}

// A restore reads all the partitions it is given in one assignment and keeps the order of each:
// a resource deleted and made again within one chunk of the restore is there afterwards, one
// deleted for good is not, and every partition's changelog position is stored at its end.
TEST_F(KafkaIngestTest, RestoreOfSeveralPartitionsKeepsEachPartitionsOrder) {
  Member a, b;
  ASSERT_NO_FATAL_FAILURE(ShareChangelog({&a, &b}));
  auto key = [](int p, const std::string& id) {
    return MakeResourceKey("acct-" + std::to_string(p), "us-east-1", "AWS::EC2::SecurityGroup", id);
  };
  auto commit = [&](int p, std::vector<std::pair<std::string, std::string>> puts,
                    std::vector<std::string> deletes) {
    WriteSet w;
    w.account_sources = {{"acct-" + std::to_string(p), "kafka:ct/" + std::to_string(p)}};
    w.put_resources = std::move(puts);
    w.delete_resources = std::move(deletes);
    ASSERT_TRUE(a.writer->Commit(w).ok());
  };
  for (int p = 0; p < 4; ++p) {
    commit(p, {{key(p, "again"), "{\"v\":1}"}, {key(p, "gone"), "{\"v\":1}"}}, {});
    commit(p, {}, {key(p, "again"), key(p, "gone")});
    commit(p, {{key(p, "again"), "{\"v\":2}"}}, {});
  }
  ASSERT_TRUE(a.changelog->WaitDelivered(10000));
  EXPECT_EQ(a.changelog->stats().unrouted, 0);
  std::map<int, int64_t> ends;  // each partition's high watermark: its records, from offset 0
  for (const auto& m : testing_kafka::ReadTopic(
           broker_->bootstrap(), "ct-changelog",
           static_cast<size_t>(a.changelog->stats().produced))) {
    ++ends[m.partition];
  }
  ASSERT_EQ(ends.size(), 4u);

  int64_t restored = 0;
  ASSERT_TRUE(b.changelog->Restore({{"ct", 0}, {"ct", 1}, {"ct", 2}, {"ct", 3}}, &restored).ok());
  EXPECT_EQ(restored, a.changelog->stats().produced);
  EXPECT_EQ(b.changelog->stats().restores, 4);
  for (int p = 0; p < 4; ++p) {
    std::string doc;
    Status again = b.store.GetResource(key(p, "again"), &doc);
    EXPECT_TRUE(again.ok()) << "partition " << p << ": made again after its delete: "
                            << again.ToString();
    EXPECT_EQ(doc, "{\"v\":2}");
    EXPECT_TRUE(b.store.GetResource(key(p, "gone"), &doc).IsNotFound()) << "partition " << p;
    int64_t at = -1;
    ASSERT_TRUE(b.store.GetPosition(ChangelogPositionKey("ct-changelog", p), &at).ok());
    EXPECT_EQ(at, ends[p]) << "partition " << p;
  }
  // Read to its end: a second restore reads nothing.
  ASSERT_TRUE(b.changelog->Restore({{"ct", 0}, {"ct", 1}, {"ct", 2}, {"ct", 3}}, &restored).ok());
  EXPECT_EQ(restored, 0);
}

TEST_F(KafkaIngestTest, BrokerOutageIsReportedAndNothingIsLost) {
  Member m;
  auto source = OpenSource(&m.store, "g-outage");
  Produce(0, 50);
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source.get(), &m);
    return m.seen.size() >= 50;
  }, 20000));
  ASSERT_TRUE(source->connected());

  ASSERT_TRUE(broker_->SetDown(true).ok());
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source.get(), &m);
    source->CheckConnection();
    return !source->connected();
  }, 30000)) << "the outage was not noticed";
  // Produced during the outage: queued by the producer, delivered when the broker is back.
  for (int i = 50; i < 80; ++i) {
    ASSERT_TRUE(producer_->Produce("ct", "acct-" + std::to_string(i % 10), "r" + std::to_string(i))
                    .ok());
  }
  ASSERT_TRUE(broker_->SetDown(false).ok());
  ASSERT_TRUE(producer_->Flush(20000).ok());
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source.get(), &m);
    source->CheckConnection();
    return m.seen.size() >= 80 && source->connected();
  }, 40000));
  std::set<std::string> unique(m.seen.begin(), m.seen.end());
  EXPECT_EQ(unique.size(), 80u);
  EXPECT_EQ(m.seen.size(), 80u);
  // Leaving the group after the outage is bounded (it once waited forever here).
  Status closed;
  ASSERT_TRUE(CloseAndDestroyWithin(std::move(source), 60000, &closed)) << "Close() hung";
}

// The broker goes away for good while the consumer owns partitions: Close() (the service's
// SIGTERM path) and the destructor still return, say why the group was not left when they give
// up, and the state keeps every position. The watchdog is generous (close_timeout_ms is 1 s): it
// only tells a bounded close from a hang.
TEST_F(KafkaIngestTest, CloseReturnsWhenTheBrokerIsDownForGood) {
  Member m;
  std::unique_ptr<KafkaSource> source = OpenSource(&m.store, "g-gone", /*close_timeout_ms=*/1000);
  ASSERT_NE(source, nullptr);
  Produce(0, 40);
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source.get(), &m);
    return m.seen.size() >= 40;
  }, 20000));
  ASSERT_TRUE(broker_->SetDown(true).ok());
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source.get(), &m);
    source->CheckConnection();
    return !source->connected();
  }, 30000)) << "the outage was not noticed";

  Status closed;
  ASSERT_TRUE(CloseAndDestroyWithin(std::move(source), 60000, &closed)) << "Close() hung";
  if (!closed.ok()) {
    EXPECT_NE(closed.message().find("gave up"), std::string::npos) << closed.message();
  }
  int64_t stored_total = 0;
  for (int p = 0; p < 4; ++p) {
    int64_t next = 0;
    Status got = m.store.GetPosition(KafkaPositionKey("ct", p), &next);
    ASSERT_TRUE(got.ok() || got.IsNotFound()) << got.ToString();
    if (got.ok()) stored_total += next;
  }
  EXPECT_EQ(stored_total, 40);
  EXPECT_EQ(m.seen.size(), 40u);
  // A destroy left to finish alone does finish: librdkafka drops the commits still waiting for
  // the coordinator after session.timeout.ms (6 s here).
  EXPECT_TRUE(WaitFor([] { return KafkaSource::DestroysInFlight() == 0; }, 30000));
}

TEST_F(KafkaIngestTest, CloseReturnsWhenTheClusterIsDestroyed) {
  Member m;
  std::unique_ptr<KafkaSource> source = OpenSource(&m.store, "g-destroyed", /*close_timeout_ms=*/1000);
  ASSERT_NE(source, nullptr);
  Produce(0, 20);
  ASSERT_TRUE(WaitFor([&] {
    PollOnce(source.get(), &m);
    return m.seen.size() >= 20;
  }, 20000));
  producer_.reset();
  broker_.reset();  // the cluster and its listeners are gone: connections are refused
  for (int i = 0; i < 5; ++i) PollOnce(source.get(), &m);

  Status closed;
  ASSERT_TRUE(CloseAndDestroyWithin(std::move(source), 60000, &closed)) << "Close() hung";
  if (!closed.ok()) {
    EXPECT_NE(closed.message().find("gave up"), std::string::npos) << closed.message();
  }
  EXPECT_EQ(m.seen.size(), 20u);
  EXPECT_TRUE(WaitFor([] { return KafkaSource::DestroysInFlight() == 0; }, 30000));
}

TEST_F(KafkaIngestTest, ReplayReadsExactlyTheTimeRangeAndEnds) {
  const int64_t base = 1714532400000;  // 2024-05-01T03:00:00Z
  Produce(0, 100, base);               // record i at base + i s
  const std::string url = "kafka://" + broker_->bootstrap() +
                          "/ct?from=2024-05-01T03:00:20Z&to=" + std::to_string(base + 59000);
  std::unique_ptr<RecordSource> source;
  ASSERT_TRUE(OpenKafkaReplaySource(url, &source).ok());
  std::set<std::string> got;
  std::vector<RawRecord> batch;
  bool more = true;
  int rounds = 0;
  while (more && rounds++ < 500) {
    ASSERT_TRUE(source->Next(16, &batch, &more).ok());
    for (const auto& r : batch) EXPECT_TRUE(got.insert(r.bytes).second) << r.bytes << " twice";
  }
  EXPECT_FALSE(more) << "the replay did not end";
  std::set<std::string> want;
  for (int i = 20; i <= 59; ++i) want.insert("r" + std::to_string(i));
  EXPECT_EQ(got, want);

  // Without bounds: everything there is when the replay starts, then the end.
  ASSERT_TRUE(OpenKafkaReplaySource("kafka://" + broker_->bootstrap() + "/ct", &source).ok());
  size_t all = 0;
  more = true;
  rounds = 0;
  while (more && rounds++ < 500) {
    ASSERT_TRUE(source->Next(1000, &batch, &more).ok());
    all += batch.size();
  }
  EXPECT_EQ(all, 100u);
}

TEST(KafkaReplayUrlTest, ParsesAndRejects) {
  KafkaReplayUrl u;
  ASSERT_TRUE(ParseKafkaReplayUrl(
                  "kafka://b1:9092,b2:9092/cloud.trail?from=2024-05-01T03:00:00Z&to=1714536000000"
                  "&security.protocol=ssl",
                  &u)
                  .ok());
  EXPECT_EQ(u.brokers, "b1:9092,b2:9092");
  EXPECT_EQ(u.topic, "cloud.trail");
  EXPECT_EQ(u.from_ms, 1714532400000);
  EXPECT_EQ(u.to_ms, 1714536000000);
  ASSERT_EQ(u.properties.size(), 1u);
  EXPECT_EQ(u.properties[0].first, "security.protocol");
  EXPECT_FALSE(ParseKafkaReplayUrl("kafka://b1:9092", &u).ok());
  EXPECT_FALSE(ParseKafkaReplayUrl("kafka://b1:9092/t?from=yesterday", &u).ok());
  EXPECT_FALSE(ParseKafkaReplayUrl("kafka://b/t?from=2000&to=1000", &u).ok());
  EXPECT_FALSE(ParseKafkaReplayUrl("file.json", &u).ok());
  EXPECT_TRUE(IsKafkaReplayUrl("kafka://x/y"));
}

TEST_F(KafkaIngestTest, FindingsAndDeadLettersAreProducedKeyed) {
  ASSERT_TRUE(broker_->CreateTopic("findings", 2).ok());
  ASSERT_TRUE(broker_->CreateTopic("dead", 1).ok());
  KafkaFindingSink sink(producer_.get(), "findings");
  Finding f;
  f.rule_id = "network-sg-open-to-world";
  f.title = "Security group open to the world";
  f.category = Category::kNetwork;
  f.severity = Severity::kHigh;
  f.resource = {"AWS::EC2::SecurityGroup", "sg-1", "", "111122223333", "us-east-1"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  f.first_seen_ms = f.last_seen_ms = 1714532400000;
  f.evidence = "{}";
  ASSERT_TRUE(sink.Emit(f).ok());
  f.status = FindingStatus::kResolved;
  f.resolved_at_ms = 1714532460000;
  ASSERT_TRUE(sink.Emit(f).ok());
  ASSERT_TRUE(sink.Flush().ok());
  KafkaDeadLetterSink dead(producer_.get(), "dead");
  ASSERT_TRUE(dead.Write("{not json", "ct/1@7", "malformed_json", "truncated").ok());
  ASSERT_TRUE(producer_->Flush(10000).ok());

  auto msgs = ReadTopic(broker_->bootstrap(), "findings", 2);
  ASSERT_EQ(msgs.size(), 2u);
  // Same key, so both status changes are on one partition, in order.
  EXPECT_EQ(msgs[0].key, f.finding_id);
  EXPECT_EQ(msgs[1].key, f.finding_id);
  EXPECT_EQ(msgs[0].partition, msgs[1].partition);
  Finding first, second;
  ASSERT_TRUE(FindingFromJson(msgs[0].value, &first));
  ASSERT_TRUE(FindingFromJson(msgs[1].value, &second));
  EXPECT_EQ(first.status, FindingStatus::kOpen);
  EXPECT_EQ(second.status, FindingStatus::kResolved);
  auto dl = ReadTopic(broker_->bootstrap(), "dead", 1);
  ASSERT_EQ(dl.size(), 1u);
  EXPECT_EQ(dl[0].value, "{not json");
  EXPECT_EQ(dl[0].key, "ct/1@7");
}

TEST(AccountKeyTest, FindsTheAccountInEveryEnvelope) {
  EXPECT_EQ(AccountKeyOf(R"({"eventVersion":"1.08","recipientAccountId":"111122223333"})"),
            "111122223333");
  EXPECT_EQ(AccountKeyOf(R"({"userIdentity":{"accountId":"222233334444"}})"), "222233334444");
  EXPECT_EQ(AccountKeyOf(R"({"detail-type":"x","account":"333344445555","detail":{}})"),
            "333344445555");
  EXPECT_EQ(AccountKeyOf(R"({"Records":[{"recipientAccountId":"444455556666"}]})"),
            "444455556666");
  EXPECT_EQ(AccountKeyOf(R"({"configurationItem":{"awsAccountId":"555566667777"}})"),
            "555566667777");
  EXPECT_EQ(
      AccountKeyOf(R"({"Type":"Notification","Message":"{\"configurationItem\":{\"accountId\":\"666677778888\"}}"})"),
      "666677778888");
  EXPECT_EQ(AccountKeyOf("not json"), "");
}

}  // namespace
}  // namespace driftwatch
