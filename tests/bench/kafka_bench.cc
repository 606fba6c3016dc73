// Kafka benchmark: on one embedded broker and one topic, in the same run,
//   1. a no-op librdkafka consumer (high-level consumer in a group, messages dropped),
//   2. `driftwatch run` (the built binary, in a child process) with state (RocksDB, synced),
//      the built-in rules and metrics on,
//   3. the naive Python consumer a user might write (confluent-kafka + json.loads),
// over a generated CloudTrail stream with about 80% read-only calls. Each rate is measured from
// the first record to the last. Prints the rates and the ratios driftwatch/no-op (target
// >= 0.90) and driftwatch/python (target >= 8).
//
// usage: kafka_bench [--no-activity-index] [--changelog] [RECORDS] [PARTITIONS]   (default
// 100000 records, 48
// partitions; the embedded broker keeps about 5 MB per partition, so records * ~1 KB / partitions
// must stay under that). driftwatch runs as the live service does by default, with the activity
// index on (state.activity_index); --no-activity-index turns it off in the config the bench
// writes, so running both ways measures the index's cost; --changelog sets kafka.changelog_topic
// (a topic with as many partitions), which measures the hand-over's cost, and then a second
// member with an empty state directory joins the group and restores the state from that topic:
// its records/s is the restore rate (target >= 100,000). DW_BINARY names the
// driftwatch binary
// (default: ../driftwatch beside this program).
//
// Release comparison: --vs BASELINE [--pairs N] (default 3 pairs) runs `driftwatch run` of binary
// A ($DW_BINARY) and binary B (BASELINE, e.g. a build of the previous release) on the same topic,
// each with a fresh state directory, a consumer group of its own (and with --changelog a
// changelog topic of its own), alternated pair by pair (A first in odd pairs, B first in even
// ones), and prints each run's steady-state rate (its "rate:" line), CPU time and peak RSS
// (wait4's ru_maxrss of the child), the per-pair ratios A/B and their median. The no-op consumer
// still runs once, for scale; the Python peer does not.

#include <librdkafka/rdkafka.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kafka/embedded_broker.h"
#include "kafka/kafka_producer.h"
#include "tests/bench/child_process.h"
#include "tests/integration/cloudtrail_gen.h"

namespace fs = std::filesystem;
using namespace driftwatch;

namespace {

using Clock = std::chrono::steady_clock;

double NoOpConsumerRate(const std::string& brokers, const std::string& topic, long count) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "bench-noop", err, sizeof(err));
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  long seen = 0;
  Clock::time_point first{}, last{};
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  while (seen < count && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 500);
    // Idle for 5 s after the first record: the rest is not coming (the mock dropped it).
    if (m == nullptr && seen > 0 && Clock::now() - last > std::chrono::seconds(5)) break;
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (seen++ == 0) first = Clock::now();
      last = Clock::now();
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (seen < count) std::fprintf(stderr, "no-op consumer: only %ld of %ld records\n", seen, count);
  return (seen - 1) / std::chrono::duration<double>(last - first).count();
}

// Runs a command, returns its exit code; stdout+stderr go to `log`.
int RunTo(const std::string& command, const std::string& log) {
  return std::system((command + " > " + log + " 2>&1").c_str());
}

double RateFrom(const std::string& log, const std::string& marker) {
  std::ifstream in(log);
  std::string line;
  double rate = 0;
  while (std::getline(in, line)) {
    const size_t at = line.find(marker);
    if (at != std::string::npos) rate = std::atof(line.c_str() + at + marker.size());
  }
  return rate;
}

struct DriftwatchRun {
  double rate = 0;  // records/s from its "rate:" line; 0 if it printed none
  driftwatch::bench::ChildRun child;
};

// Writes the config of a `driftwatch run` on topic "bench" in consumer group
// "bench-driftwatch-GROUP" (with `changelog` as kafka.changelog_topic unless empty), keeping its
// state in `state` and its findings in `findings`, metrics on an ephemeral loopback port.
void WriteRunConfig(const std::string& config, const std::string& brokers, const std::string& group,
                    const std::string& changelog, const std::string& state, bool activity_index,
                    const std::string& findings) {
  std::ofstream(config) << "kafka:\n  brokers: [\"" << brokers
                        << "\"]\n  topics: [bench]\n  group_id: bench-driftwatch-" << group << "\n"
                        << (changelog.empty() ? "" : "  changelog_topic: " + changelog + "\n")
                        << "state:\n  path: " << state << "\n"
                        << "  activity_index: " << (activity_index ? "true" : "false") << "\n"
                        << "metrics:\n  listen: 127.0.0.1:0\n"
                        << "findings:\n  stdout: false\n  path: " << findings << "\n";
}

// One `driftwatch run` of `binary` on topic "bench" with its own state directory, consumer group
// and changelog topic (tag names them), until it has been idle for 3 s. Returns false, saying why,
// if it failed or measured no rate.
bool RunDriftwatch(const std::string& binary, const std::string& dir, const std::string& tag,
                   const std::string& brokers, bool activity_index, const std::string& changelog,
                   DriftwatchRun* out) {
  const std::string config = dir + "/bench-" + tag + ".yaml";
  fs::remove_all(dir + "/state-" + tag);
  WriteRunConfig(config, brokers, tag, changelog, dir + "/state-" + tag, activity_index,
                 dir + "/findings-" + tag + ".ndjson");
  const std::string log = dir + "/driftwatch-" + tag + ".log";
  out->child = driftwatch::bench::RunChild(
      {binary, "run", "--config", config, "--exit-when-idle", "3"}, log, log + ".err");
  // stdout and stderr in one log, as the single-binary mode keeps it.
  std::ofstream(log, std::ios::app) << std::ifstream(log + ".err").rdbuf();
  if (out->child.exit_code != 0) {
    std::fprintf(stderr, "driftwatch run (%s) failed, see %s\n", binary.c_str(), log.c_str());
    return false;
  }
  out->rate = RateFrom(log, "rate: ");
  if (out->rate <= 0) {
    // driftwatch prints a rate only over batches after its first one.
    std::fprintf(stderr,
                 "driftwatch run measured no steady-state rate (too few records?), see %s\n",
                 log.c_str());
    return false;
  }
  fs::remove_all(dir + "/state-" + tag);
  return true;
}

// The hand-over: a second member with an empty state directory joins the group of the run
// tagged `tag` (whose source offsets are committed, so it reads no new record) and restores the
// state from `changelog`. Sums its "changelog: N record(s) restored ... in S s" lines. Returns
// false, saying why, if it failed or restored nothing.
bool RestoreRun(const std::string& binary, const std::string& dir, const std::string& tag,
                const std::string& brokers, const std::string& changelog, long* records,
                double* seconds) {
  const std::string config = dir + "/restore-" + tag + ".yaml";
  const std::string state = dir + "/state-" + tag + "-restored";
  fs::remove_all(state);
  WriteRunConfig(config, brokers, tag, changelog, state, /*activity_index=*/true,
                 dir + "/findings-" + tag + "-restored.ndjson");
  const std::string log = dir + "/restore-" + tag + ".log";
  const driftwatch::bench::ChildRun child = driftwatch::bench::RunChild(
      {binary, "run", "--config", config, "--exit-when-idle", "3"}, log, log + ".err");
  *records = 0;
  *seconds = 0;
  std::ifstream in(log + ".err");
  std::string line;
  const std::string marker = "changelog: ";
  while (std::getline(in, line)) {
    const size_t at = line.find(marker);
    const size_t in_at = line.find(" in ", at == std::string::npos ? 0 : at);
    if (at == std::string::npos || line.find("restored for", at) == std::string::npos ||
        in_at == std::string::npos) {
      continue;
    }
    *records += std::atol(line.c_str() + at + marker.size());
    *seconds += std::atof(line.c_str() + in_at + 4);
  }
  fs::remove_all(state);
  if (child.exit_code != 0 || *records == 0) {
    std::fprintf(stderr, "restoring member (%s) failed or restored nothing, see %s.err\n",
                 binary.c_str(), log.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bool activity_index = true;
  bool changelog = false;
  std::string baseline;  // --vs: binary B
  int pairs = 3;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-activity-index") {
      activity_index = false;
    } else if (a == "--changelog") {
      changelog = true;
    } else if (a == "--vs" && i + 1 < argc) {
      baseline = argv[++i];
    } else if (a == "--pairs" && i + 1 < argc && std::atoi(argv[i + 1]) > 0) {
      pairs = std::atoi(argv[++i]);
    } else if (a.rfind("-", 0) == 0) {
      std::fprintf(stderr,
                   "usage: kafka_bench [--no-activity-index] [--changelog] [--vs BASELINE "
                   "[--pairs N]] [RECORDS] [PARTITIONS]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    } else {
      positional.push_back(a);
    }
  }
  const long records = positional.size() > 0 ? std::atol(positional[0].c_str()) : 100000;
  const int partitions = positional.size() > 1 ? std::atoi(positional[1].c_str()) : 48;
  if (records < 2 || partitions < 1 || positional.size() > 2) {
    std::fprintf(stderr,
                 "usage: kafka_bench [--no-activity-index] [--changelog] [RECORDS >= 2] "
                 "[PARTITIONS]\n");
    return 2;
  }
  const char* mode = activity_index ? "activity index on (state.activity_index: true, the default)"
                                    : "activity index off (state.activity_index: false)";
  std::printf("mode: driftwatch run with the %s%s\n", mode,
              changelog ? ", changelog on (kafka.changelog_topic)" : "");
  std::string binary = std::getenv("DW_BINARY") ? std::getenv("DW_BINARY") : "";
  if (binary.empty()) {
    binary =
        (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "driftwatch").string();
  }
  // The peer script sits beside this source file (CMake compiles it by absolute path).
  const std::string script = (fs::path(__FILE__).parent_path() / "naive_consumer.py").string();
  std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

  std::unique_ptr<EmbeddedBroker> broker;
  if (!EmbeddedBroker::Start(1, &broker).ok() || !broker->CreateTopic("bench", partitions).ok() ||
      (changelog && baseline.empty() && !broker->CreateTopic("bench-changelog", partitions).ok())) {
    std::fprintf(stderr, "embedded broker failed\n");
    return 1;
  }
  if (!baseline.empty()) {
    if (access(baseline.c_str(), X_OK) != 0 || access(binary.c_str(), X_OK) != 0) {
      std::fprintf(stderr, "kafka_bench: %s or %s is not an executable\n", binary.c_str(),
                   baseline.c_str());
      return 2;
    }
    // Every run of the A/B mode has a changelog topic of its own: a fresh member restores the
    // state a changelog holds, and each run must start from nothing.
    for (int p = 1; changelog && p <= pairs; ++p) {
      for (const char* side : {"a", "b"}) {
        if (!broker
                 ->CreateTopic("bench-changelog-" + std::string(side) + std::to_string(p),
                               partitions)
                 .ok()) {
          std::fprintf(stderr, "embedded broker failed\n");
          return 1;
        }
      }
    }
  }
  std::unique_ptr<KafkaProducer> producer;
  KafkaProducerOptions po;
  po.brokers = broker->bootstrap();
  po.linger_ms = 20;
  if (!KafkaProducer::Open(po, &producer).ok()) return 1;
  testing_gen::GenOptions go;
  go.accounts = 200;
  go.read_only_percent = 80;
  testing_gen::CloudTrailGen gen(go);
  size_t bytes = 0;
  for (long i = 0; i < records; ++i) {
    const std::string e = gen.Event(i);
    bytes += e.size();
    if (!producer->Produce("bench", gen.account(), e).ok()) return 1;
  }
  if (!producer->Flush(60000).ok()) return 1;
  std::printf("stream: %ld records, %.0f bytes each on average, %d partitions, ~80%% read-only\n",
              records, static_cast<double>(bytes) / records, partitions);
  if (bytes / partitions > 5 * 1000 * 1000) {
    std::fprintf(stderr, "warning: over ~5 MB per partition; the mock may have dropped data\n");
  }

  const double noop = NoOpConsumerRate(broker->bootstrap(), "bench", records);
  std::printf("no-op librdkafka consumer: %.0f records/s\n", noop);

  char tmpl[] = "/tmp/dw-kafka-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  if (!baseline.empty()) {
    std::printf("A: %s\nB: %s\n", binary.c_str(), baseline.c_str());
    std::vector<double> ratios, rates[2], cpu[2], rss[2];
    for (int p = 1; p <= pairs; ++p) {
      double rate[2] = {0, 0};
      for (int k = 0; k < 2; ++k) {
        const int which = p % 2 == 1 ? k : 1 - k;  // A first in odd pairs
        const std::string tag = std::string(which == 0 ? "a" : "b") + std::to_string(p);
        DriftwatchRun run;
        if (!RunDriftwatch(which == 0 ? binary : baseline, dir, tag, broker->bootstrap(),
                           activity_index, changelog ? "bench-changelog-" + tag : "", &run)) {
          return 1;
        }
        rate[which] = run.rate;
        rates[which].push_back(run.rate);
        cpu[which].push_back(run.child.cpu_seconds);
        rss[which].push_back(static_cast<double>(run.child.max_rss_kb) / 1024.0);
        std::printf("pair %d %s: %8.0f records/s  %6.2f s CPU  %6.1f MB peak RSS\n", p,
                    which == 0 ? "A" : "B", run.rate, run.child.cpu_seconds, rss[which].back());
      }
      ratios.push_back(rate[0] / rate[1]);
      std::printf("pair %d (%s first): A/B %.2f\n", p, p % 2 == 1 ? "A" : "B", ratios.back());
      std::fflush(stdout);
    }
    using driftwatch::bench::MedianOf;
    std::printf(
        "median of the per-pair ratios A/B (driftwatch run, records/s): %.2f over %d "
        "pair(s)\n",
        MedianOf(ratios), pairs);
    for (int w = 0; w < 2; ++w) {
      std::printf(
          "%s: median %.0f records/s (%.2f of the no-op consumer), median %.2f s CPU, "
          "peak RSS median %.1f MB\n",
          w == 0 ? "A" : "B", MedianOf(rates[w]), MedianOf(rates[w]) / noop, MedianOf(cpu[w]),
          MedianOf(rss[w]));
    }
    fs::remove_all(dir);
    return 0;
  }
  DriftwatchRun run;
  if (!RunDriftwatch(binary, dir, "driftwatch", broker->bootstrap(), activity_index,
                     changelog ? "bench-changelog" : "", &run)) {
    return 1;
  }
  const double dw = run.rate;
  std::printf("driftwatch run (state, rules, metrics, %s): %.0f records/s\n",
              activity_index ? "activity index on" : "activity index off", dw);
  if (changelog) {
    long restored = 0;
    double seconds = 0;
    if (!RestoreRun(binary, dir, "driftwatch", broker->bootstrap(), "bench-changelog", &restored,
                    &seconds)) {
      return 1;
    }
    std::printf(
        "changelog restore by a fresh member: %ld records in %.1f s: %.0f records/s (target >= "
        "100000)\n",
        restored, seconds, seconds > 0 ? static_cast<double>(restored) / seconds : 0.0);
  }

  const std::string py_log = dir + "/python.log";
  double py = 0;
  if (RunTo(python + " " + script + " " + broker->bootstrap() + " bench bench-python " +
                std::to_string(records),
            py_log) == 0) {
    py = RateFrom(py_log, "naive-python: ");
    std::printf("naive Python consumer (confluent-kafka + json.loads): %.0f records/s\n", py);
  } else {
    std::printf("naive Python consumer: failed (python3-confluent-kafka missing?), see %s\n",
                py_log.c_str());
  }
  std::printf("ratio driftwatch / no-op consumer: %.2f (target >= 0.90; %s)\n", dw / noop,
              activity_index ? "activity index on" : "activity index off");
  if (py > 0) std::printf("ratio driftwatch / naive Python: %.1fx (target >= 8x)\n", dw / py);
  fs::remove_all(dir);
  return 0;
}
