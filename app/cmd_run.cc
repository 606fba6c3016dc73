// `driftwatch run [--config FILE]`: the live service. Kafka in (a consumer group), state in
// RocksDB (one WriteBatch per batch, with the Kafka positions), findings out (stdout / file /
// Kafka topic), metrics and health on the metrics listener. With no kafka.brokers it starts an
// embedded broker on loopback, for trying things out.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/flags.h"
#include "app/wiring.h"
#include "config/config.h"
#include "engine/pipeline.h"
#include "vocab/time_util.h"
#include "exporters/finding_sinks.h"
#include "exporters/metrics.h"
#include "exporters/ocsf.h"
#include "kafka/changelog.h"
#include "kafka/embedded_broker.h"
#include "kafka/kafka_producer.h"
#include "kafka/kafka_source.h"
#include "state/retention.h"
#include "vocab/resource_key.h"

namespace driftwatch::app {
namespace {

// How long a member waits, before it releases partitions, for its changelog records to arrive.
constexpr int kChangelogRevokeWaitMs = 30000;

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

void Log(const char* format, ...) __attribute__((format(printf, 1, 2)));
void Log(const char* format, ...) {
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s driftwatch: ", when);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Sends every dead letter to each of several sinks (file and topic).
class FanOutDeadLetters : public DeadLetterSink {
 public:
  void Add(DeadLetterSink* sink) { sinks_.push_back(sink); }
  bool empty() const { return sinks_.empty(); }
  Status Write(std::string_view bytes, std::string_view origin, std::string_view reason,
               std::string_view detail) override {
    for (DeadLetterSink* s : sinks_) {
      Status st = s->Write(bytes, origin, reason, detail);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

 private:
  std::vector<DeadLetterSink*> sinks_;
};

struct RunFlags {
  std::string config_path;
  std::string state_dir;
  std::string feed_path;
  std::string metrics_listen;
  bool metrics_listen_set = false;
  std::string print_format;  // --print: findings.format.stdout, "" = as configured
  double exit_when_idle_s = 0;
};

// Returns nothing to go on, or the exit code to return now (after --help or a usage error).
std::optional<int> ParseFlags(const Args& args, RunFlags* flags) {
  FlagParser parser("run", "the live service: Kafka in, findings and metrics out");
  parser
      .Flag({.name = "--config",
             .value = "FILE",
             .needs = "a file",
             .help = "service configuration (YAML; see config/driftwatch.example.yaml). Without "
                     "it: an embedded broker, a temporary state, the built-in rules, metrics on "
                     "127.0.0.1:9464"},
            &flags->config_path)
      .Flag({.name = "--state",
             .value = "DIR",
             .needs = "a directory",
             .help = "state directory (overrides state.path)"},
            &flags->state_dir)
      .Flag({.name = "--feed",
             .value = "FILE",
             .needs = "a file",
             .help = "produce FILE's records (NDJSON/JSON, keyed by account) to the first topic "
                     "before consuming: with the embedded broker, a one-command demo"},
            &flags->feed_path)
      .Choice({.name = "--print",
               .help = "findings on stdout as driftwatch (NDJSON, the default), ocsf (NDJSON) or "
                       "text (one line for people per status change and, at exit, what is still "
                       "open); overrides findings.stdout and findings.format.stdout"},
              {"driftwatch", "ocsf", "text"}, &flags->print_format)
      .Flag({.name = "--exit-when-idle",
             .value = "SECS",
             .needs = "seconds",
             .help = "exit 0 after SECS seconds without a record (demos, tests)"},
            [flags](const std::string& v) {
              char* end = nullptr;
              const double seconds = std::strtod(v.c_str(), &end);
              if (end == v.c_str() || *end != '\0' || !(seconds > 0) || seconds > 86400) {
                return "'" + v + "' is not a number of seconds (0..86400]";
              }
              flags->exit_when_idle_s = seconds;
              return std::string();
            })
      .Flag({.name = "--metrics-listen",
             .value = "ADDR",
             .needs = "host:port",
             .help = "overrides metrics.listen (host:port, port 0 = any free port; '' = no "
                     "listener)"},
            [flags](const std::string& v) {
              flags->metrics_listen = v;
              flags->metrics_listen_set = true;
              return std::string();
            })
      .Epilog("SIGTERM / SIGINT: the batch in hand is made durable and committed, then exit 0.");
  return parser.Parse(args);
}

// Counts resources by type from their keys.
std::vector<std::pair<std::string, int64_t>> ResourceCensus(StateStore& store) {
  std::map<std::string, int64_t> counts;
  store
      .ScanResources([&](std::string_view key, std::string_view) {
        ResourceKeyParts parts;
        if (ParseResourceKey(key, &parts)) ++counts[std::string(parts.type)];
        return true;
      })
      .IgnoreError();  // a census is best effort; the next one tries again
  return {counts.begin(), counts.end()};
}

// A temporary state directory, removed with all it holds when the service ends.
struct TempRemover {
  std::string path;
  ~TempRemover() {
    if (path.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

using Clock = std::chrono::steady_clock;

// The live service: Wire builds its pieces from the flags and the configuration, Loop feeds
// Kafka's batches through the pipeline until a signal, an error or --exit-when-idle, Shutdown
// commits, closes and says what was done. The pieces are declared in the order Wire builds
// them, so that they go in reverse: the source and the pipeline before the sinks, the rules and
// the store they write to, the temporary state directory and the embedded broker last.
struct Service {
  RunFlags flags;
  ServiceConfig cfg;
  bool text_stdout = false;  // findings.format {stdout: text}
  std::unique_ptr<EmbeddedBroker> embedded;
  std::string brokers;
  TempRemover remove_temp_state;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<ChangelogStore> changelog;
  StateStore* state = nullptr;  // the store, through the changelog when there is one
  std::unique_ptr<RuleEngine> rules;
  std::unique_ptr<MetricsProbe> probe;
  std::unique_ptr<MetricsServer> server;
  std::vector<FindingSink*> sinks;
  std::unique_ptr<FindingSink> stdout_sink;
  std::unique_ptr<NdjsonFindingSink> file_sink;
  std::unique_ptr<KafkaProducer> producer;
  std::unique_ptr<KafkaFindingSink> kafka_findings;
  FanOutDeadLetters dead_letters;
  std::unique_ptr<DeadLetterFile> dead_letter_file;
  std::unique_ptr<KafkaDeadLetterSink> dead_letter_topic;
  std::unique_ptr<EventDecoder> decoder;
  std::unique_ptr<Pipeline> pipeline;
  std::vector<PipelineRecord> records;  // Process's buffer, reused
  std::unique_ptr<KafkaSource> source;
  Status drain_status;  // of the batch processed before a rebalance
  RetentionOptions retention;
  RetentionResult last_retention;
  // With a changelog: the partitions this member owns, whose accounts' deadlines and retention
  // are its own.
  std::set<int32_t> owned_partitions;

  // The loop's clocks and state.
  Clock::time_point last_record{}, last_tick{}, last_census{};
  Clock::time_point first_record{}, newest_record{};  // for the rate line at exit
  int64_t first_batch_records = 0;
  bool ready = false;
  bool assigned = false;
  std::vector<RawRecord> batch;

  // Each returns the exit code to return now when the service cannot go on, else nothing.
  std::optional<int> Wire(const Args& args);
  std::optional<int> Configure();
  std::optional<int> StartKafka();
  std::optional<int> OpenState();
  std::optional<int> LoadRules();
  std::optional<int> StartMetrics();
  std::optional<int> OpenFindingSinks();
  std::optional<int> OpenDeadLetters();
  std::optional<int> Feed();
  void MakePipeline();
  std::optional<int> OpenSource();
  void ShareWithTheGroup();
  void SetUpRetention();

  int Loop();
  bool Turn(int* exit_code);
  bool ProcessBatchRead(Clock::time_point now);
  Status Process(const std::vector<RawRecord>& records_in);
  void UpdateReadiness();
  void EverySecond();
  Status Sweep();
  Status Restore(const std::vector<std::pair<std::string, int32_t>>& assigned_partitions);
  bool OwnsAccount(std::string_view account) const;

  int Shutdown(int exit_code);
  void LogTotals() const;
};

std::optional<int> Service::Wire(const Args& args) {
  if (auto done = ParseFlags(args, &flags)) return done;
  if (auto done = Configure()) return done;

  // Signals: stop after the batch in hand. SIGPIPE: a closed stdout is an error, not a death.
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Log("starting %s",
      cfg.file.empty() ? "with built-in defaults (no --config)" : ("with " + cfg.file).c_str());
  for (const auto& [k, v] : cfg.kafka.properties) {
    Log("kafka property %s = %s", k.c_str(), MaskedValue(k, v).c_str());
  }
  if (auto done = StartKafka()) return done;
  if (auto done = OpenState()) return done;
  if (auto done = LoadRules()) return done;
  if (auto done = StartMetrics()) return done;
  if (auto done = OpenFindingSinks()) return done;
  if (auto done = OpenDeadLetters()) return done;
  if (auto done = Feed()) return done;
  MakePipeline();
  if (auto done = OpenSource()) return done;
  SetUpRetention();
  return std::nullopt;
}

std::optional<int> Service::Configure() {
  if (!flags.config_path.empty()) {
    Status s = LoadServiceConfig(flags.config_path, &cfg);
    if (!s.ok()) {
      std::fprintf(stderr, "driftwatch run: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (!flags.state_dir.empty()) cfg.state_path = flags.state_dir;
  if (flags.metrics_listen_set) cfg.metrics.listen = flags.metrics_listen;
  if (!flags.print_format.empty()) {
    cfg.findings_stdout = true;
    cfg.findings_stdout_format = flags.print_format;
  }
  // findings.format {stdout: text}: lines for people, and what is still open at exit.
  text_stdout = cfg.findings_stdout && cfg.findings_stdout_format == "text";
  return std::nullopt;
}

// Kafka: the configured cluster, or the embedded broker.
std::optional<int> Service::StartKafka() {
  brokers = Join(cfg.kafka.brokers, ",");
  if (brokers.empty()) {
    Status s = EmbeddedBroker::Start(1, &embedded);
    std::vector<std::string> topics = cfg.kafka.topics;
    if (!cfg.kafka.findings_topic.empty()) topics.push_back(cfg.kafka.findings_topic);
    if (!cfg.dead_letter_topic.empty()) topics.push_back(cfg.dead_letter_topic);
    if (!cfg.kafka.changelog_topic.empty()) topics.push_back(cfg.kafka.changelog_topic);
    for (size_t i = 0; s.ok() && i < topics.size(); ++i) {
      s = embedded->CreateTopic(topics[i], cfg.kafka.embedded_partitions);
    }
    if (!s.ok()) {
      Log("%s", s.message().c_str());
      return 1;
    }
    brokers = embedded->bootstrap();
    Log("no kafka.brokers configured: started an EMBEDDED Kafka broker at %s, for trying "
        "driftwatch out (in memory, about 5 MB per partition, not for production)",
        brokers.c_str());
    Log("topics %s with %d partitions each; produce with: kcat -P -b %s -t %s -K '\\t'",
        Join(topics, ", ").c_str(), cfg.kafka.embedded_partitions, brokers.c_str(),
        cfg.kafka.topics[0].c_str());
    // One line on stdout-independent stderr that scripts can read: the bootstrap address.
    std::fprintf(stderr, "embedded-broker: %s\n", brokers.c_str());
    std::fflush(stderr);
  }
  Log("consuming %s from %s as group %s", Join(cfg.kafka.topics, ", ").c_str(), brokers.c_str(),
      cfg.kafka.group_id.c_str());
  return std::nullopt;
}

// State: the configured directory or a temporary one, and the changelog over it.
std::optional<int> Service::OpenState() {
  if (cfg.state_path.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/driftwatch-state-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) {
      Log("cannot create a temporary state directory under %s", pattern.c_str());
      return 1;
    }
    remove_temp_state.path = cfg.state_path = buf.data();
    Log("no state.path: state in temporary %s (removed at exit)", remove_temp_state.path.c_str());
  }
  if (Status s = OpenStateStore(cfg.state_path, &store); !s.ok()) {
    Log("state %s: %s", cfg.state_path.c_str(), s.message().c_str());
    return 1;
  }
  // State hand-over between group members: writes also go to the changelog topic.
  state = store.get();
  if (!cfg.kafka.changelog_topic.empty()) {
    ChangelogOptions co;
    co.brokers = brokers;
    co.topic = cfg.kafka.changelog_topic;
    co.source_topics = cfg.kafka.topics;
    co.properties = cfg.kafka.properties;
    if (Status s = ChangelogStore::Open(co, store.get(), &changelog); !s.ok()) {
      Log("kafka.changelog_topic: %s", s.message().c_str());
      return 1;
    }
    state = changelog.get();
    Log("state hand-over through changelog topic %s", co.topic.c_str());
  }
  return std::nullopt;
}

std::optional<int> Service::LoadRules() {
  std::vector<std::string> rule_paths =
      cfg.rules_paths.empty() ? DefaultRulePaths() : cfg.rules_paths;
  {
    std::vector<std::string> problems;
    Status s = MakeRuleEngine(rule_paths, cfg.policy, &rules, &problems);
    if (!s.ok()) {
      Log("rules: %s", s.message().c_str());
      for (const std::string& p : problems) std::fprintf(stderr, "  %s\n", p.c_str());
      return 2;
    }
  }
  // Time-driven checks (access key age) of the resources already in state.
  if (Status s = PrimeRuleEngine(rules.get(), state); !s.ok()) {
    Log("rules: scheduling time-driven checks: %s", s.message().c_str());
    return 1;
  }
  return std::nullopt;
}

std::optional<int> Service::StartMetrics() {
  MetricsProbeOptions probe_options;
  probe_options.version = DW_VERSION;
  probe = std::make_unique<MetricsProbe>(probe_options);
  if (Status s = probe->LoadFromStore(*store); !s.ok()) {
    Log("metrics: reading stored findings: %s", s.message().c_str());
  }
  if (cfg.metrics.listen.empty()) return std::nullopt;
  MetricsServerOptions server_options;
  server_options.listen = cfg.metrics.listen;
  server_options.basic_auth_user = cfg.metrics.basic_auth_username;
  if (!cfg.metrics.basic_auth_password_env.empty()) {
    server_options.basic_auth_password_env = cfg.metrics.basic_auth_password_env;
  }
  if (Status s = MetricsServer::Start(server_options, probe.get(), &server); !s.ok()) {
    Log("metrics listener %s: %s", cfg.metrics.listen.c_str(), s.message().c_str());
    return 1;
  }
  const size_t colon = cfg.metrics.listen.rfind(':');
  Log("metrics on http://%s:%d/metrics (also /healthz, /readyz)",
      cfg.metrics.listen.substr(0, colon).c_str(), server->port());
  std::fprintf(stderr, "metrics-port: %d\n", server->port());
  std::fflush(stderr);
  return std::nullopt;
}

// Findings: stdout, a file, a Kafka topic, each in the format findings.format names for it
// (validated by the config loader; "text" only for stdout). The producer serves the findings
// topic, the dead-letter topic and --feed.
std::optional<int> Service::OpenFindingSinks() {
  auto format_of = [](const std::string& name) {
    FindingFormat f = FindingFormat::kDriftwatch;
    ParseFindingFormat(name, &f);
    return f;
  };
  const FindingFormat stdout_format = format_of(cfg.findings_stdout_format);
  const FindingFormat file_format = format_of(cfg.findings_file_format);
  const FindingFormat kafka_format = format_of(cfg.findings_kafka_format);
  if (text_stdout) {
    stdout_sink = std::make_unique<TextFindingSink>(stdout);
    sinks.push_back(stdout_sink.get());
  } else if (cfg.findings_stdout) {
    stdout_sink = std::make_unique<NdjsonFindingSink>(stdout, stdout_format);
    sinks.push_back(stdout_sink.get());
  }
  if (!cfg.findings_path.empty()) {
    if (Status s = NdjsonFindingSink::OpenFile(cfg.findings_path, &file_sink, file_format);
        !s.ok()) {
      Log("findings.path: %s", s.message().c_str());
      return 1;
    }
    sinks.push_back(file_sink.get());
  }
  if (!cfg.kafka.findings_topic.empty() || !cfg.dead_letter_topic.empty() ||
      !flags.feed_path.empty()) {
    KafkaProducerOptions po;
    po.brokers = brokers;
    po.properties = cfg.kafka.properties;
    if (Status s = KafkaProducer::Open(po, &producer); !s.ok()) {
      Log("%s", s.message().c_str());
      return 1;
    }
  }
  if (!cfg.kafka.findings_topic.empty()) {
    kafka_findings = std::make_unique<KafkaFindingSink>(
        producer.get(), cfg.kafka.findings_topic,
        [kafka_format](const Finding& f) { return FindingText(f, kafka_format); });
    sinks.push_back(kafka_findings.get());
    Log("findings to Kafka topic %s (keyed by finding_id, format %s)",
        cfg.kafka.findings_topic.c_str(), std::string(FindingFormatName(kafka_format)).c_str());
  }
  return std::nullopt;
}

std::optional<int> Service::OpenDeadLetters() {
  if (!cfg.dead_letter_path.empty()) {
    if (Status s = DeadLetterFile::Open(cfg.dead_letter_path, &dead_letter_file); !s.ok()) {
      Log("dead_letter.path: %s", s.message().c_str());
      return 1;
    }
    dead_letters.Add(dead_letter_file.get());
  }
  if (!cfg.dead_letter_topic.empty()) {
    dead_letter_topic = std::make_unique<KafkaDeadLetterSink>(producer.get(), cfg.dead_letter_topic,
                                                              DeadLetterJson);
    dead_letters.Add(dead_letter_topic.get());
  }
  return std::nullopt;
}

// --feed: a file's records produced into the first topic.
std::optional<int> Service::Feed() {
  if (flags.feed_path.empty()) return std::nullopt;
  int64_t fed = 0;
  if (Status s = ProduceFile(producer.get(), cfg.kafka.topics[0], flags.feed_path, &fed);
      !s.ok()) {
    Log("--feed: %s", s.message().c_str());
    return 2;
  }
  Log("fed %lld record(s) from %s into topic %s", static_cast<long long>(fed),
      flags.feed_path.c_str(), cfg.kafka.topics[0].c_str());
  return std::nullopt;
}

void Service::MakePipeline() {
  decoder = MakeDecoder();
  PipelineParts parts;
  parts.decoder = decoder.get();
  parts.store = state;
  parts.route_sources = changelog != nullptr;
  parts.rules = rules.get();
  parts.sinks = sinks;
  parts.dead_letter = dead_letters.empty() ? nullptr : &dead_letters;
  parts.probe = probe.get();
  parts.cache_bytes = static_cast<size_t>(cfg.cache_mb) << 20;  // state.cache_mb
  parts.record_activity = cfg.activity_index;  // state.activity_index, for `driftwatch incident`
  parts.commit_every_records = kCommitPartRecords;
  parts.decode_ahead = true;
  pipeline = std::make_unique<Pipeline>(std::move(parts));
  Log("activity index %s (state.activity_index)", cfg.activity_index ? "on" : "off");
}

Status Service::Process(const std::vector<RawRecord>& records_in) {
  records.clear();
  records.reserve(records_in.size());
  for (const RawRecord& r : records_in) {
    records.push_back(PipelineRecord{r.bytes, r.origin, r.source, r.next_offset});
  }
  return pipeline->ProcessBatch(records);
}

// The consumer, and the batch in hand processed before partitions are given up.
std::optional<int> Service::OpenSource() {
  KafkaSourceOptions so;
  so.brokers = brokers;
  so.topics = cfg.kafka.topics;
  so.group_id = cfg.kafka.group_id;
  so.properties = cfg.kafka.properties;
  so.batch_max_wait_ms = cfg.kafka.batch_max_wait_ms;
  so.positions = state;
  if (Status s = KafkaSource::Open(so, &source); !s.ok()) {
    Log("%s", s.message().c_str());
    return 1;
  }
  source->SetDrainHandler([this](const std::vector<RawRecord>& drained) {
    Status s = drained.empty() ? Status::Ok() : Process(drained);
    // The partitions' next owner restores them from the changelog: everything must be there
    // before they are released (and before their offsets are committed).
    if (s.ok() && changelog && !changelog->WaitDelivered(kChangelogRevokeWaitMs)) {
      s = Status::Error("the changelog was not delivered within " +
                        std::to_string(kChangelogRevokeWaitMs / 1000) +
                        " s; stopping rather than hand partitions over without their state");
    }
    if (!s.ok()) drain_status = s;
    return s;
  });
  return std::nullopt;
}

bool Service::OwnsAccount(std::string_view account) const {
  const int32_t p = changelog->RouteOfAccount(account);
  return p < 0 || owned_partitions.count(p) > 0;
}

// The state of newly assigned partitions, from the changelog.
Status Service::Restore(const std::vector<std::pair<std::string, int32_t>>& assigned_partitions) {
  const auto started = Clock::now();
  int64_t restored = 0;
  Status s = changelog->Restore(assigned_partitions, &restored);
  if (!s.ok()) return s;
  owned_partitions.clear();
  for (const auto& [topic, partition] : assigned_partitions) owned_partitions.insert(partition);
  if (restored > 0) {
    pipeline->StoreChangedUnderneath();
    if (Status m = probe->LoadFromStore(*state); !m.ok()) Log("%s", m.message().c_str());
  }
  last_retention = RetentionResult();  // sweep what it owns now at the next tick
  // Deadlines of accounts this member did not own were dropped: arm them again for what it
  // owns now.
  if (Status r = PrimeRuleEngine(rules.get(), state); !r.ok()) return r;
  Log("changelog: %lld record(s) restored for %zu assigned partition(s) in %.2f s",
      static_cast<long long>(restored), assigned_partitions.size(),
      std::chrono::duration<double>(Clock::now() - started).count());
  return Status::Ok();
}

// With a changelog the members of a group share accounts by partition: time-driven checks (key
// age, event findings' expiry) fire on the member that owns the account's partition now, and
// retention sweeps only the accounts of owned partitions (their changelog partitions are written
// by their owner alone).
void Service::ShareWithTheGroup() {
  rules->SetDeadlineOwner([this](std::string_view account) { return OwnsAccount(account); });
  retention.owns_account = [this](std::string_view account) { return OwnsAccount(account); };
  source->SetAssignHandler(
      [this](const std::vector<std::pair<std::string, int32_t>>& assigned_partitions) {
        return Restore(assigned_partitions);
      });
}

// Retention: history and indexed calls older than the horizons (days of event time behind the
// watermark) are dropped, through the changelog when there is one, whenever the watermark
// reaches a new UTC day (and once at start, finishing a sweep a stop cut short).
void Service::SetUpRetention() {
  retention.history_days = cfg.history_retention_days;
  retention.activity_days = cfg.activity_retention_days;
  if (changelog) ShareWithTheGroup();
  Log("retention: history %s, activity index %s (state.history_retention_days, "
      "state.activity_retention_days)",
      retention.history_days > 0 ? (std::to_string(retention.history_days) + " days").c_str()
                                 : "kept whole",
      retention.activity_days > 0 ? (std::to_string(retention.activity_days) + " days").c_str()
                                  : "kept whole");
}

Status Service::Sweep() {
  if (!RetentionDue(state, retention, last_retention)) return Status::Ok();
  const auto started = Clock::now();
  RetentionResult r;
  if (Status s = ApplyRetention(state, retention, &r); !s.ok()) return s;
  last_retention = r;
  probe->OnRetention(r.history_dropped, r.activity_dropped);
  auto day = [](int64_t ms) { return ms == INT64_MIN ? std::string("-") : FormatTimestamp(ms); };
  Log("retention: dropped %lld history entr%s before %s and %lld call(s) before %s in %.1f s",
      static_cast<long long>(r.history_dropped), r.history_dropped == 1 ? "y" : "ies",
      day(r.history_horizon_ms).c_str(), static_cast<long long>(r.activity_dropped),
      day(r.activity_horizon_ms).c_str(),
      std::chrono::duration<double>(Clock::now() - started).count());
  return Status::Ok();
}

int Service::Loop() {
  last_record = Clock::now();
  last_census = Clock::now();
  Log("running; stop with SIGTERM or Ctrl-C");
  int exit_code = 0;
  while (!g_stop.load() && Turn(&exit_code)) {
  }
  return exit_code;
}

// One turn of the loop: a batch (maybe empty) read and processed, offsets, readiness, the
// periodic work. False when the service is to stop, with *exit_code set when it failed.
bool Service::Turn(int* exit_code) {
  bool more = true;
  Status s = source->Next(static_cast<size_t>(cfg.kafka.batch_size), &batch, &more);
  if (!s.ok()) {
    Log("%s", s.message().c_str());
    *exit_code = 1;
    return false;
  }
  if (!drain_status.ok()) {
    Log("processing the batch in hand before a rebalance failed: %s",
        drain_status.message().c_str());
    *exit_code = 1;
    return false;
  }
  const auto now = Clock::now();
  if (!assigned && source->rebalances() > 0) {
    assigned = true;  // the idle clock starts once the group gave this member its partitions
    last_record = now;
  }
  if (!batch.empty() && !ProcessBatchRead(now)) {
    *exit_code = 1;
    return false;
  }
  // Offsets of what is durable go to the group; with a changelog only once it is delivered
  // (never ahead of it), which may be a later, idle turn of this loop.
  if (!changelog || changelog->delivered()) source->OnBatchDurable();
  UpdateReadiness();
  if (now - last_tick >= std::chrono::seconds(1)) {
    last_tick = now;
    if (Status rs = Sweep(); !rs.ok()) {
      Log("retention failed, stopping: %s", rs.message().c_str());
      *exit_code = 1;
      return false;
    }
    EverySecond();
  }
  if (now - last_census >= std::chrono::seconds(30)) {
    last_census = now;
    probe->OnResourceCounts(ResourceCensus(*store));
  }
  if (flags.exit_when_idle_s > 0 && assigned &&
      std::chrono::duration<double>(now - last_record).count() >= flags.exit_when_idle_s) {
    Log("no record for %.1f s: exiting (--exit-when-idle)", flags.exit_when_idle_s);
    return false;
  }
  return true;
}

// The batch Turn read (not empty) through the pipeline, durable; false when it failed.
bool Service::ProcessBatchRead(Clock::time_point now) {
  if (Status s = Process(batch); !s.ok()) {
    // No offset moves; the state keeps whole parts of the batch with their positions, and a
    // restart resumes from there.
    Log("batch failed, stopping: %s", s.message().c_str());
    return false;
  }
  last_record = now;
  const auto durable = Clock::now();
  if (first_record == Clock::time_point{}) {
    first_record = durable;
    first_batch_records = static_cast<int64_t>(batch.size());
  }
  newest_record = durable;
  return true;
}

// Ready (/readyz) once the group assigned partitions and while Kafka is reachable.
void Service::UpdateReadiness() {
  source->CheckConnection();
  if ((assigned && source->connected()) == ready) return;
  ready = assigned && source->connected();
  if (server) server->SetReady(ready);
  if (ready) {
    Log("Kafka reachable: ready");
  } else {
    Log("Kafka unreachable (%s): not ready; retrying", source->last_error().c_str());
  }
}

// Metrics of lag, state size and the changelog; the producer's delivery reports.
void Service::EverySecond() {
  for (const PartitionLag& l : source->lag()) probe->OnKafkaLag(l.topic, l.partition, l.lag);
  probe->OnStateSize(DirectorySizeBytes(cfg.state_path));
  if (changelog) {
    const ChangelogStats cs = changelog->stats();
    probe->OnChangelog(cs.produced, cs.restored);
  }
  if (producer) {
    if (Status ps = producer->Poll(); !ps.ok()) Log("%s", ps.message().c_str());
  }
}

int Service::Shutdown(int exit_code) {
  if (g_stop.load()) Log("signal received: batch in hand written, committing offsets");
  if (server) server->SetReady(false);
  if (Status s = source->Close(); !s.ok()) Log("%s", s.message().c_str());
  source.reset();
  if (changelog) {
    if (Status s = changelog->SavePositions(); !s.ok()) Log("changelog: %s", s.message().c_str());
    const ChangelogStats cs = changelog->stats();
    Log("changelog: %lld record(s) produced (%lld unrouted), %lld restored from %lld partition "
        "read(s)",
        static_cast<long long>(cs.produced), static_cast<long long>(cs.unrouted),
        static_cast<long long>(cs.restored), static_cast<long long>(cs.restores));
  }
  if (producer) {
    if (Status s = producer->Flush(5000); !s.ok())
      Log("findings producer: %s", s.message().c_str());
  }
  LogTotals();
  if (text_stdout) {
    // For people: what the state holds open now, by category and kind, after the lines of every
    // status change.
    std::string summary;
    Status s = OpenFindingsSummary(*store, &summary);
    if (s.ok()) {
      std::fprintf(stdout, "\n%s", summary.c_str());
    } else {
      Log("reading the findings for the summary: %s", s.message().c_str());
    }
  }
  std::fflush(stdout);
  return exit_code;
}

// The pipeline's counters and the steady-state rate.
void Service::LogTotals() const {
  const PipelineCounters& c = pipeline->counters();
  Log("stopped: %lld records, %lld events, %lld invalid, %lld duplicates, findings %lld opened "
      "/ %lld resolved",
      static_cast<long long>(c.records), static_cast<long long>(c.events),
      static_cast<long long>(c.invalid), static_cast<long long>(c.duplicates),
      static_cast<long long>(c.findings_opened), static_cast<long long>(c.findings_resolved));
  // From the end of the first batch to the end of the last: the steady-state rate. The first
  // batch's own time includes the group join and is left out; with nothing after it there is
  // no span to measure (kafka_bench reads the "rate: " line).
  const int64_t after_first = c.records - first_batch_records;
  const double seconds = std::chrono::duration<double>(newest_record - first_record).count();
  if (after_first > 0 && seconds > 0) {
    Log("rate: %.0f records/s over %.3f s", static_cast<double>(after_first) / seconds, seconds);
  } else if (c.records > 0) {
    Log("all %lld record(s) came in the first batch: no steady-state rate measured",
        static_cast<long long>(c.records));
  }
}

}  // namespace

int RunService(const Args& args) {
  Service service;
  if (auto done = service.Wire(args)) return *done;
  return service.Shutdown(service.Loop());
}

}  // namespace driftwatch::app
