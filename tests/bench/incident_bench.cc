// Incident query speed (issue 7 item 5): a RocksDB state filled with N synthetic events, then
// `BuildIncidentReport` for one principal through the activity index vs the same question
// answered by scanning all history, in the same run.
//
// The fill writes each event as the pipeline writes it with the activity index on (a history
// entry for the one call in five that changes state, an activity record for every call, the run
// record), in WriteSets of 20000 events committed through RocksDbStore::Commit: the real on-disk
// layout, indexes and all. Two things make it fast enough for 10 M events, and the output says
// so: the WAL is not synced during the fill (the queries do not depend on it), and the next
// WriteSet is generated on a second thread while the previous one is committed.
//
// The queries then run as `driftwatch incident` runs them: on the state reopened read-only.
//
// usage: incident_bench [EVENTS (default 10000000)] [FILL_SECONDS (default 900)] [DIR]
// (DIR: keep the state there; default a temporary directory, removed at the end)
// The fill stops at EVENTS or FILL_SECONDS, whichever comes first; the figure printed says how
// many events the state holds. Target: index query < 1 s and >= 100x faster than the scan.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "incident/incident.h"
#include "state/rocksdb_store.h"

using namespace driftwatch;

namespace {
double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}
}  // namespace

int main(int argc, char** argv) {
  const int64_t target = argc > 1 ? std::atoll(argv[1]) : 10000000;
  const double fill_limit = argc > 2 ? std::atof(argv[2]) : 900;
  std::string dir = argc > 3 ? argv[3] : "";
  bool remove_dir = false;
  if (dir.empty()) {
    char pattern[] = "/tmp/dw-incident-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return 2;
    dir = pattern;
    remove_dir = true;
  }
  RocksDbStoreOptions options;
  options.sync = false;
  options.block_cache_bytes = size_t{256} << 20;
  std::unique_ptr<RocksDbStore> store;
  if (Status s = RocksDbStore::Open(dir + "/state", options, &store); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 2;
  }
  constexpr int kPrincipals = 20000, kResources = 200000, kBatch = 20000;
  const int64_t t0 = 1790000000000;  // 2026-09

  // Batch `b` (events b*kBatch ...): deterministic whatever thread makes it.
  auto make_batch = [&](int64_t b, WriteSet* ws) {
    std::mt19937_64 rng(7 + b);
    const int64_t first = b * kBatch;
    const int64_t last = std::min<int64_t>(target, first + kBatch);
    for (int64_t n = first; n < last; ++n) {
      const int p = static_cast<int>(rng() % kPrincipals);
      const int r = static_cast<int>(rng() % kResources);
      const int64_t t = t0 + n * 50;  // 20 events a second of event time
      const std::string arn = "arn:aws:iam::111122223333:user/u" + std::to_string(p);
      const std::string key = "AKIABENCH" + std::to_string(100000 + p);
      const std::string ip = "10.0." + std::to_string(p % 250) + "." + std::to_string(p / 250);
      const std::string id = "ev-" + std::to_string(n);
      const bool write = rng() % 5 == 0;  // one call in five changes state
      ActivityRecord a;
      a.time_ms = t;
      a.event_id = id;
      a.event_source = "ec2.amazonaws.com";
      a.event_name = write ? "AuthorizeSecurityGroupIngress" : "DescribeInstances";
      a.region = "us-east-1";
      a.account = "111122223333";
      a.actor = {"IAMUser", arn, key, ip};
      a.read_only = !write;
      if (write) {
        const std::string rk = "111122223333|us-east-1|AWS::EC2::SecurityGroup|sg-" +
                               std::to_string(r);
        a.resource_keys.push_back(rk);
        HistoryEntry h;
        h.resource_key = rk;
        h.time_ms = t;
        h.event_id = id;
        h.action = a.event_name;
        h.actor = a.actor;
        h.change = R"({"added":{"ipPermissions":[{"ipProtocol":"tcp","fromPort":22}]}})";
        h.document_after = R"({"resourceType":"AWS::EC2::SecurityGroup","configuration":{}})";
        ws->history.push_back(std::move(h));
      }
      ws->activity.push_back(std::move(a));
    }
    ws->activity_runs.push_back({"bench", true, t0, t0 + (last - 1) * 50});
    return last;
  };

  // Generator thread -> at most two WriteSets waiting -> this thread commits them in order.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<int64_t, WriteSet>> ready;  // (events after this batch, batch)
  bool stop = false, generated_all = false;
  std::thread generator([&] {
    for (int64_t b = 0; b * kBatch < target; ++b) {
      WriteSet ws;
      const int64_t after = make_batch(b, &ws);
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stop || ready.size() < 2; });
      if (stop) return;
      ready.emplace_back(after, std::move(ws));
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    generated_all = true;
    cv.notify_all();
  });
  std::printf("fill: WriteSets as the pipeline writes them, committed through RocksDbStore "
              "(real on-disk layout and indexes); WAL not synced during the fill; next batch "
              "generated on a second thread\n");
  std::fflush(stdout);
  const auto fill_start = std::chrono::steady_clock::now();
  int64_t n = 0;
  double commit_s = 0;  // of the fill, the time spent in Commit
  Status commit_status;
  while (n < target && Seconds(fill_start) < fill_limit) {
    std::pair<int64_t, WriteSet> item;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !ready.empty() || generated_all; });
      if (ready.empty()) break;
      item = std::move(ready.front());
      ready.pop_front();
      cv.notify_all();
    }
    const auto commit_start = std::chrono::steady_clock::now();
    commit_status = store->Commit(item.second);
    commit_s += Seconds(commit_start);
    if (!commit_status.ok()) break;
    n = item.first;
    if (n % 1000000 < kBatch) {
      std::printf("  %lld events after %.0f s\n", static_cast<long long>(n), Seconds(fill_start));
      std::fflush(stdout);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  }
  generator.join();
  if (!commit_status.ok()) {
    std::fprintf(stderr, "%s\n", commit_status.message().c_str());
    return 2;
  }
  const double fill_s = Seconds(fill_start);
  std::printf("filled %lld events (%s) in %.1f s (%.0f events/s; %.1f s of it in Commit)\n",
              static_cast<long long>(n), n >= target ? "target reached" : "stopped at the time limit",
              fill_s, n / fill_s, commit_s);

  // Queried as `driftwatch incident` does: a fresh process's view, the state opened read-only
  // (cold block cache, no compaction running). Index and scan alternate, three times each; the
  // first index query is the cold one, the target is judged on the medians. Twice: on the state
  // as the fill left it (a compaction backlog: many overlapping files), then after compacting it
  // (RocksDbStore::CompactAll), the shape a state takes once RocksDB has caught up.
  auto reopen = [&](bool read_only) {
    store.reset();
    options.read_only = read_only;
    options.create_if_missing = false;
    Status s = RocksDbStore::Open(dir + "/state", options, &store);
    if (!s.ok()) std::fprintf(stderr, "%s\n", s.message().c_str());
    return s.ok();
  };
  bool all_same = true;
  for (const char* phase : {"as filled", "compacted"}) {
    if (phase[0] == 'c') {
      if (!reopen(false)) return 2;
      const auto start = std::chrono::steady_clock::now();
      if (Status s = store->CompactAll(); !s.ok()) {
        std::fprintf(stderr, "%s\n", s.message().c_str());
        return 2;
      }
      std::printf("compacted in %.1f s\n", Seconds(start));
    }
    if (!reopen(true)) return 2;
    IncidentQuery q;
    q.by = ActivityIndex::kPrincipal;
    q.value = "arn:aws:iam::111122223333:user/u4242";
    std::vector<double> index_times, scan_times;
    IncidentReport indexed, scanned;
    for (int round = 0; round < 3; ++round) {
      for (bool scan : {false, true}) {
        q.force_history_scan = scan;
        const auto start = std::chrono::steady_clock::now();
        IncidentReport* report = scan ? &scanned : &indexed;
        if (Status s = BuildIncidentReport(store.get(), q, report); !s.ok()) {
          std::fprintf(stderr, "%s\n", s.message().c_str());
          return 2;
        }
        (scan ? scan_times : index_times).push_back(Seconds(start));
      }
    }
    const double index_cold = index_times[0];
    std::sort(index_times.begin(), index_times.end());
    std::sort(scan_times.begin(), scan_times.end());
    const double index_s = index_times[1], scan_s = scan_times[1];
    size_t writes = 0;
    for (const ActivityRecord& c : indexed.calls) writes += c.read_only ? 0 : 1;
    std::printf("[%s] index query: %zu calls (%zu changed state), %zu resources; first (cold) "
                "%.4f s, median of 3 %.4f s\n",
                phase, indexed.calls.size(), writes, indexed.resources.size(), index_cold, index_s);
    std::printf("[%s] history scan: %zu calls that changed state, %zu resources; median of 3 "
                "%.3f s\n",
                phase, scanned.calls.size(), scanned.resources.size(), scan_s);
    std::printf("[%s] ratio (scan / index), medians: %.0fx; cold index query vs median scan: "
                "%.0fx; target (index < 1 s and >= 100x, medians): %s\n",
                phase, scan_s / index_s, scan_s / index_cold,
                index_s < 1.0 && scan_s / index_s >= 100 ? "met" : "NOT met");
    const bool same = scanned.calls.size() == writes &&
                      scanned.resources.size() == indexed.resources.size();
    if (!same) std::printf("[%s] MISMATCH between index and scan answers\n", phase);
    all_same = all_same && same;
  }
  store.reset();
  if (remove_dir) std::filesystem::remove_all(dir);
  return all_same ? 0 : 1;
}
