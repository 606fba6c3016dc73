// Replay throughput with state on, against the raw simdjson parse of the same bytes, measured in
// the same run (issue 3, item 6).
//
// Generates an NDJSON CloudTrail stream (about 80% read-only calls; writes on a few thousand
// security groups, trails, users, buckets and instances, with duplicates and late deliveries),
// then times over several repetitions:
//   raw:    simdjson DOM parser.parse() of every line (the baseline)
//   replay: Pipeline::ProcessBatch over the same lines in batches of 1000 as `driftwatch replay`
//           runs it: decoder (decoding and preparing events on a thread of its own) + appliers +
//           the project's rule pack (config/rules) + the activity index + a fresh RocksDbStore
//           in a temp dir, each batch written in parts of 250 records by a committer thread
//           while the next part is processed, the WAL synced when the store closes (timed too).
//           The target (>= 0.50 of raw) is for this row.
//   the same without the activity index (`replay --no-activity`), and state alone (no rules,
//           no index): where the time goes
//   diagnostic: state alone with the WAL synced on every batch, as the live service
//           (`driftwatch run`) commits, to show what the per-batch fsync costs on this machine
//   diagnostic: the event decoder alone over the same lines (no state, no rules): the ceiling
//           the rest of the replay divides
// and prints the median records/s of each and its ratio to raw.
//
// Usage: state_bench [records=200000] [repetitions=5] [rules_dir=$DW_SOURCE_DIR/config/rules]
//        [only=state|rules|replay]
// With `only`, runs one replay once (state alone; with the rule pack; or as `driftwatch replay`,
// with the index too) and prints its rate alone: a fixed workload to profile or to count
// instructions of (perf stat -e instructions), which a busy machine does not blur.
//
// Release comparison: state_bench --vs BASELINE [records=200000] [pairs=5]
// writes the generated stream to a file and times `driftwatch replay` of it as users run it
// (a kept state directory, the binary's built-in rule pack, the activity index on; findings as
// NDJSON to a file) with binary A, the one under test ($DW_BINARY, default ../driftwatch beside
// this program), and binary B, BASELINE (e.g. a build of the previous release), each in a child
// process, alternated pair by pair (A first in odd pairs, B first in even ones). Prints each
// pair's rates (records over the child's wall time: start, rule loading and the store's close
// included), CPU time and peak RSS (wait4's ru_maxrss), the median of the per-pair ratios A/B,
// the state directory's size against the input's for each, and whether their findings match.

#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "config/policy.h"
#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/rocksdb_store.h"
#include "tests/bench/bench_stream.h"
#include "tests/bench/child_process.h"

namespace {

using Clock = std::chrono::steady_clock;
using driftwatch::bench_stream::Generate;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Mode {
  bool rules = false;
  bool activity = false;  // the activity index (`replay` default; --no-activity turns it off)
  bool sync = false;      // WAL synced per batch
};

double RunPipeline(const std::vector<std::string>& lines, const std::string& dir,
                   const std::string& rules_dir, Mode mode) {
  const bool with_rules = mode.rules, sync = mode.sync;
  std::filesystem::remove_all(dir);
  std::unique_ptr<driftwatch::RocksDbStore> store;
  driftwatch::RocksDbStoreOptions options;
  options.sync = sync;
  driftwatch::Status s = driftwatch::RocksDbStore::Open(dir, options, &store);
  if (!s.ok()) {
    std::fprintf(stderr, "state_bench: %s\n", s.message().c_str());
    std::exit(1);
  }
  std::unique_ptr<driftwatch::CompiledRuleEngine> rules;
  if (with_rules) {
    driftwatch::RuleLoadResult result;
    rules = driftwatch::CompiledRuleEngine::Load({rules_dir}, driftwatch::Policy{}, &result);
    if (rules == nullptr || !result.ok()) {
      std::fprintf(stderr, "state_bench: cannot load rules from %s\n", rules_dir.c_str());
      std::exit(1);
    }
  }
  driftwatch::SimdjsonEventDecoder decoder;
  driftwatch::PipelineParts parts;
  parts.decoder = &decoder;
  parts.store = store.get();
  parts.rules = rules.get();
  parts.commit_every_records = 250;  // as replay and run write (app/wiring.h)
  parts.decode_ahead = true;
  parts.record_activity = mode.activity;
  driftwatch::Pipeline pipeline(std::move(parts));
  std::vector<driftwatch::PipelineRecord> batch;
  batch.reserve(1000);
  const auto start = Clock::now();
  for (size_t i = 0; i < lines.size(); ++i) {
    batch.push_back({lines[i], "bench", "file:/bench", static_cast<int64_t>(i + 1)});
    if (batch.size() == 1000 || i + 1 == lines.size()) {
      s = pipeline.ProcessBatch(batch);
      if (!s.ok()) {
        std::fprintf(stderr, "state_bench: %s\n", s.message().c_str());
        std::exit(1);
      }
      batch.clear();
    }
  }
  store.reset();  // closing syncs what the commits did not
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double RunDecoder(const std::vector<std::string>& lines) {
  driftwatch::SimdjsonEventDecoder decoder;
  std::vector<driftwatch::Event> events;
  std::vector<driftwatch::EventDecoder::Rejected> rejected;
  size_t decoded = 0;
  const auto start = Clock::now();
  for (size_t i = 0; i < lines.size(); ++i) {
    events.clear();
    rejected.clear();
    decoder.Decode(lines[i], "file:/bench", &events, &rejected);
    decoded += events.size();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (decoded != lines.size()) {
    std::fprintf(stderr, "state_bench: decoded %zu events from %zu lines\n", decoded, lines.size());
    std::exit(1);
  }
  return seconds;
}

// Bytes of every file under `path` (a state directory once its store is closed).
double DirBytes(const std::string& path) {
  uintmax_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(path, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return static_cast<double>(total);
}

std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `state_bench --vs BASELINE`: see the header.
int RunVersus(const std::string& a, const std::string& b, size_t records, int pairs) {
  namespace fs = std::filesystem;
  for (const std::string& bin : {a, b}) {
    if (access(bin.c_str(), X_OK) != 0) {
      std::fprintf(stderr, "state_bench: %s is not an executable\n", bin.c_str());
      return 2;
    }
  }
  const fs::path dir =
      fs::temp_directory_path() / ("dw-state-bench-vs-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string stream = (dir / "stream.ndjson").string();
  {
    std::ofstream out(stream, std::ios::binary);
    for (const std::string& l : Generate(records)) out << l << '\n';
    if (!out) {
      std::fprintf(stderr, "state_bench: cannot write %s\n", stream.c_str());
      return 1;
    }
  }
  const double input_bytes = static_cast<double>(fs::file_size(stream));
  std::printf("stream: %zu records, %.1f MB in %s\n", records, input_bytes / 1e6, stream.c_str());
  std::printf("A: %s\nB: %s\n", a.c_str(), b.c_str());
  std::printf("each: BINARY replay --quiet --format ndjson --state DIR STREAM (built-in pack, "
              "activity index on)\n");
  struct Side {
    const char* name;
    std::string binary;
    std::vector<double> rates, cpu, rss_mb, state_mb;
    std::string findings;  // of the first run
  };
  Side sides[2] = {{"A", a, {}, {}, {}, {}, {}}, {"B", b, {}, {}, {}, {}, {}}};
  std::vector<double> ratios;
  for (int p = 0; p < pairs; ++p) {
    double rate[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      const int which = p % 2 == 0 ? k : 1 - k;  // A first in odd pairs (1, 3, ...)
      Side& side = sides[which];
      const std::string state = (dir / (std::string("state-") + side.name)).string();
      const std::string findings = (dir / (std::string("findings-") + side.name)).string();
      const std::string log = (dir / (std::string("log-") + side.name)).string();
      fs::remove_all(state);
      const driftwatch::bench::ChildRun run = driftwatch::bench::RunChild(
          {side.binary, "replay", "--quiet", "--format", "ndjson", "--state", state, stream},
          findings, log);
      if (run.exit_code != 0) {
        std::fprintf(stderr, "state_bench: %s exited with %d:\n%s", side.binary.c_str(),
                     run.exit_code, FileText(log).c_str());
        return 1;
      }
      rate[which] = static_cast<double>(records) / run.wall_seconds;
      side.rates.push_back(rate[which]);
      side.cpu.push_back(run.cpu_seconds);
      side.rss_mb.push_back(static_cast<double>(run.max_rss_kb) / 1024.0);
      side.state_mb.push_back(DirBytes(state) / 1e6);
      if (p == 0) side.findings = FileText(findings);
      fs::remove_all(state);
      std::printf(
          "pair %d %s: %8.0f records/s  %6.2f s wall  %6.2f s CPU  %6.1f MB peak RSS  "
          "state %.1f MB\n",
          p + 1, side.name, rate[which], run.wall_seconds, run.cpu_seconds, side.rss_mb.back(),
          side.state_mb.back());
    }
    ratios.push_back(rate[0] / rate[1]);
    std::printf("pair %d (%s first): A/B %.2f\n", p + 1, p % 2 == 0 ? "A" : "B", ratios.back());
    std::fflush(stdout);
  }
  using driftwatch::bench::MedianOf;
  std::printf("median of the per-pair ratios A/B (records/s): %.2f over %d pair(s)\n",
              MedianOf(ratios), pairs);
  for (const Side& side : sides) {
    std::printf(
        "%s: median %.0f records/s, median %.2f s CPU, peak RSS median %.1f MB (max "
        "%.1f), state directory %.1f MB for %.1f MB of input: %.3f\n",
        side.name, MedianOf(side.rates), MedianOf(side.cpu), MedianOf(side.rss_mb),
        *std::max_element(side.rss_mb.begin(), side.rss_mb.end()), MedianOf(side.state_mb),
        input_bytes / 1e6, MedianOf(side.state_mb) * 1e6 / input_bytes);
  }
  auto lines_of = [](const std::string& t) { return std::count(t.begin(), t.end(), '\n'); };
  std::printf("findings (NDJSON): A %ld lines, B %ld lines, %s\n",
              static_cast<long>(lines_of(sides[0].findings)),
              static_cast<long>(lines_of(sides[1].findings)),
              sides[0].findings == sides[1].findings ? "identical" : "different");
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--vs") {
    if (argc < 3 || argc > 5) {
      std::fprintf(stderr, "usage: state_bench --vs BASELINE [records=200000] [pairs=5]\n");
      return 2;
    }
    std::string binary = std::getenv("DW_BINARY") ? std::getenv("DW_BINARY") : "";
    if (binary.empty()) {
      binary = (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() /
                "driftwatch")
                   .string();
    }
    const size_t records = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 200000;
    const int pairs = argc > 4 ? std::atoi(argv[4]) : 5;
    if (records < 1 || pairs < 1) {
      std::fprintf(stderr, "state_bench: records and pairs must be at least 1\n");
      return 2;
    }
    return RunVersus(binary, argv[2], records, pairs);
  }
  const size_t records = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const char* source_dir = std::getenv("DW_SOURCE_DIR");
  const std::string rules_dir =
      argc > 3 ? argv[3]
               : (source_dir != nullptr ? std::string(source_dir) + "/config/rules"
                                        : std::string("config/rules"));
  const std::vector<std::string> lines = Generate(records);

  size_t bytes = 0;
  size_t writes = 0;
  for (const std::string& l : lines) {
    bytes += l.size();
    if (l.find("\"readOnly\":false") != std::string::npos) ++writes;
  }
  std::string dir =
      (std::filesystem::temp_directory_path() / ("dw-state-bench-" + std::to_string(getpid())))
          .string();

  if (argc > 4) {
    const std::string only = argv[4];
    if (only != "state" && only != "rules" && only != "replay") {
      std::fprintf(stderr, "state_bench: only must be state, rules or replay, not '%s'\n",
                   only.c_str());
      return 2;
    }
    const double seconds =
        RunPipeline(lines, dir, rules_dir, Mode{only != "state", only == "replay", false});
    const double state_bytes = DirBytes(dir);
    if (std::getenv("DW_BENCH_KEEP_STATE") != nullptr) {
      std::printf("state kept in %s\n", dir.c_str());
    } else {
      std::filesystem::remove_all(dir);
    }
    size_t input_bytes = 0;
    for (const std::string& l : lines) input_bytes += l.size() + 1;
    std::printf("%s only: state directory %.1f MB for %.1f MB of input: %.2f\n", only.c_str(),
                state_bytes / 1e6, static_cast<double>(input_bytes) / 1e6,
                state_bytes / static_cast<double>(input_bytes));
    std::printf("%s only: %zu records in %.3f s, %.0f records/s\n", only.c_str(), lines.size(),
                seconds, static_cast<double>(lines.size()) / seconds);
    return 0;
  }

  std::vector<double> raw, replay, state, ruled, synced, decoded;
  double replay_bytes = 0;
  simdjson::dom::parser parser;
  for (int r = 0; r < reps; ++r) {
    const auto start = Clock::now();
    size_t ok = 0;
    for (const std::string& l : lines) {
      auto doc = parser.parse(l.data(), l.size());  // copies into its padded buffer
      if (!doc.error()) ++ok;
    }
    raw.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    if (ok != lines.size()) {
      std::fprintf(stderr, "state_bench: %zu lines did not parse\n", lines.size() - ok);
      return 1;
    }
    replay.push_back(RunPipeline(lines, dir, rules_dir, Mode{true, true, false}));
    replay_bytes = DirBytes(dir);
    state.push_back(RunPipeline(lines, dir, rules_dir, Mode{false, false, false}));
    ruled.push_back(RunPipeline(lines, dir, rules_dir, Mode{true, false, false}));
    synced.push_back(RunPipeline(lines, dir, rules_dir, Mode{false, false, true}));
    decoded.push_back(RunDecoder(lines));
  }
  std::filesystem::remove_all(dir);
  const double n = static_cast<double>(lines.size());
  const double raw_rate = n / Median(raw), replay_rate = n / Median(replay),
               state_rate = n / Median(state), rules_rate = n / Median(ruled);
  std::printf("records: %zu (%.1f MB, %.1f%% writes), repetitions: %d\n", lines.size(),
              static_cast<double>(bytes) / 1e6, 100.0 * static_cast<double>(writes) / n, reps);
  std::printf("raw simdjson parse:          %12.0f records/s\n", raw_rate);
  std::printf("replay as `driftwatch replay` runs it (state, rule pack, activity index):\n");
  std::printf("                             %12.0f records/s  ratio %.2f  (target >= 0.50)\n",
              replay_rate, replay_rate / raw_rate);
  std::printf("  state directory after it: %.1f MB for %.1f MB of input: %.2f  (target <= 0.30)\n",
              replay_bytes / 1e6, static_cast<double>(bytes + lines.size()) / 1e6,
              replay_bytes / static_cast<double>(bytes + lines.size()));
  std::printf("  without the activity index (--no-activity):\n");
  std::printf("                             %12.0f records/s  ratio %.2f\n", rules_rate,
              rules_rate / raw_rate);
  std::printf("  state alone (no rules, no index):\n");
  std::printf("                             %12.0f records/s  ratio %.2f\n", state_rate,
              state_rate / raw_rate);
  const double synced_rate = n / Median(synced);
  std::printf(
      "diagnostic: no rules, WAL synced per batch (as `run`): %12.0f records/s  ratio %.2f\n",
      synced_rate, synced_rate / raw_rate);
  const double decode_rate = n / Median(decoded);
  std::printf("diagnostic: event decoder alone:      %12.0f records/s  ratio %.2f\n", decode_rate,
              decode_rate / raw_rate);
  return 0;
}
