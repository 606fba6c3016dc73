// `driftwatch run` as users run it: the built binary (DW_BINARY) in a child process, consuming
// from a real Kafka protocol broker (the librdkafka mock cluster, in this test process), state in
// RocksDB. End to end, SIGKILL at random moments, graceful stop, broker outage, Kafka replay.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kafka/embedded_broker.h"
#include "kafka/kafka_producer.h"
#include "kafka/kafka_source.h"
#include "vocab/time_util.h"
#include "state/rocksdb_store.h"
#include "state/state_queries.h"
#include "tests/integration/cloudtrail_gen.h"
#include "tests/integration/kafka_test_util.h"
#include "vocab/finding.h"

namespace driftwatch {
namespace {

namespace fs = std::filesystem;
using testing_kafka::WaitFor;

constexpr int kPartitions = 4;

std::string Binary() {
  const char* b = std::getenv("DW_BINARY");
  return b != nullptr ? b : "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child `driftwatch run`; stdout and stderr go to files.
class Service {
 public:
  Service(const std::vector<std::string>& args, const std::string& log_prefix)
      : out_(log_prefix + ".out"), err_(log_prefix + ".err") {
    pid_ = fork();
    if (pid_ == 0) {
      int o = open(out_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      int e = open(err_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> argv;
      std::string bin = Binary();
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  ~Service() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void Signal(int sig) { kill(pid_, sig); }
  // Exit status (or 128+signal), -1 on timeout.
  int Wait(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  bool running() {
    int status = 0;
    return !exited_ && waitpid(pid_, &status, WNOHANG) == 0;
  }
  std::string err() const { return ReadFile(err_); }
  bool Logged(const std::string& text) const { return err().find(text) != std::string::npos; }
  int MetricsPort() const {
    const std::string e = err();
    const size_t at = e.find("metrics-port: ");
    return at == std::string::npos ? 0 : std::atoi(e.c_str() + at + 14);
  }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

// HTTP status of GET path on 127.0.0.1:port, 0 when unreachable.
int HttpStatus(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return 0;
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, req.data(), req.size()) < 0) {
    close(fd);
    return 0;
  }
  char buf[64] = {};
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n < 12) return 0;
  return std::atoi(buf + 9);
}

struct StoredState {
  std::map<std::string, std::string> resources;
  std::map<std::string, std::string> findings;  // id -> FindingToJson
  int64_t history = 0;
  int64_t positions = 0;  // sum of next offsets over the partitions
};

// How two maps differ, briefly: counts and the first differing key ("" when equal).
std::string MapDifference(const std::map<std::string, std::string>& got,
                          const std::map<std::string, std::string>& want) {
  if (got == want) return "";
  int missing = 0, extra = 0, changed = 0;
  std::string first;
  for (const auto& [k, v] : want) {
    auto it = got.find(k);
    if (it == got.end()) {
      ++missing;
    } else if (it->second != v) {
      ++changed;
    } else {
      continue;
    }
    if (first.empty()) first = k;
  }
  for (const auto& [k, v] : got) {
    if (want.count(k) == 0 && ++extra == 1 && first.empty()) first = k;
  }
  return std::to_string(missing) + " missing, " + std::to_string(extra) + " extra, " +
         std::to_string(changed) + " different; first: " + first;
}

// `got` equals `want` in resources, findings, history size and positions.
void ExpectSameState(const StoredState& got, const StoredState& want, const std::string& what) {
  EXPECT_EQ(got.positions, want.positions) << what;
  EXPECT_EQ(MapDifference(got.resources, want.resources), "") << what << ": resources";
  EXPECT_EQ(MapDifference(got.findings, want.findings), "") << what << ": findings";
  EXPECT_EQ(got.history, want.history) << what << ": history entries";
}

StoredState ReadState(const std::string& dir) {
  StoredState s;
  RocksDbStoreOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  std::unique_ptr<RocksDbStore> store;
  Status st = RocksDbStore::Open(dir, options, &store);
  if (!st.ok()) {
    ADD_FAILURE() << st.message();
    return s;
  }
  EXPECT_TRUE(store
                  ->ScanResources([&](std::string_view k, std::string_view v) {
                    s.resources[std::string(k)] = std::string(v);
                    return true;
                  })
                  .ok());
  EXPECT_TRUE(store
                  ->ScanFindings([&](const Finding& f) {
                    s.findings[f.finding_id] = FindingToJson(f);
                    return true;
                  })
                  .ok());
  EXPECT_TRUE(store->ScanHistory("", [&](const HistoryEntry&) {
                     ++s.history;
                     return true;
                   })
                  .ok());
  for (int p = 0; p < kPartitions; ++p) {
    int64_t next = 0;
    Status got = store->GetPosition(KafkaPositionKey("ct", p), &next);
    EXPECT_TRUE(got.ok() || got.IsNotFound()) << got.ToString();
    if (got.ok()) s.positions += next;
  }
  return s;
}

class RunServiceTest : public ::testing::Test {
 protected:
  static bool svc_ready(const Service& svc) { return svc.Logged("Kafka reachable: ready"); }

  void SetUp() override {
    if (Binary().empty()) GTEST_SKIP() << "DW_BINARY is not set (run through ctest)";
    char tmpl[] = "/tmp/dw-run-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(EmbeddedBroker::Start(1, &broker_).ok());
    ASSERT_TRUE(broker_->CreateTopic("ct", kPartitions).ok());
    ASSERT_TRUE(broker_->CreateTopic("findings", 2).ok());
    KafkaProducerOptions po;
    po.brokers = broker_->bootstrap();
    // The mock leaves an idle connection to a downed broker open and silent: time requests out
    // quickly so the producer reconnects once the broker is back.
    po.properties = {{"socket.timeout.ms", "3000"}, {"request.timeout.ms", "3000"}};
    ASSERT_TRUE(KafkaProducer::Open(po, &producer_).ok());
  }
  void TearDown() override {
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
    if (HasFailure()) std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  }

  // Generated events [from, to) plus one undecodable record every 250.
  int Produce(int64_t from, int64_t to) {
    int records = 0;
    for (int64_t i = from; i < to; ++i) {
      const std::string e = gen_.Event(i);
      EXPECT_TRUE(producer_->Produce("ct", gen_.account(), e).ok());
      ++records;
      if (i % 250 == 249) {
        EXPECT_TRUE(producer_->Produce("ct", gen_.account(), "{\"truncated\": ").ok());
        ++records;
      }
    }
    EXPECT_TRUE(producer_->Flush(20000).ok());
    return records;
  }

  std::string WriteConfig(const std::string& name, const std::string& group, int batch_size,
                          const std::string& findings_topic = "",
                          const std::string& changelog_topic = "",
                          const std::string& state_keys = "") {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "kafka:\n"
                        << "  brokers: [\"" << broker_->bootstrap() << "\"]\n"
                        << "  topics: [ct]\n"
                        << "  group_id: " << group << "\n"
                        << (findings_topic.empty() ? "" : "  findings_topic: " + findings_topic + "\n")
                        << (changelog_topic.empty() ? ""
                                                    : "  changelog_topic: " + changelog_topic + "\n")
                        << "  batch_size: " << batch_size << "\n"
                        << "  batch_max_wait_ms: 50\n"
                        << "  properties:\n"
                        << "    session.timeout.ms: \"3000\"\n"
                        << "    heartbeat.interval.ms: \"100\"\n"
                        << "state:\n  path: " << dir_ << "/" << name << "-state\n"
                        << state_keys
                        << "metrics:\n  listen: 127.0.0.1:0\n"
                        << "findings:\n  stdout: false\n  path: " << dir_ << "/" << name
                        << "-findings.ndjson\n"
                        << "dead_letter:\n  path: " << dir_ << "/" << name << "-dead.ndjson\n";
    return path;
  }

  // The sum of the group's committed offsets over the partitions of "ct" (-1 on error). Asks
  // without joining the group.
  int64_t Committed(const std::string& group) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", broker_->bootstrap().c_str(), err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof(err));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == nullptr) return -1;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kPartitions);
    for (int p = 0; p < kPartitions; ++p) rd_kafka_topic_partition_list_add(list, "ct", p);
    int64_t committed = -1;
    if (rd_kafka_committed(rk, list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      committed = 0;
      for (int p = 0; p < kPartitions; ++p) {
        committed += std::max<int64_t>(0, list->elems[p].offset);
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(rk);
    return committed;
  }

  // Runs to completion (idle exit) and returns the exit code.
  int RunToEnd(const std::string& name, const std::string& config) {
    Service svc({"run", "--config", config, "--exit-when-idle", "3"}, dir_ + "/" + name);
    const int rc = svc.Wait(60000);
    EXPECT_NE(rc, -1) << "did not end: " << svc.err();
    return rc;
  }

  std::string dir_;
  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<KafkaProducer> producer_;
  testing_gen::CloudTrailGen gen_;
};

TEST_F(RunServiceTest, EndToEndFromProduceToFindings) {
  const int records = Produce(0, 2000);
  const std::string config = WriteConfig("e2e", "g-e2e", 200, "findings");
  ASSERT_EQ(RunToEnd("e2e", config), 0) << ReadFile(dir_ + "/e2e.err");

  const StoredState s = ReadState(dir_ + "/e2e-state");
  EXPECT_EQ(s.positions, records);  // every record consumed, position stored with the state

  // The state rule's finding for each security group ends where the stream left the group.
  std::map<std::string, std::string> last_status;  // "account/sg" -> status
  std::ifstream findings(dir_ + "/e2e-findings.ndjson");
  std::string line;
  int lines = 0;
  while (std::getline(findings, line)) {
    ++lines;
    Finding f;
    ASSERT_TRUE(FindingFromJson(line, &f)) << line;
    if (f.rule_id != "network-sg-open-to-world") continue;
    last_status[f.resource.account + "/" + f.resource.id] =
        std::string(FindingStatusName(f.status));
  }
  int open_expected = 0;
  for (const auto& [group, open] : gen_.open_groups()) {
    ASSERT_TRUE(last_status.count(group)) << group << " never had a finding";
    EXPECT_EQ(last_status[group], open ? "open" : "resolved") << group;
    open_expected += open ? 1 : 0;
  }
  EXPECT_GT(open_expected, 0);
  EXPECT_LT(open_expected, static_cast<int>(gen_.open_groups().size()));

  // Undecodable records went to the dead-letter file; the stream moved on.
  std::ifstream dead(dir_ + "/e2e-dead.ndjson");
  int dead_lines = 0;
  while (std::getline(dead, line)) ++dead_lines;
  EXPECT_EQ(dead_lines, 2000 / 250);

  // The findings topic carries the same status changes, keyed by finding id.
  auto msgs = testing_kafka::ReadTopic(broker_->bootstrap(), "findings",
                                       static_cast<size_t>(lines), 15000);
  ASSERT_EQ(static_cast<int>(msgs.size()), lines);
  for (const auto& m : msgs) {
    Finding f;
    ASSERT_TRUE(FindingFromJson(m.value, &f));
    EXPECT_EQ(m.key, f.finding_id);
  }

  // Replay of the same topic from Kafka into a fresh state gives the same findings.
  const std::string replay_state = dir_ + "/replay-state";
  Service replay({"replay", "kafka://" + broker_->bootstrap() + "/ct", "--state", replay_state,
                  "--format", "ndjson", "--quiet"},
                 dir_ + "/replay");
  ASSERT_EQ(replay.Wait(60000), 0) << replay.err();
  const StoredState r = ReadState(replay_state);
  EXPECT_EQ(r.findings, s.findings);
  EXPECT_EQ(r.resources, s.resources);
}

TEST_F(RunServiceTest, SigkillAtRandomMomentsThenRestartEqualsAnUninterruptedRun) {
  // 250 days of event time with access keys aging and logins expiring: time-driven findings,
  // their evidence included, must not depend on where the kills fell.
  testing_gen::GenOptions options;
  options.ms_per_event = 3600 * 1000;
  options.identity = true;
  gen_ = testing_gen::CloudTrailGen(options);
  const int records = Produce(0, 6000);
  // Uninterrupted reference run.
  ASSERT_EQ(RunToEnd("ref", WriteConfig("ref", "g-ref", 100)), 0);
  const StoredState ref = ReadState(dir_ + "/ref-state");
  ASSERT_EQ(ref.positions, records);
  int key_age = 0;
  for (const auto& [id, text] : ref.findings) {
    key_age += text.find("\"rule_id\":\"identity-access-key-too-old\"") != std::string::npos;
  }
  EXPECT_GT(key_age, 0) << "the stream ages no access key";

  // Same stream, same batch size, own group and state: killed with SIGKILL mid-stream.
  const std::string config = WriteConfig("killed", "g-killed", 100);
  std::mt19937 rng(12345);
  int mid_stream_kills = 0;
  for (int round = 0; round < 3; ++round) {
    Service svc({"run", "--config", config}, dir_ + "/killed");
    ASSERT_TRUE(WaitFor([&] { return svc.Logged("Kafka reachable: ready"); }, 30000))
        << svc.err();
    // Readiness is logged when the partitions are assigned; records flow right after.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 600));
    svc.Signal(SIGKILL);
    ASSERT_EQ(svc.Wait(10000), 128 + SIGKILL);
    // Wait for the next one to be "ready" again by polling the log from a fresh offset.
    std::ofstream(dir_ + "/killed.err", std::ios::trunc);
    const StoredState partial = ReadState(dir_ + "/killed-state");
    if (partial.positions > 0 && partial.positions < records) ++mid_stream_kills;
  }
  ASSERT_EQ(RunToEnd("killed", config), 0);
  EXPECT_GT(mid_stream_kills, 0) << "no kill landed mid-stream; the test proved nothing";
  const StoredState after = ReadState(dir_ + "/killed-state");
  EXPECT_EQ(after.positions, ref.positions);
  EXPECT_EQ(after.resources, ref.resources);
  EXPECT_EQ(after.findings, ref.findings);
  EXPECT_EQ(after.history, ref.history);
}

// A member replaced by one with an empty state directory continues with the state the group
// built, and a member that comes back takes in what others changed meanwhile: each step's state
// equals an uninterrupted single run's over the same records.
TEST_F(RunServiceTest, ChangelogHandsStateOverBetweenMembersOfAGroup) {
  ASSERT_TRUE(broker_->CreateTopic("ct-changelog", kPartitions).ok());
  auto restored_of = [&](const std::string& name) {
    // "changelog: N record(s) restored for ..." lines of one run's log, summed.
    std::istringstream log(ReadFile(dir_ + "/" + name + ".err"));
    std::string line;
    int64_t n = 0;
    const std::string marker = "changelog: ";
    while (std::getline(log, line)) {
      const size_t at = line.find(marker);
      if (at != std::string::npos && line.find("restored for", at) != std::string::npos) {
        n += std::atoll(line.c_str() + at + marker.size());
      }
    }
    return n;
  };
  const std::string ref_config = WriteConfig("ref", "g-ref", 100);
  int records = Produce(0, 3000);

  // Member A alone takes the first part.
  ASSERT_EQ(RunToEnd("a", WriteConfig("a", "g-ho", 100, "", "ct-changelog")), 0)
      << ReadFile(dir_ + "/a.err");
  EXPECT_EQ(restored_of("a"), 0) << "nothing to restore yet";

  // A is gone; B joins with an empty state directory and takes the second part (a third of the
  // first, so that what B adds to the changelog is less than what it restores).
  records += Produce(3000, 4000);
  ASSERT_EQ(RunToEnd("b", WriteConfig("b", "g-ho", 100, "", "ct-changelog")), 0)
      << ReadFile(dir_ + "/b.err");
  const int64_t b_restored = restored_of("b");
  EXPECT_GT(b_restored, 0) << ReadFile(dir_ + "/b.err");
  ASSERT_EQ(RunToEnd("ref", ref_config), 0);
  StoredState ref = ReadState(dir_ + "/ref-state");
  ASSERT_EQ(ref.positions, records);
  ExpectSameState(ReadState(dir_ + "/b-state"), ref, "B after taking over from A");

  // A comes back for the third part: it reads only what B wrote since A left.
  records += Produce(4000, 6000);
  ASSERT_EQ(RunToEnd("a2", WriteConfig("a", "g-ho", 100, "", "ct-changelog")), 0)
      << ReadFile(dir_ + "/a2.err");
  const int64_t a_restored = restored_of("a2");
  EXPECT_GT(a_restored, 0);
  EXPECT_LT(a_restored, b_restored) << "A read the whole changelog, not what changed";
  ASSERT_EQ(RunToEnd("ref", ref_config), 0);
  ref = ReadState(dir_ + "/ref-state");
  ASSERT_EQ(ref.positions, records);
  ExpectSameState(ReadState(dir_ + "/a-state"), ref, "A after coming back");
}

// Two running members: B joins while A consumes, A leaves while B consumes, records arriving
// all along. Every finding status change is emitted once by one of them, and a third member
// with an empty state directory, given every partition afterwards, holds what an uninterrupted
// single run holds.
TEST_F(RunServiceTest, ChangelogKeepsTheGroupsStateWholeThroughRebalances) {
  // An hour of event time between records (208 days in all) and identity calls among the
  // writes: access keys age past the limit, are deleted, and logins without MFA open event
  // findings that expire. Time-driven findings must not depend on which member fired them.
  testing_gen::GenOptions options;
  options.ms_per_event = 3600 * 1000;
  options.identity = true;
  gen_ = testing_gen::CloudTrailGen(options);
  ASSERT_TRUE(broker_->CreateTopic("ct-changelog", kPartitions).ok());
  int records = Produce(0, 1500);
  Service a({"run", "--config", WriteConfig("a", "g-live", 50, "", "ct-changelog")},
            dir_ + "/a");
  ASSERT_TRUE(WaitFor([&] { return svc_ready(a); }, 30000)) << a.err();
  records += Produce(1500, 2500);
  Service b({"run", "--config", WriteConfig("b", "g-live", 50, "", "ct-changelog")},
            dir_ + "/b");
  ASSERT_TRUE(WaitFor([&] { return svc_ready(b); }, 30000)) << b.err();
  for (int64_t i = 2500; i < 4000; i += 250) {
    records += Produce(i, i + 250);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  a.Signal(SIGTERM);
  for (int64_t i = 4000; i < 5000; i += 250) {
    records += Produce(i, i + 250);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(a.Wait(15000), 0) << a.err();
  ASSERT_TRUE(WaitFor([&] { return Committed("g-live") == records; }, 60000))
      << "committed " << Committed("g-live") << " of " << records << "\n" << b.err();
  b.Signal(SIGTERM);
  ASSERT_EQ(b.Wait(15000), 0) << b.err();
  EXPECT_TRUE(b.Logged("record(s) restored for")) << b.err();
  EXPECT_GT(ReadState(dir_ + "/a-state").positions, 0) << "A consumed nothing";

  ASSERT_EQ(RunToEnd("ref", WriteConfig("ref", "g-ref", 100)), 0);
  const StoredState ref = ReadState(dir_ + "/ref-state");
  ASSERT_EQ(ref.positions, records);
  ASSERT_EQ(RunToEnd("c", WriteConfig("c", "g-live", 100, "", "ct-changelog")), 0);
  ExpectSameState(ReadState(dir_ + "/c-state"), ref, "C restored from the changelog");

  // Status changes: A's and B's together are the reference run's, each once.
  auto lines_of = [&](const std::string& path) {
    std::multiset<std::string> lines;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) lines.insert(line);
    return lines;
  };
  std::multiset<std::string> emitted = lines_of(dir_ + "/a-findings.ndjson");
  for (const std::string& l : lines_of(dir_ + "/b-findings.ndjson")) emitted.insert(l);
  const std::multiset<std::string> want = lines_of(dir_ + "/ref-findings.ndjson");
  EXPECT_GT(want.size(), 0u);
  EXPECT_EQ(emitted.size(), want.size()) << "status changes lost or emitted twice";
  EXPECT_TRUE(emitted == want);
  int too_old = 0, expired = 0;
  for (const std::string& l : want) {
    too_old += l.find("\"rule_id\":\"identity-access-key-too-old\"") != std::string::npos;
    expired += l.find("\"resolution\":\"expired\"") != std::string::npos;
  }
  EXPECT_GT(too_old, 0) << "the stream ages no access key";
  EXPECT_GT(expired, 0) << "no event finding expired";
  int shown = 0;
  for (const std::string& l : want) {
    if (emitted.count(l) == 0 && ++shown <= 5) ADD_FAILURE() << "missing from A and B: " << l;
  }
  shown = 0;
  for (const std::string& l : emitted) {
    if (want.count(l) == 0 && ++shown <= 5) ADD_FAILURE() << "not in the reference: " << l;
  }
  EXPECT_TRUE(lines_of(dir_ + "/c-findings.ndjson").empty()) << "restoring emitted findings";
}

// Retention in the service: a stream across more than the horizons keeps the reference run's
// resources and findings (emitting the same status changes), less history, and the state says
// when a question reaches past the history horizon (exit 3); 0 keeps everything.
TEST_F(RunServiceTest, RetentionKeepsDocumentsAndFindingsAndDropsOldHistory) {
  testing_gen::GenOptions options;
  options.ms_per_event = 3600 * 1000;  // an hour of event time between records: 83 days
  options.identity = true;
  gen_ = testing_gen::CloudTrailGen(options);
  Produce(0, 2000);
  const std::string keep_all =
      "  history_retention_days: 0\n  activity_retention_days: 0\n";
  ASSERT_EQ(RunToEnd("ref", WriteConfig("ref", "g-ref", 100, "", "", keep_all)), 0);
  const std::string short_retention =
      "  history_retention_days: 30\n  activity_retention_days: 10\n";
  ASSERT_EQ(RunToEnd("ret", WriteConfig("ret", "g-ret", 100, "", "", short_retention)), 0);
  const std::string log = ReadFile(dir_ + "/ret.err");
  EXPECT_NE(log.find("retention: history 30 days, activity index 10 days"), std::string::npos)
      << log;
  EXPECT_NE(log.find("retention: dropped "), std::string::npos) << log;
  EXPECT_EQ(ReadFile(dir_ + "/ref.err").find("retention: dropped "), std::string::npos);

  const StoredState ref = ReadState(dir_ + "/ref-state");
  const StoredState ret = ReadState(dir_ + "/ret-state");
  EXPECT_EQ(ret.positions, ref.positions);
  EXPECT_EQ(MapDifference(ret.resources, ref.resources), "") << "current documents";
  EXPECT_EQ(MapDifference(ret.findings, ref.findings), "") << "findings";
  // The same status changes (in any order: partitions interleave differently from run to run).
  auto lines_of = [&](const std::string& path) {
    std::multiset<std::string> lines;
    std::istringstream in(ReadFile(path));
    for (std::string line; std::getline(in, line);) lines.insert(line);
    return lines;
  };
  EXPECT_TRUE(lines_of(dir_ + "/ret-findings.ndjson") == lines_of(dir_ + "/ref-findings.ndjson"));
  EXPECT_LT(ret.history, ref.history);
  EXPECT_GT(ret.history, 0);
  {
    // From the stored horizon on, `state --at` answers as the reference does. (Before it there
    // may be more than each resource's state at the horizon: partitions read at different
    // speeds write entries below a horizon just swept, dropped by the next sweep.)
    RocksDbStoreOptions ro;
    ro.create_if_missing = false;
    ro.read_only = true;
    std::unique_ptr<RocksDbStore> kept, whole;
    ASSERT_TRUE(RocksDbStore::Open(dir_ + "/ret-state", ro, &kept).ok());
    ASSERT_TRUE(RocksDbStore::Open(dir_ + "/ref-state", ro, &whole).ok());
    int64_t horizon = 0;
    ASSERT_TRUE(kept->GetPosition(kHistoryHorizonPosition, &horizon).ok());
    EXPECT_GT(horizon, options.start_ms);
    auto at = [](StateStore* store, int64_t t) {
      std::string out;
      EXPECT_TRUE(ScanResourcesAt(store, t, [&](std::string_view k, std::string_view d) {
        out.append(k).append(" ").append(d).append("\n");
        return true;
      }).ok());
      return out;
    };
    constexpr int64_t kDayMs = 24 * 3600 * 1000LL;
    for (int64_t t : {horizon, horizon + 3 * kDayMs, horizon + 20 * kDayMs}) {
      const std::string want = at(whole.get(), t);
      EXPECT_FALSE(want.empty());
      EXPECT_EQ(at(kept.get(), t), want) << "state at " << FormatTimestamp(t);
    }
  }

  // The first day is past the history horizon there, not in the reference.
  auto state_at = [&](const std::string& name, const std::string& at) {
    Service q({"state", "--state", dir_ + "/" + name + "-state", "--at", at},
              dir_ + "/" + name + "-at");
    return q.Wait(30000);
  };
  const std::string first_day = FormatTimestamp(options.start_ms + 12 * 3600 * 1000);
  EXPECT_EQ(state_at("ret", first_day), 3) << ReadFile(dir_ + "/ret-at.err");
  EXPECT_NE(ReadFile(dir_ + "/ret-at.err").find("before the history horizon"), std::string::npos);
  EXPECT_EQ(state_at("ref", first_day), 0) << ReadFile(dir_ + "/ref-at.err");
  EXPECT_EQ(state_at("ret", FormatTimestamp(options.start_ms + 80LL * 24 * 3600 * 1000)), 0);
}

// Time-driven checks survive a restart: a key created in the first run is found too old when a
// later run's events carry the event time past the limit.
TEST_F(RunServiceTest, AccessKeyAgeIsCheckedAfterARestart) {
  std::ifstream scenario(std::string(DW_SOURCE_DIR) + "/tests/data/incident/scenario.ndjson");
  std::string line, create_key;
  while (std::getline(scenario, line)) {
    if (line.find("\"eventName\":\"CreateAccessKey\"") != std::string::npos &&
        line.find("\"eventTime\":\"2026-10-01T10:02:10Z\"") != std::string::npos) {
      create_key = line;
    }
  }
  ASSERT_FALSE(create_key.empty());
  ASSERT_TRUE(producer_->Produce("ct", "111122223333", create_key).ok());
  ASSERT_TRUE(producer_->Flush(10000).ok());
  const std::string config = WriteConfig("age", "g-age", 100);
  ASSERT_EQ(RunToEnd("age", config), 0) << ReadFile(dir_ + "/age.err");
  const std::string rule = "\"rule_id\":\"identity-access-key-too-old\"";
  EXPECT_EQ(ReadFile(dir_ + "/age-findings.ndjson").find(rule), std::string::npos)
      << "a key one day old is not too old";

  // 106 days after the key was made (policy.access_key_max_age_days defaults to 90), an event
  // of the same account: an account's time-driven checks follow its own event-time clock.
  testing_gen::GenOptions later;
  later.start_ms = 1799971200000;  // 2027-01-15T00:00:00Z
  testing_gen::CloudTrailGen gen(later);
  std::string event = gen.Event(0);
  for (size_t at = event.find(gen.account()); at != std::string::npos;
       at = event.find(gen.account(), at)) {
    event.replace(at, gen.account().size(), "111122223333");
  }
  ASSERT_TRUE(producer_->Produce("ct", "111122223333", event).ok());
  ASSERT_TRUE(producer_->Flush(10000).ok());
  ASSERT_EQ(RunToEnd("age2", config), 0) << ReadFile(dir_ + "/age2.err");
  const std::string findings = ReadFile(dir_ + "/age-findings.ndjson");
  EXPECT_NE(findings.find(rule), std::string::npos) << findings;
}

TEST_F(RunServiceTest, SigtermDrainsCommitsAndExitsZero) {
  Produce(0, 3000);
  Service svc({"run", "--config", WriteConfig("term", "g-term", 50)}, dir_ + "/term");
  ASSERT_TRUE(WaitFor([&] { return svc.Logged("Kafka reachable: ready"); }, 30000)) << svc.err();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto sent = std::chrono::steady_clock::now();
  svc.Signal(SIGTERM);
  ASSERT_EQ(svc.Wait(10000), 0) << svc.err();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(5));
  const StoredState s = ReadState(dir_ + "/term-state");
  EXPECT_GT(s.positions, 0);

  // The group's committed offsets equal the stored positions: the last batch was committed.
  EXPECT_EQ(Committed("g-term"), s.positions);
}

TEST_F(RunServiceTest, BrokerOutageNotReadyThenReconnectsAndLosesNothing) {
  int records = Produce(0, 500);
  Service svc({"run", "--config", WriteConfig("outage", "g-outage", 100)}, dir_ + "/outage");
  ASSERT_TRUE(WaitFor([&] { return svc.MetricsPort() > 0; }, 30000)) << svc.err();
  const int port = svc.MetricsPort();
  ASSERT_TRUE(WaitFor([&] { return HttpStatus(port, "/readyz") == 200; }, 30000)) << svc.err();
  EXPECT_EQ(HttpStatus(port, "/healthz"), 200);
  // The state can be read while the service writes it (read-only open).
  const std::string state = dir_ + "/outage-state";
  ASSERT_TRUE(WaitFor([&] { return ReadState(state).positions == records; }, 30000));

  ASSERT_TRUE(broker_->SetDown(true).ok());
  ASSERT_TRUE(WaitFor([&] { return HttpStatus(port, "/readyz") == 503; }, 30000)) << svc.err();
  EXPECT_EQ(HttpStatus(port, "/healthz"), 200);
  EXPECT_TRUE(svc.running());
  // Produced while the broker is away: delivered when it is back.
  for (int64_t i = 500; i < 800; ++i) {
    const std::string e = gen_.Event(i);
    ASSERT_TRUE(producer_->Produce("ct", gen_.account(), e).ok());
    ++records;
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE(broker_->SetDown(false).ok());
  ASSERT_TRUE(producer_->Flush(30000).ok());
  ASSERT_TRUE(WaitFor([&] { return HttpStatus(port, "/readyz") == 200; }, 30000)) << svc.err();
  // Everything produced, before and during the outage, is in the state; nothing twice.
  EXPECT_TRUE(WaitFor([&] { return ReadState(state).positions == records; }, 30000));
  EXPECT_TRUE(svc.running());
  svc.Signal(SIGTERM);
  ASSERT_EQ(svc.Wait(15000), 0) << svc.err();
  const StoredState s = ReadState(state);
  EXPECT_EQ(s.positions, records);
}

TEST_F(RunServiceTest, BadConfigIsReportedWithEveryProblemAndExit2) {
  const std::string path = dir_ + "/bad.yaml";
  std::ofstream(path) << "kafka:\n  batch_size: 0\n  topicz: [x]\nmetrics:\n  listen: nowhere\n";
  Service svc({"run", "--config", path}, dir_ + "/bad");
  ASSERT_EQ(svc.Wait(10000), 2);
  const std::string err = svc.err();
  EXPECT_NE(err.find(path + ":2: kafka.batch_size"), std::string::npos) << err;
  EXPECT_NE(err.find(path + ":3: kafka.topicz"), std::string::npos) << err;
  EXPECT_NE(err.find(path + ":5: metrics.listen"), std::string::npos) << err;
}

}  // namespace
}  // namespace driftwatch
