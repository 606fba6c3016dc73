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

#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/policy.h"
#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/rocksdb_store.h"

namespace {

using Clock = std::chrono::steady_clock;

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

std::string Time(int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Record(size_t i, int64_t t, const std::string& source, const std::string& name,
                   bool read_only, const std::string& params, const std::string& response) {
  std::string r;
  r.reserve(900);
  r += R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE)";
  r += std::to_string(i % 13);
  r += R"(","arn":"arn:aws:iam::111122223333:user/dev)" + std::to_string(i % 13);
  r += R"(","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE)" + std::to_string(i % 13);
  r += R"(","userName":"dev)" + std::to_string(i % 13) +
       R"(","sessionContext":{"attributes":{"creationDate":")";
  r += Time(t - 300) + R"(","mfaAuthenticated":"false"}}},"eventTime":")" + Time(t);
  r += R"(","eventSource":")" + source + R"(","eventName":")" + name;
  r += R"(","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.)" + std::to_string(i % 250);
  r +=
      R"(","userAgent":"aws-cli/2.13.0 Python/3.11.4 Linux/6.1 exe/x86_64.debian.12","requestParameters":)";
  r += params + R"(,"responseElements":)" + response;
  r += R"(,"requestID":"req-)" + std::to_string(i) + R"(","eventID":"ev-)" + std::to_string(i);
  r += R"(","readOnly":)" + std::string(read_only ? "true" : "false");
  r +=
      R"(,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}})";
  return r;
}

std::vector<std::string> Generate(size_t n) {
  Rng rng(42);
  std::vector<std::string> out;
  out.reserve(n);
  const int64_t base = 1717236000;
  for (size_t i = 0; out.size() < n; ++i) {
    const int64_t t = base + static_cast<int64_t>(i);
    const size_t k = rng.Below(3000);
    if (rng.Below(100) < 80) {
      static const char* kReads[][2] = {{"ec2.amazonaws.com", "DescribeInstances"},
                                        {"s3.amazonaws.com", "GetBucketPolicy"},
                                        {"iam.amazonaws.com", "ListUsers"},
                                        {"ec2.amazonaws.com", "DescribeSecurityGroups"},
                                        {"sts.amazonaws.com", "GetCallerIdentity"}};
      const auto& r = kReads[rng.Below(5)];
      out.push_back(Record(
          i, t, r[0], r[1], true,
          R"({"filterSet":{"items":[{"name":"tag:team","valueSet":{"items":[{"value":"payments"}]}}]},"maxResults":100})",
          "null"));
      continue;
    }
    const std::string ks = std::to_string(k);
    switch (rng.Below(6)) {
      case 0:
        out.push_back(Record(
            i, t, "ec2.amazonaws.com",
            rng.Below(2) ? "AuthorizeSecurityGroupIngress" : "RevokeSecurityGroupIngress", false,
            R"({"groupId":"sg-)" + ks +
                R"(","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":)" +
                std::to_string(k % 100) + R"(,"toPort":)" + std::to_string(k % 100) +
                R"(,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}]}})",
            R"({"_return":true})"));
        break;
      case 1:
        out.push_back(Record(i, t, "cloudtrail.amazonaws.com",
                             rng.Below(2) ? "StartLogging" : "StopLogging", false,
                             R"({"name":"trail-)" + std::to_string(k % 40) + R"("})", "null"));
        break;
      case 2:
        out.push_back(Record(i, t, "iam.amazonaws.com", "CreateAccessKey", false,
                             R"({"userName":"user-)" + std::to_string(k % 400) + R"("})",
                             R"({"accessKey":{"accessKeyId":"AKIAK)" + std::to_string(i) +
                                 R"(","status":"Active","userName":"user-)" +
                                 std::to_string(k % 400) +
                                 R"(","createDate":"Jun 1, 2024 10:00:00 AM"}})"));
        break;
      case 3:
        out.push_back(Record(
            i, t, "s3.amazonaws.com", "PutBucketPolicy", false,
            R"({"bucketName":"bucket-)" + ks +
                R"(","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-)" +
                ks + R"(/*"}]},"policy":[""]})",
            "null"));
        break;
      case 4:
        out.push_back(Record(
            i, t, "ec2.amazonaws.com", "RunInstances", false,
            R"({"imageId":"ami-)" + std::to_string(k % 20) + R"(","instanceType":"t3.micro"})",
            R"({"instancesSet":{"items":[{"instanceId":"i-)" + std::to_string(i) +
                R"(","imageId":"ami-)" + std::to_string(k % 20) +
                R"(","instanceType":"t3.micro","instanceState":{"code":0,"name":"pending"}}]}})"));
        break;
      default:
        // A late delivery, ten minutes older than its neighbours.
        out.push_back(Record(i, t - 600, "cloudtrail.amazonaws.com", "StartLogging", false,
                             R"({"name":"trail-)" + std::to_string(k % 40) + R"("})", "null"));
    }
    if (rng.Below(100) < 3 && out.size() < n) out.push_back(out.back());  // duplicate delivery
  }
  return out;
}

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

}  // namespace

int main(int argc, char** argv) {
  const size_t records = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const char* source_dir = std::getenv("DW_SOURCE_DIR");
  const std::string rules_dir =
      argc > 3 ? argv[3]
               : (source_dir != nullptr ? std::string(source_dir) + "/config/rules"
                                        : std::string("config/rules"));
  const std::vector<std::string> lines = Generate(records);
  // Bytes of every file under `path` (the state directory once its store is closed).
  auto dir_bytes = [](const std::string& path) {
    uintmax_t total = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(path, ec)) {
      if (e.is_regular_file(ec)) total += e.file_size(ec);
    }
    return static_cast<double>(total);
  };
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
    const double seconds = RunPipeline(lines, dir, rules_dir,
                                       Mode{only != "state", only == "replay", false});
    const double state_bytes = dir_bytes(dir);
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
    replay_bytes = dir_bytes(dir);
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
  std::printf("diagnostic: no rules, WAL synced per batch (as `run`): %12.0f records/s  ratio %.2f\n",
              synced_rate, synced_rate / raw_rate);
  const double decode_rate = n / Median(decoded);
  std::printf("diagnostic: event decoder alone:      %12.0f records/s  ratio %.2f\n", decode_rate,
              decode_rate / raw_rate);
  return 0;
}
