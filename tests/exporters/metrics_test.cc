// The metrics probe and server, scraped over real HTTP on loopback.

#include "exporters/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace driftwatch {
namespace {

struct HttpResponse {
  int status = 0;
  std::string headers;
  std::string body;
};

// One HTTP/1.0 request to 127.0.0.1:port; reads until the server closes. Bounded by a 5 s
// receive timeout.
HttpResponse Get(int port, const std::string& path, const std::string& extra_headers = "",
                 const std::string& method = "GET") {
  HttpResponse r;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return r;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return r;
  }
  const std::string req =
      method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
  if (send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return r;
  }
  std::string raw;
  char buf[8192];
  for (int i = 0; i < 100000; ++i) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 7, "HTTP/1.") != 0) {
    r.body = raw;  // for the failure message
    return r;
  }
  r.status = std::atoi(raw.c_str() + 9);
  r.headers = raw.substr(0, head_end);
  r.body = raw.substr(head_end + 4);
  return r;
}

// Parsed exposition text: "name{k="v",...}" -> value, labels kept in the serializer's order
// (sorted by name), so lookups spell them sorted.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

double Value(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  if (it == m.end()) {
    ADD_FAILURE() << "series not exported: " << series;
    return -1;
  }
  return it->second;
}

Event MakeEvent(EventKind kind, std::string source, std::string account, int64_t time_ms) {
  Event e;
  e.kind = kind;
  e.event_source = std::move(source);
  e.account = std::move(account);
  e.time_ms = time_ms;
  return e;
}

Finding MakeFinding(std::string id, Category c, Severity s, std::string account) {
  Finding f;
  f.finding_id = std::move(id);
  f.rule_id = "test-rule";
  f.category = c;
  f.severity = s;
  f.resource.account = std::move(account);
  return f;
}

Finding Resolved(Finding f) {
  f.status = FindingStatus::kResolved;
  f.resolution = Resolution::kState;
  return f;
}

// An event finding (a point-in-time act): open until it expires or is closed by hand.
Finding AsEvent(Finding f) {
  f.kind = FindingKind::kEvent;
  return f;
}

Finding Expired(Finding f) {
  f.status = FindingStatus::kResolved;
  f.resolution = Resolution::kExpired;
  return f;
}

MetricsServerOptions ListenOn(std::string listen) {
  MetricsServerOptions o;
  o.listen = std::move(listen);
  return o;
}

MetricsServerOptions WithAuth(std::string user, std::string password_env) {
  MetricsServerOptions o = ListenOn("127.0.0.1:0");
  o.basic_auth_user = std::move(user);
  o.basic_auth_password_env = std::move(password_env);
  return o;
}

MetricsProbeOptions WithVersion(std::string version) {
  MetricsProbeOptions o;
  o.version = std::move(version);
  return o;
}

constexpr int64_t kNowMs = 1700000000000;  // 2023-11-14T22:13:20Z

class MetricsServerTest : public ::testing::Test {
 protected:
  void StartServer(MetricsServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    Status s = MetricsServer::Start(options, &probe_, &server_);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_GT(server_->port(), 0);
  }
  // Over HTTP when the test started a server (each costs ~2 s to stop: civetweb's poll quantum),
  // else straight from the registry the server would serve.
  std::map<std::string, double> Scrape() {
    if (!server_) return ParseMetrics(probe_.Serialize());
    HttpResponse r = Get(server_->port(), "/metrics");
    EXPECT_EQ(r.status, 200) << r.headers;
    return ParseMetrics(r.body);
  }

  MetricsProbe probe_{WithVersion("9.9.9-test")};
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, ScrapeCountsWhatWasFed) {
  StartServer();
  const std::string acct_a = "111122223333", acct_b = "444455556666";
  for (int i = 0; i < 3; ++i) {
    probe_.OnEventDecoded(
        MakeEvent(EventKind::kApiCall, "iam.amazonaws.com", acct_a, kNowMs - 10000 - i * 1000),
        "kafka:cloudtrail/0");
  }
  probe_.OnEventDecoded(
      MakeEvent(EventKind::kConfigItem, "config.amazonaws.com", acct_b, kNowMs - 600000),
      "kafka:config/1");
  probe_.OnInvalidRecord("not_json");
  probe_.OnInvalidRecord("not_json");
  probe_.OnInvalidRecord("unknown_envelope");
  probe_.OnDuplicateEvent();
  probe_.OnBatchDone(0.02, kNowMs);

  auto m = Scrape();
  EXPECT_EQ(Value(m, R"(driftwatch_events_total{kind="api_call",source="iam.amazonaws.com"})"), 3);
  EXPECT_EQ(
      Value(m, R"(driftwatch_events_total{kind="config_item",source="config.amazonaws.com"})"), 1);
  EXPECT_EQ(Value(m, R"(driftwatch_invalid_records_total{reason="not_json"})"), 2);
  EXPECT_EQ(Value(m, R"(driftwatch_invalid_records_total{reason="unknown_envelope"})"), 1);
  EXPECT_EQ(Value(m, "driftwatch_duplicate_events_total"), 1);
  // Newest event time per account, in seconds; the out-of-order older events do not lower it.
  EXPECT_DOUBLE_EQ(Value(m, R"(driftwatch_last_event_timestamp_seconds{account="111122223333"})"),
                   (kNowMs - 10000) / 1000.0);
  EXPECT_DOUBLE_EQ(Value(m, R"(driftwatch_last_event_timestamp_seconds{account="444455556666"})"),
                   (kNowMs - 600000) / 1000.0);
  // Lags 10, 11, 12 s and 600 s.
  EXPECT_EQ(Value(m, "driftwatch_event_lag_seconds_count"), 4);
  EXPECT_DOUBLE_EQ(Value(m, "driftwatch_event_lag_seconds_sum"), 10 + 11 + 12 + 600);
  EXPECT_EQ(Value(m, R"(driftwatch_event_lag_seconds_bucket{le="5"})"), 0);
  EXPECT_EQ(Value(m, R"(driftwatch_event_lag_seconds_bucket{le="15"})"), 3);
  EXPECT_EQ(Value(m, R"(driftwatch_event_lag_seconds_bucket{le="600"})"), 4);
  EXPECT_EQ(Value(m, "driftwatch_batch_duration_seconds_count"), 1);
  EXPECT_EQ(Value(m, R"(driftwatch_batch_duration_seconds_bucket{le="0.01"})"), 0);
  EXPECT_EQ(Value(m, R"(driftwatch_batch_duration_seconds_bucket{le="0.025"})"), 1);
  EXPECT_EQ(Value(m, R"(driftwatch_build_info{version="9.9.9-test"})"), 1);
  // Finding counters exist at zero before any finding, so rate() and alerts see them.
  EXPECT_EQ(
      Value(
          m,
          R"(driftwatch_findings_total{category="logging",kind="posture",severity="critical",status="opened"})"),
      0);

  // A second batch only observes its own events.
  probe_.OnEventDecoded(MakeEvent(EventKind::kApiCall, "iam.amazonaws.com", acct_a, kNowMs),
                        "kafka:cloudtrail/0");
  probe_.OnBatchDone(0.001, kNowMs + 2000);
  m = Scrape();
  EXPECT_EQ(Value(m, "driftwatch_event_lag_seconds_count"), 5);
  EXPECT_DOUBLE_EQ(Value(m, "driftwatch_event_lag_seconds_sum"), 10 + 11 + 12 + 600 + 2);
  EXPECT_EQ(Value(m, R"(driftwatch_events_total{kind="api_call",source="iam.amazonaws.com"})"), 4);
}

TEST_F(MetricsServerTest, OpenGaugeGoesUpAndBackDown) {
  StartServer();
  const std::string open_series =
      R"(driftwatch_findings_open{account="111122223333",category="network",kind="posture",severity="high"})";
  const std::string opened =
      R"(driftwatch_findings_total{category="network",kind="posture",severity="high",status="opened"})";
  const std::string resolved =
      R"(driftwatch_findings_total{category="network",kind="posture",severity="high",status="resolved"})";
  Finding f = MakeFinding("f1", Category::kNetwork, Severity::kHigh, "111122223333");
  Finding g = MakeFinding("f2", Category::kNetwork, Severity::kHigh, "111122223333");

  probe_.OnFindingChanged(f, true);
  probe_.OnFindingChanged(g, true);
  auto m = Scrape();
  EXPECT_EQ(Value(m, open_series), 2);
  EXPECT_EQ(Value(m, opened), 2);

  // Emitted open again (e.g. a new matching event): not a second opening.
  probe_.OnFindingChanged(f, true);
  m = Scrape();
  EXPECT_EQ(Value(m, open_series), 2);
  EXPECT_EQ(Value(m, opened), 2);

  probe_.OnFindingChanged(Resolved(f), false);
  m = Scrape();
  EXPECT_EQ(Value(m, open_series), 1);
  EXPECT_EQ(Value(m, resolved), 1);

  probe_.OnFindingChanged(Resolved(g), false);
  probe_.OnFindingChanged(Resolved(g), false);  // resolved twice: the gauge never goes negative
  m = Scrape();
  EXPECT_EQ(Value(m, open_series), 0);
  EXPECT_EQ(Value(m, resolved), 3);
  EXPECT_EQ(Value(m, opened), 2);
}

TEST_F(MetricsServerTest, SeverityChangeWhileOpenMovesTheFinding) {
  Finding f = MakeFinding("f1", Category::kIdentity, Severity::kMedium, "111122223333");
  probe_.OnFindingChanged(f, true);
  f.severity = Severity::kCritical;
  probe_.OnFindingChanged(f, true);
  auto m = Scrape();
  EXPECT_EQ(
      Value(
          m,
          R"(driftwatch_findings_open{account="111122223333",category="identity",kind="posture",severity="medium"})"),
      0);
  EXPECT_EQ(
      Value(
          m,
          R"(driftwatch_findings_open{account="111122223333",category="identity",kind="posture",severity="critical"})"),
      1);
}

// Posture and event findings of one category, severity and account are separate series, so the
// alert that pages on standing drift clears when the drift is undone even while an event finding
// about the same act stays open until it expires.
TEST_F(MetricsServerTest, PostureAndEventFindingsAreSeparateSeries) {
  StartServer();
  const std::string open_posture =
      R"(driftwatch_findings_open{account="111122223333",category="logging",kind="posture",severity="critical"})";
  const std::string open_event =
      R"(driftwatch_findings_open{account="111122223333",category="logging",kind="event",severity="critical"})";
  const std::string total = R"(driftwatch_findings_total{category="logging",kind=")";
  const std::string posture_opened = total + R"(posture",severity="critical",status="opened"})";
  const std::string posture_resolved = total + R"(posture",severity="critical",status="resolved"})";
  const std::string event_opened = total + R"(event",severity="critical",status="opened"})";
  const std::string event_resolved = total + R"(event",severity="critical",status="resolved"})";

  // Every category x severity x kind x status counter exists at 0 from the start.
  auto m = Scrape();
  int totals = 0;
  for (const auto& [name, value] : m) {
    if (name.rfind("driftwatch_findings_total{", 0) == 0) {
      ++totals;
      EXPECT_EQ(value, 0) << name;
    }
  }
  EXPECT_EQ(totals, 6 * 5 * 2 * 2);
  EXPECT_EQ(m.count(open_posture) + m.count(open_event), 0u);  // no open series before a finding

  // StopLogging: the trail is not logging (posture) and the act itself (event).
  Finding posture = MakeFinding("p", Category::kLogging, Severity::kCritical, "111122223333");
  Finding event =
      AsEvent(MakeFinding("e", Category::kLogging, Severity::kCritical, "111122223333"));
  probe_.OnFindingChanged(posture, true);
  probe_.OnFindingChanged(event, true);
  m = Scrape();
  EXPECT_EQ(Value(m, open_posture), 1);
  EXPECT_EQ(Value(m, open_event), 1);
  EXPECT_EQ(Value(m, posture_opened), 1);
  EXPECT_EQ(Value(m, event_opened), 1);

  // StartLogging resolves the posture finding; the event finding stays open.
  probe_.OnFindingChanged(Resolved(posture), false);
  m = Scrape();
  EXPECT_EQ(Value(m, open_posture), 0);
  EXPECT_EQ(Value(m, open_event), 1);
  EXPECT_EQ(Value(m, posture_resolved), 1);
  EXPECT_EQ(Value(m, event_resolved), 0);

  // The event finding expires.
  probe_.OnFindingChanged(Expired(event), false);
  m = Scrape();
  EXPECT_EQ(Value(m, open_event), 0);
  EXPECT_EQ(Value(m, event_resolved), 1);
  EXPECT_EQ(Value(m, posture_opened), 1);
  EXPECT_EQ(Value(m, event_opened), 1);
}

TEST_F(MetricsServerTest, KindChangeWhileOpenMovesTheFinding) {
  // A finding stored before kinds existed reads back as posture; its rule may emit it as event.
  Finding f = MakeFinding("f1", Category::kIdentity, Severity::kHigh, "111122223333");
  probe_.InitOpenFindings({f});
  probe_.OnFindingChanged(AsEvent(f), true);
  auto m = Scrape();
  const std::string series =
      R"(driftwatch_findings_open{account="111122223333",category="identity",kind=")";
  EXPECT_EQ(Value(m, series + R"(posture",severity="high"})"), 0);
  EXPECT_EQ(Value(m, series + R"(event",severity="high"})"), 1);
  // Moving is not opening.
  EXPECT_EQ(
      Value(
          m,
          R"(driftwatch_findings_total{category="identity",kind="event",severity="high",status="opened"})"),
      0);
  probe_.OnFindingChanged(Expired(AsEvent(f)), false);
  m = Scrape();
  EXPECT_EQ(Value(m, series + R"(event",severity="high"})"), 0);
  EXPECT_EQ(Value(m, series + R"(posture",severity="high"})"), 0);
}

TEST_F(MetricsServerTest, OpenGaugeInitialisedFromStoredFindings) {
  Finding stale = MakeFinding("old", Category::kLogging, Severity::kCritical, "111122223333");
  probe_.OnFindingChanged(stale, true);  // from before the "restart": replaced by the init

  std::vector<Finding> stored = {
      MakeFinding("a", Category::kLogging, Severity::kCritical, "111122223333"),
      MakeFinding("b", Category::kLogging, Severity::kCritical, "111122223333"),
      Resolved(MakeFinding("c", Category::kLogging, Severity::kCritical, "111122223333")),
      MakeFinding("d", Category::kDataProtection, Severity::kLow, ""),
  };
  probe_.InitOpenFindings(stored);
  const std::string series =
      R"(driftwatch_findings_open{account="111122223333",category="logging",kind="posture",severity="critical"})";
  auto m = Scrape();
  EXPECT_EQ(Value(m, series), 2);
  EXPECT_EQ(
      Value(
          m,
          R"(driftwatch_findings_open{account="unknown",category="data-protection",kind="posture",severity="low"})"),
      1);
  // Initial state is not a status change.
  EXPECT_EQ(
      Value(
          m,
          R"(driftwatch_findings_total{category="logging",kind="posture",severity="critical",status="opened"})"),
      1);

  // The stream later resolves a finding opened before the restart: the gauge follows.
  probe_.OnFindingChanged(Resolved(stored[0]), false);
  m = Scrape();
  EXPECT_EQ(Value(m, series), 1);
}

// Just enough of a store to hand the probe stored findings and resource keys.
class ListStore : public StateStore {
 public:
  std::vector<std::pair<std::string, std::string>> resources;
  std::vector<Finding> findings;
  Status GetResource(std::string_view, std::string*) override { return Unused(); }
  Status HasSeenEvent(std::string_view, bool*) override { return Unused(); }
  Status GetFinding(std::string_view, Finding*) override { return Unused(); }
  Status GetPosition(std::string_view, int64_t*) override { return Unused(); }
  Status Commit(const WriteSet&) override { return Unused(); }
  Status ScanResources(const std::function<bool(std::string_view, std::string_view)>& fn) override {
    for (const auto& [k, v] : resources) {
      if (!fn(k, v)) break;
    }
    return Status::Ok();
  }
  Status ScanHistory(std::string_view, const std::function<bool(const HistoryEntry&)>&) override {
    return Unused();
  }
  Status ScanFindings(const std::function<bool(const Finding&)>& fn) override {
    for (const Finding& f : findings) {
      if (!fn(f)) break;
    }
    return Status::Ok();
  }

 private:
  static Status Unused() { return Status::Error("not used by the probe"); }
};

TEST_F(MetricsServerTest, LoadFromStoreCountsResourcesAndOpenFindings) {
  ListStore store;
  store.resources = {
      {MakeResourceKey("111122223333", "us-east-1", "AWS::EC2::SecurityGroup", "sg-1"), "{}"},
      {MakeResourceKey("111122223333", "us-east-1", "AWS::EC2::SecurityGroup", "sg-2"), "{}"},
      {MakeResourceKey("111122223333", "global", "AWS::IAM::User", "alice"), "{}"},
  };
  store.findings = {
      MakeFinding("x", Category::kNetwork, Severity::kCritical, "111122223333"),
      Resolved(MakeFinding("y", Category::kNetwork, Severity::kCritical, "111122223333"))};
  // Event findings as the state keeps them (stored JSON read back): open ones count under
  // kind="event", expired ones not at all.
  for (Finding f :
       {AsEvent(MakeFinding("z", Category::kIdentity, Severity::kCritical, "111122223333")),
        Expired(
            AsEvent(MakeFinding("w", Category::kIdentity, Severity::kCritical, "111122223333")))}) {
    f.title = "t";
    f.resource.type = "AWS::IAM::User";
    f.resource.id = "root";
    f.first_seen_ms = f.last_seen_ms = kNowMs;
    if (f.status == FindingStatus::kResolved) f.resolved_at_ms = kNowMs;
    Finding read;
    ASSERT_TRUE(FindingFromJson(FindingToStoredJson(f), &read)) << FindingToStoredJson(f);
    ASSERT_EQ(read.kind, FindingKind::kEvent);
    store.findings.push_back(read);
  }
  Status s = probe_.LoadFromStore(store);
  ASSERT_TRUE(s.ok()) << s.message();
  auto m = Scrape();
  EXPECT_EQ(Value(m, R"(driftwatch_resources{type="AWS::EC2::SecurityGroup"})"), 2);
  EXPECT_EQ(Value(m, R"(driftwatch_resources{type="AWS::IAM::User"})"), 1);
  EXPECT_EQ(
      Value(
          m,
          R"(driftwatch_findings_open{account="111122223333",category="network",kind="posture",severity="critical"})"),
      1);
  EXPECT_EQ(
      Value(
          m,
          R"(driftwatch_findings_open{account="111122223333",category="identity",kind="event",severity="critical"})"),
      1);
  EXPECT_EQ(
      m.count(
          R"(driftwatch_findings_open{account="111122223333",category="identity",kind="posture",severity="critical"})"),
      0u);

  // A later census replaces the earlier one; types that vanished go to zero.
  probe_.OnResourceCounts({{"AWS::IAM::User", 5}});
  m = Scrape();
  EXPECT_EQ(Value(m, R"(driftwatch_resources{type="AWS::EC2::SecurityGroup"})"), 0);
  EXPECT_EQ(Value(m, R"(driftwatch_resources{type="AWS::IAM::User"})"), 5);
}

TEST_F(MetricsServerTest, KafkaLagAndStateSize) {
  probe_.OnKafkaLag("cloudtrail", 3, 1200);
  probe_.OnKafkaLag("cloudtrail", 3, 40);
  probe_.OnKafkaLag("config", 0, 7);
  const auto dir = std::filesystem::path(::testing::TempDir()) / "dw_metrics_size";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "sub");
  std::ofstream(dir / "a.sst") << std::string(1000, 'x');
  std::ofstream(dir / "sub" / "b.log") << std::string(24, 'y');
  probe_.OnStateSize(DirectorySizeBytes(dir.string()));
  std::filesystem::remove_all(dir);
  EXPECT_EQ(DirectorySizeBytes(dir.string()), 0);

  auto m = Scrape();
  EXPECT_EQ(Value(m, R"(driftwatch_kafka_consumer_lag{partition="3",topic="cloudtrail"})"), 40);
  EXPECT_EQ(Value(m, R"(driftwatch_kafka_consumer_lag{partition="0",topic="config"})"), 7);
  EXPECT_EQ(Value(m, "driftwatch_state_size_bytes"), 1024);
}

TEST_F(MetricsServerTest, ChangelogTotalsAreCountedByHowMuchTheyGrew) {
  auto m = Scrape();
  EXPECT_EQ(Value(m, R"(driftwatch_changelog_records_total{direction="produced"})"), 0);
  probe_.OnChangelog(5, 0);
  probe_.OnChangelog(12, 300);
  probe_.OnChangelog(12, 300);  // no growth, nothing counted
  m = Scrape();
  EXPECT_EQ(Value(m, R"(driftwatch_changelog_records_total{direction="produced"})"), 12);
  EXPECT_EQ(Value(m, R"(driftwatch_changelog_records_total{direction="restored"})"), 300);
}

TEST_F(MetricsServerTest, RetentionDropsAreCountedByFamily) {
  auto m = Scrape();
  EXPECT_EQ(Value(m, R"(driftwatch_retention_dropped_total{family="history"})"), 0);
  EXPECT_EQ(Value(m, R"(driftwatch_retention_dropped_total{family="activity"})"), 0);
  probe_.OnRetention(7, 40);
  probe_.OnRetention(0, 2);
  m = Scrape();
  EXPECT_EQ(Value(m, R"(driftwatch_retention_dropped_total{family="history"})"), 7);
  EXPECT_EQ(Value(m, R"(driftwatch_retention_dropped_total{family="activity"})"), 42);
}

TEST(MetricsProbeTest, CardinalityIsBounded) {
  MetricsProbeOptions options;
  options.max_accounts = 2;
  options.max_sources = 1;
  options.max_reasons = 1;
  options.max_resource_types = 1;
  options.max_partitions = 1;
  MetricsProbe probe(options);
  for (const char* account : {"000000000001", "000000000002", "000000000003", "000000000004"}) {
    probe.OnEventDecoded(MakeEvent(EventKind::kApiCall, "ec2.amazonaws.com", account, kNowMs), "");
    probe.OnFindingChanged(
        MakeFinding(std::string("f") + account, Category::kNetwork, Severity::kHigh, account),
        true);
  }
  // Event findings: the two known accounts keep their slots, the rest go to "other".
  for (const char* account : {"000000000002", "000000000003", "000000000004"}) {
    probe.OnFindingChanged(AsEvent(MakeFinding(std::string("e") + account, Category::kNetwork,
                                               Severity::kHigh, account)),
                           true);
  }
  probe.OnEventDecoded(MakeEvent(EventKind::kApiCall, "s3.amazonaws.com", "000000000001", 1), "");
  probe.OnInvalidRecord("a");
  probe.OnInvalidRecord("b");
  probe.OnInvalidRecord("c");
  probe.OnResourceCounts({{"AWS::S3::Bucket", 2}, {"AWS::IAM::Role", 3}, {"AWS::KMS::Key", 4}});
  probe.OnKafkaLag("t", 0, 1);
  probe.OnKafkaLag("t", 1, 1);
  probe.OnBatchDone(0.001, kNowMs);

  auto m = ParseMetrics(probe.Serialize());
  const std::string open = R"(driftwatch_findings_open{account=")";
  EXPECT_EQ(Value(m, open + R"(000000000001",category="network",kind="posture",severity="high"})"),
            1);
  EXPECT_EQ(Value(m, open + R"(000000000002",category="network",kind="posture",severity="high"})"),
            1);
  EXPECT_EQ(Value(m, open + R"(other",category="network",kind="posture",severity="high"})"), 2);
  EXPECT_EQ(m.count(open + R"(000000000003",category="network",kind="posture",severity="high"})"),
            0u);
  EXPECT_EQ(Value(m, open + R"(000000000002",category="network",kind="event",severity="high"})"),
            1);
  EXPECT_EQ(Value(m, open + R"(other",category="network",kind="event",severity="high"})"), 2);
  EXPECT_EQ(m.count(open + R"(000000000004",category="network",kind="event",severity="high"})"),
            0u);
  EXPECT_EQ(Value(m, R"(driftwatch_last_event_timestamp_seconds{account="other"})"),
            kNowMs / 1000.0);
  EXPECT_EQ(Value(m, R"(driftwatch_events_total{kind="api_call",source="ec2.amazonaws.com"})"), 4);
  EXPECT_EQ(Value(m, R"(driftwatch_events_total{kind="api_call",source="other"})"), 1);
  EXPECT_EQ(Value(m, R"(driftwatch_invalid_records_total{reason="a"})"), 1);
  EXPECT_EQ(Value(m, R"(driftwatch_invalid_records_total{reason="other"})"), 2);
  EXPECT_EQ(Value(m, R"(driftwatch_resources{type="AWS::S3::Bucket"})"), 2);
  EXPECT_EQ(Value(m, R"(driftwatch_resources{type="other"})"), 7);
  EXPECT_EQ(m.count(R"(driftwatch_kafka_consumer_lag{partition="1",topic="t"})"), 0u);

  int series = 0;
  for (const auto& [name, value] : m) series += name.rfind("driftwatch_findings_open", 0) == 0;
  EXPECT_EQ(series, 5);
}

TEST(MetricsProbeTest, OptionBoundsAreChecked) {
  EXPECT_TRUE(ValidateMetricsProbeOptions({}).ok());
  MetricsProbeOptions bad;
  bad.max_accounts = 0;
  bad.max_partitions = 0;
  Status s = ValidateMetricsProbeOptions(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("max_accounts"), std::string::npos);
  EXPECT_NE(s.message().find("max_partitions"), std::string::npos);
}

TEST_F(MetricsServerTest, HealthAndReadiness) {
  StartServer();
  EXPECT_EQ(Get(server_->port(), "/healthz").status, 200);
  EXPECT_EQ(Get(server_->port(), "/readyz").status, 503);
  server_->SetReady(true);
  HttpResponse r = Get(server_->port(), "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
  EXPECT_EQ(Get(server_->port(), "/readyz", "", "HEAD").status, 200);
  server_->SetReady(false);
  EXPECT_EQ(Get(server_->port(), "/readyz").status, 503);
  EXPECT_EQ(Get(server_->port(), "/healthz", "", "POST").status, 405);
  HttpResponse missing = Get(server_->port(), "/nothing-here");
  EXPECT_EQ(missing.status, 404) << missing.body;
}

TEST_F(MetricsServerTest, TwoServersKeepTheirOwnReadiness) {
  StartServer();
  MetricsProbe other_probe;
  std::unique_ptr<MetricsServer> other;
  ASSERT_TRUE(MetricsServer::Start(ListenOn("127.0.0.1:0"), &other_probe, &other).ok());
  other->SetReady(true);
  EXPECT_EQ(Get(other->port(), "/readyz").status, 200);
  EXPECT_EQ(Get(server_->port(), "/readyz").status, 503);
}

TEST_F(MetricsServerTest, BasicAuthRejectsAndAccepts) {
  ASSERT_EQ(setenv("DW_TEST_METRICS_PASSWORD", "s3cret pass", 1), 0);
  StartServer(WithAuth("prom", "DW_TEST_METRICS_PASSWORD"));
  probe_.OnDuplicateEvent();
  const int port = server_->port();

  HttpResponse none = Get(port, "/metrics");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.headers.find("WWW-Authenticate: Basic"), std::string::npos) << none.headers;
  EXPECT_EQ(none.body.find("driftwatch_"), std::string::npos);
  // base64("prom:wrong")
  EXPECT_EQ(Get(port, "/metrics", "Authorization: Basic cHJvbTp3cm9uZw==\r\n").status, 401);
  // base64("other:s3cret pass")
  EXPECT_EQ(Get(port, "/metrics", "Authorization: Basic b3RoZXI6czNjcmV0IHBhc3M=\r\n").status, 401);
  // base64("prom:s3cret pass")
  HttpResponse ok = Get(port, "/metrics", "Authorization: Basic cHJvbTpzM2NyZXQgcGFzcw==\r\n");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(Value(ParseMetrics(ok.body), "driftwatch_duplicate_events_total"), 1);
  // Orchestrator probes stay open.
  EXPECT_EQ(Get(port, "/healthz").status, 200);
  unsetenv("DW_TEST_METRICS_PASSWORD");
}

TEST(MetricsServerStartTest, RefusesBadSettings) {
  MetricsProbe probe;
  std::unique_ptr<MetricsServer> server;
  unsetenv("DW_TEST_UNSET_PASSWORD");
  Status s = MetricsServer::Start(WithAuth("prom", "DW_TEST_UNSET_PASSWORD"), &probe, &server);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("DW_TEST_UNSET_PASSWORD"), std::string::npos);
  EXPECT_EQ(server, nullptr);

  for (const char* listen : {"9464", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:80s",
                             "example.com:9464", "127.0.0.1:9464,0.0.0.0:9465", ":9464"}) {
    EXPECT_FALSE(MetricsServer::Start(ListenOn(listen), &probe, &server).ok()) << listen;
  }

  // A port already taken is an error, not a crash.
  std::unique_ptr<MetricsServer> first;
  ASSERT_TRUE(MetricsServer::Start(ListenOn("127.0.0.1:0"), &probe, &first).ok());
  const std::string taken = "127.0.0.1:" + std::to_string(first->port());
  s = MetricsServer::Start(ListenOn(taken), &probe, &server);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(taken), std::string::npos) << s.message();
}

// The exposition text passes Prometheus's own linter.
TEST_F(MetricsServerTest, PromtoolAcceptsTheScrape) {
  StartServer();
  probe_.OnEventDecoded(MakeEvent(EventKind::kApiCall, "iam.amazonaws.com", "111122223333", kNowMs),
                        "");
  probe_.OnInvalidRecord("not_json");
  probe_.OnFindingChanged(MakeFinding("f", Category::kLogging, Severity::kHigh, "111122223333"),
                          true);
  probe_.OnFindingChanged(
      AsEvent(MakeFinding("e", Category::kIdentity, Severity::kCritical, "111122223333")), true);
  probe_.OnKafkaLag("cloudtrail", 0, 3);
  probe_.OnBatchDone(0.01, kNowMs);
  HttpResponse r = Get(server_->port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  const std::string path = ::testing::TempDir() + "/dw_metrics_scrape.txt";
  std::ofstream(path) << r.body;
  const std::string cmd = "promtool check metrics < " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int rc = pclose(p);
  std::remove(path.c_str());
  EXPECT_EQ(rc, 0) << "promtool (installed by scripts/install-deps.sh) said:\n" << out;
}

}  // namespace
}  // namespace driftwatch
