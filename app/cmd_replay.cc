// `driftwatch replay INPUT...`: the whole pipeline over files, stdin or a Kafka time range,
// into a fresh temporary state (kept only with --state DIR).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/flags.h"
#include "app/wiring.h"
#include "engine/pipeline.h"
#include "exporters/finding_sinks.h"
#include "ingest/decoder.h"
#include "ingest/file_source.h"
#include "kafka/kafka_replay.h"
#include "state/retention.h"

namespace driftwatch::app {
namespace {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/driftwatch-replay-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A progress line on stderr for long inputs, only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void Update(const std::string& input, int64_t done, int64_t total, int64_t records) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - started_ < std::chrono::seconds(2) || now - last_ < std::chrono::milliseconds(500)) {
      return;
    }
    last_ = now;
    shown_ = true;
    if (total > 0) {
      std::fprintf(stderr, "\r%s: %5.1f%%, %lld records", input.c_str(), 100.0 * done / total,
                   static_cast<long long>(records));
    } else {
      std::fprintf(stderr, "\r%s: %lld records", input.c_str(), static_cast<long long>(records));
    }
  }
  void Done() {
    if (shown_) std::fputs("\n", stderr);
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

int RunReplay(const Args& args) {
  std::vector<std::string> inputs, rule_paths;
  std::string format = "table", state_dir, config_path, dead_letter_path, stats_path;
  int64_t batch_size = 1000;
  int64_t history_retention_days = 0, activity_retention_days = 0;
  bool quiet = false;
  bool record_activity = true;
  FlagParser flags("replay",
                   "run the pipeline over files, stdin or a Kafka time range, into a fresh "
                   "temporary state (kept only with --state DIR)");
  flags
      .Positional("INPUT",
                  "a file (.json, .ndjson, .json.gz, a CloudTrail log file or Config snapshot), "
                  "'-' for stdin, or kafka://BROKERS/TOPIC?from=TIME&to=TIME",
                  1, SIZE_MAX, &inputs)
      .Choice({.name = "--format",
               .help = "findings as a table (default), one JSON object per line (ndjson), "
                       "one OCSF 1.8.0 object per status change (ocsf), or one line for people "
                       "per status change and a summary of what is still open (text)"},
              {"table", "ndjson", "ocsf", "text"}, &format)
      .Flag({.name = "--state",
             .value = "DIR",
             .needs = "a directory",
             .help = "keep the state in DIR (resumes where DIR's state ends); default: a "
                     "temporary state that is removed at exit"},
            &state_dir)
      .Flag({.name = "--rules",
             .value = "PATH",
             .needs = "a path",
             .help = "rule file or directory (repeatable; default: the built-in pack)"},
            [&rule_paths](const std::string& v) {
              rule_paths.push_back(v);
              return std::string();
            })
      .Flag({.name = "--config",
             .value = "FILE",
             .needs = "a file",
             .help = "read policy (approved regions, trusted accounts, ...) from FILE"},
            &config_path)
      .Flag({.name = "--dead-letter",
             .value = "FILE",
             .needs = "a file",
             .help = "append records that cannot be decoded to FILE (NDJSON)"},
            &dead_letter_path)
      .Flag({.name = "--stats",
             .value = "FILE",
             .needs = "a file",
             .help = "write the counters as one JSON object to FILE"},
            &stats_path)
      .Integer({.name = "--batch-size",
                .value = "N",
                .needs = "a number",
                .help = "records per state batch (default 1000, 1..1000000)"},
               1, 1000000, &batch_size)
      .Switch({.name = "--quiet", .help = "no summary or progress on stderr", .alias = "-q"},
              &quiet)
      .Integer({.name = "--history-retention-days",
                .value = "N",
                .needs = "a number of days",
                .help = "with --state: when the replay ends, drop history older than N days of "
                        "event time behind the newest event, keeping each resource's state as "
                        "of then (as state.history_retention_days does in `run`; default 0: "
                        "keep everything)"},
               0, 36500, &history_retention_days)
      .Integer({.name = "--activity-retention-days",
                .value = "N",
                .needs = "a number of days",
                .help = "with --state: when the replay ends, drop indexed calls older than N "
                        "days of event time (state.activity_retention_days; default 0: keep "
                        "everything)"},
               0, 36500, &activity_retention_days)
      .Switch({.name = "--no-activity",
               .help = "do not index calls by principal, key, IP and session (the index "
                       "`driftwatch incident` reads; on by default)"},
              &record_activity, false);
  if (auto done = flags.Parse(args)) return *done;

  // Open every input first: an unreadable one is an error before anything runs.
  std::vector<std::unique_ptr<RecordSource>> sources;
  std::vector<FileSource*> file_sources;  // parallel to sources; null for Kafka
  Policy policy;
  std::vector<std::string> problems;
  if (Status s = LoadPolicy(config_path, &policy, &problems); !s.ok()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    return flags.Fail(s.message());
  }
  if (rule_paths.empty()) rule_paths = DefaultRulePaths();
  std::unique_ptr<RuleEngine> rules;
  if (Status s = MakeRuleEngine(rule_paths, policy, &rules, &problems); !s.ok()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    return flags.Fail(s.message());
  }

  TempDir temp;
  const bool keep_state = !state_dir.empty();
  if (!keep_state) {
    if (temp.path().empty()) return flags.Fail("cannot create a temporary state directory");
    state_dir = temp.path();
  }
  std::unique_ptr<StateStore> store;
  // Replay syncs the WAL once, at the end: a killed replay still resumes exactly where its
  // stored state ends; only a machine that stops may cost it its newest batches.
  if (Status s = OpenStateStore(state_dir, &store, /*sync_each_batch=*/false); !s.ok()) {
    return flags.Fail(s.message());
  }
  if (Status s = PrimeRuleEngine(rules.get(), store.get()); !s.ok()) {
    return flags.Fail(s.message());
  }

  for (const std::string& input : inputs) {
    if (input.rfind("kafka://", 0) == 0) {
      std::unique_ptr<RecordSource> src;
      if (Status s = OpenKafkaReplaySource(input, &src); !s.ok()) return flags.Fail(s.message());
      sources.push_back(std::move(src));
      file_sources.push_back(nullptr);
      continue;
    }
    // Resume where a kept state ends for this file.
    int64_t start = 0;
    if (input != "-") {
      std::error_code ec;
      const std::string key =
          "file:" + std::filesystem::absolute(input, ec).lexically_normal().string();
      if (!store->GetPosition(key, &start).ok()) start = 0;
    }
    std::unique_ptr<FileSource> src;
    if (Status s = FileSource::Open(input, start, &src); !s.ok()) return flags.Fail(s.message());
    file_sources.push_back(src.get());
    sources.push_back(std::move(src));
  }

  std::unique_ptr<FindingSink> out_sink;
  if (format == "ndjson") {
    out_sink = std::make_unique<NdjsonFindingSink>(stdout);
  } else if (format == "ocsf") {
    out_sink = std::make_unique<NdjsonFindingSink>(stdout, FindingFormat::kOcsf);
  } else if (format == "text") {
    out_sink = std::make_unique<TextFindingSink>(stdout);
  } else {
    out_sink = std::make_unique<TableFindingSink>(stdout);
  }
  std::unique_ptr<DeadLetterFile> dead_letter;
  if (!dead_letter_path.empty()) {
    if (Status s = DeadLetterFile::Open(dead_letter_path, &dead_letter); !s.ok()) {
      return flags.Fail(s.message());
    }
  }
  FILE* stats_file = nullptr;
  if (!stats_path.empty()) {
    stats_file = std::fopen(stats_path.c_str(), "w");
    if (stats_file == nullptr) return flags.Fail(stats_path + ": cannot open for writing");
  }

  std::unique_ptr<EventDecoder> decoder = MakeDecoder();
  PipelineParts parts;
  parts.decoder = decoder.get();
  parts.store = store.get();
  parts.rules = rules.get();
  parts.sinks.push_back(out_sink.get());
  parts.dead_letter = dead_letter.get();
  parts.record_activity = record_activity;
  parts.commit_every_records = kCommitPartRecords;
  parts.decode_ahead = true;
  Pipeline pipeline(std::move(parts));

  const auto started = std::chrono::steady_clock::now();
  Progress progress(!quiet);
  std::vector<RawRecord> records;
  std::vector<PipelineRecord> batch;
  int exit_code = 0;
  for (size_t k = 0; k < sources.size() && exit_code == 0; ++k) {
    bool more = true;
    while (more) {
      if (Status s = sources[k]->Next(static_cast<size_t>(batch_size), &records, &more); !s.ok()) {
        std::fprintf(stderr, "driftwatch replay: %s\n", s.message().c_str());
        exit_code = 2;
        break;
      }
      batch.clear();
      for (const RawRecord& r : records) {
        // stdin has no position worth keeping: it cannot be resumed.
        const bool resumable = r.source != "file:-";
        batch.push_back(
            {r.bytes, r.origin, resumable ? std::string_view(r.source) : "", r.next_offset});
      }
      if (batch.empty()) continue;
      if (Status s = pipeline.ProcessBatch(batch); !s.ok()) {
        std::fprintf(stderr, "driftwatch replay: %s\n", s.message().c_str());
        exit_code = 1;
        break;
      }
      if (file_sources[k] != nullptr) {
        progress.Update(inputs[k], file_sources[k]->raw_bytes_read(), file_sources[k]->file_size(),
                        pipeline.counters().records);
      }
    }
  }
  progress.Done();
  if (exit_code == 0 && keep_state && (history_retention_days > 0 || activity_retention_days > 0)) {
    RetentionOptions retention;
    retention.history_days = static_cast<int>(history_retention_days);
    retention.activity_days = static_cast<int>(activity_retention_days);
    RetentionResult r;
    if (Status s = ApplyRetention(store.get(), retention, &r); !s.ok()) {
      std::fprintf(stderr, "driftwatch replay: retention: %s\n", s.message().c_str());
      exit_code = 1;
    } else if (!quiet) {
      std::fprintf(stderr, "replay: retention dropped %lld history entr%s and %lld call(s)\n",
                   static_cast<long long>(r.history_dropped),
                   r.history_dropped == 1 ? "y" : "ies",
                   static_cast<long long>(r.activity_dropped));
    }
  }
  if (format == "text" && exit_code == 0) {
    std::string summary;
    Status s = OpenFindingsSummary(*store, &summary);
    if (s.ok()) {
      std::fprintf(stdout, "\n%s", summary.c_str());
    } else {
      std::fprintf(stderr, "driftwatch replay: reading the findings for the summary: %s\n",
                   s.message().c_str());
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const PipelineCounters& c = pipeline.counters();
  if (stats_file != nullptr) {
    nlohmann::ordered_json j;
    j["records"] = c.records;
    j["events"] = c.events;
    j["invalid"] = c.invalid;
    nlohmann::ordered_json by_reason = nlohmann::ordered_json::object();
    for (int r = 0; r < kInvalidReasonCount; ++r) {
      by_reason[std::string(InvalidReasonName(static_cast<InvalidReason>(r)))] =
          c.invalid_by_reason[r];
    }
    j["invalid_by_reason"] = by_reason;
    j["duplicates"] = c.duplicates;
    j["state_changes"] = c.state_changes;
    j["findings_opened"] = c.findings_opened;
    j["findings_resolved"] = c.findings_resolved;
    j["batches"] = c.batches;
    j["seconds"] = seconds;
    const std::string text = j.dump() + "\n";
    std::fwrite(text.data(), 1, text.size(), stats_file);
    std::fclose(stats_file);
  }
  if (!quiet) {
    std::fprintf(stderr,
                 "replay: %lld records, %lld events, %lld invalid, %lld duplicates, "
                 "%lld findings opened, %lld resolved in %.2fs%s%s\n",
                 static_cast<long long>(c.records), static_cast<long long>(c.events),
                 static_cast<long long>(c.invalid), static_cast<long long>(c.duplicates),
                 static_cast<long long>(c.findings_opened),
                 static_cast<long long>(c.findings_resolved), seconds,
                 keep_state ? "; state in " : "", keep_state ? state_dir.c_str() : "");
  }
  return exit_code;
}

}  // namespace driftwatch::app
