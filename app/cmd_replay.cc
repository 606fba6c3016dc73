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
#include "app/wiring.h"
#include "engine/pipeline.h"
#include "exporters/finding_sinks.h"
#include "ingest/decoder.h"
#include "ingest/file_source.h"
#include "ingest/kafka_replay.h"

namespace driftwatch::app {
namespace {

constexpr const char* kReplayUsage =
    "usage: driftwatch replay [OPTIONS] INPUT...\n"
    "  INPUT                a file (.json, .ndjson, .json.gz, a CloudTrail log file or Config\n"
    "                       snapshot), '-' for stdin, or kafka://BROKERS/TOPIC?from=TIME&to=TIME\n"
    "  --format table|ndjson  findings as a table (default) or one JSON object per line\n"
    "  --state DIR          keep the state in DIR (resumes where DIR's state ends); default: a\n"
    "                       temporary state that is removed at exit\n"
    "  --rules PATH         rule file or directory (repeatable; default: the built-in pack)\n"
    "  --config FILE        read policy (approved regions, trusted accounts, ...) from FILE\n"
    "  --dead-letter FILE   append records that cannot be decoded to FILE (NDJSON)\n"
    "  --stats FILE         write the counters as one JSON object to FILE\n"
    "  --batch-size N       records per state batch (default 1000, 1..1000000)\n"
    "  --quiet              no summary or progress on stderr\n"
    "  --no-activity        do not index calls by principal, key, IP and session (the index\n"
    "                       `driftwatch incident` reads; on by default)\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "driftwatch replay: %s\n", message.c_str());
  return 2;
}

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
  size_t batch_size = 1000;
  bool quiet = false;
  bool record_activity = true;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) -> bool {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kReplayUsage, stdout);
      return 0;
    } else if (a == "--format") {
      if (!value(&format)) return UsageError("--format needs a value");
      if (format != "table" && format != "ndjson") {
        return UsageError("--format must be table or ndjson, not '" + format + "'");
      }
    } else if (a == "--state") {
      if (!value(&state_dir)) return UsageError("--state needs a directory");
    } else if (a == "--rules") {
      if (!value(&v)) return UsageError("--rules needs a path");
      rule_paths.push_back(v);
    } else if (a == "--config") {
      if (!value(&config_path)) return UsageError("--config needs a file");
    } else if (a == "--dead-letter") {
      if (!value(&dead_letter_path)) return UsageError("--dead-letter needs a file");
    } else if (a == "--stats") {
      if (!value(&stats_path)) return UsageError("--stats needs a file");
    } else if (a == "--batch-size") {
      if (!value(&v)) return UsageError("--batch-size needs a number");
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n < 1 || n > 1000000) {
        return UsageError("--batch-size must be 1..1000000, not '" + v + "'");
      }
      batch_size = static_cast<size_t>(n);
    } else if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else if (a == "--no-activity") {
      record_activity = false;
    } else if (a.size() > 1 && a[0] == '-') {
      return UsageError("unknown option '" + a + "' (see --help)");
    } else {
      inputs.push_back(a);
    }
  }
  if (inputs.empty()) return UsageError("no INPUT given (a file, '-' or kafka://...; see --help)");

  // Open every input first: an unreadable one is an error before anything runs.
  std::vector<std::unique_ptr<RecordSource>> sources;
  std::vector<FileSource*> file_sources;  // parallel to sources; null for Kafka
  Policy policy;
  std::vector<std::string> problems;
  if (Status s = LoadPolicy(config_path, &policy, &problems); !s.ok()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    return UsageError(s.message());
  }
  if (rule_paths.empty()) rule_paths = DefaultRulePaths();
  std::unique_ptr<RuleEngine> rules;
  if (Status s = MakeRuleEngine(rule_paths, policy, &rules, &problems); !s.ok()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    return UsageError(s.message());
  }

  TempDir temp;
  const bool keep_state = !state_dir.empty();
  if (!keep_state) {
    if (temp.path().empty()) return UsageError("cannot create a temporary state directory");
    state_dir = temp.path();
  }
  std::unique_ptr<StateStore> store;
  if (Status s = OpenStateStore(state_dir, &store); !s.ok()) return UsageError(s.message());
  if (Status s = PrimeRuleEngine(rules.get(), store.get()); !s.ok()) {
    return UsageError(s.message());
  }

  for (const std::string& input : inputs) {
    if (input.rfind("kafka://", 0) == 0) {
      std::unique_ptr<RecordSource> src;
      if (Status s = OpenKafkaReplaySource(input, &src); !s.ok()) return UsageError(s.message());
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
      bool found = false;
      if (!store->GetPosition(key, &start, &found).ok() || !found) start = 0;
    }
    std::unique_ptr<FileSource> src;
    if (Status s = FileSource::Open(input, start, &src); !s.ok()) return UsageError(s.message());
    file_sources.push_back(src.get());
    sources.push_back(std::move(src));
  }

  std::unique_ptr<FindingSink> out_sink;
  if (format == "ndjson") {
    out_sink = std::make_unique<NdjsonFindingSink>(stdout);
  } else {
    out_sink = std::make_unique<TableFindingSink>(stdout);
  }
  std::unique_ptr<DeadLetterFile> dead_letter;
  if (!dead_letter_path.empty()) {
    if (Status s = DeadLetterFile::Open(dead_letter_path, &dead_letter); !s.ok()) {
      return UsageError(s.message());
    }
  }
  FILE* stats_file = nullptr;
  if (!stats_path.empty()) {
    stats_file = std::fopen(stats_path.c_str(), "w");
    if (stats_file == nullptr) return UsageError(stats_path + ": cannot open for writing");
  }

  std::unique_ptr<EventDecoder> decoder = MakeDecoder();
  PipelineParts parts;
  parts.decoder = decoder.get();
  parts.store = store.get();
  parts.rules = rules.get();
  parts.sinks.push_back(out_sink.get());
  parts.dead_letter = dead_letter.get();
  parts.record_activity = record_activity;
  Pipeline pipeline(std::move(parts));

  const auto started = std::chrono::steady_clock::now();
  Progress progress(!quiet);
  std::vector<RawRecord> records;
  std::vector<PipelineRecord> batch;
  int exit_code = 0;
  for (size_t k = 0; k < sources.size() && exit_code == 0; ++k) {
    bool more = true;
    while (more) {
      if (Status s = sources[k]->Next(batch_size, &records, &more); !s.ok()) {
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
