#include "engine/pipeline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "appliers/activity.h"
#include "engine/decode_ahead.h"
#include "state/batch_context.h"

namespace driftwatch {
namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Commits WriteSets in the order given, on its own thread. After a failed commit it commits
// nothing more until Wait has reported the failure.
class Committer {
 public:
  explicit Committer(StateStore* store) : store_(store), thread_([this] { Loop(); }) {}
  ~Committer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Submit(WriteSet w) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(w));
    }
    cv_.notify_all();
  }
  // Waits until everything submitted is committed (or dropped after a failure); the first
  // failure since the last Wait, else Ok.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
    Status s = std::move(error_);
    error_ = Status::Ok();
    return s;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      WriteSet w = std::move(queue_.front());
      queue_.pop_front();
      const bool failed = !error_.ok();
      busy_ = true;
      lock.unlock();
      Status s = failed ? Status::Ok() : store_->Commit(w);
      lock.lock();
      busy_ = false;
      if (!s.ok() && error_.ok()) error_ = std::move(s);
      if (queue_.empty()) idle_cv_.notify_all();
    }
  }

  StateStore* store_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<WriteSet> queue_;
  bool busy_ = false;
  bool stop_ = false;
  Status error_;
  std::thread thread_;  // last: starts once the members it uses exist
};

Pipeline::Pipeline(PipelineParts parts) : parts_(std::move(parts)) {
  if (!parts_.now_ms) parts_.now_ms = SystemNowMs;
  if (parts_.cache_bytes > 0) cache_ = std::make_unique<StateCache>(parts_.cache_bytes);
  if (parts_.commit_every_records > 0) committer_ = std::make_unique<Committer>(parts_.store);
  if (parts_.decode_ahead) {
    // The parses that depend on the event alone are done by the decoding thread too.
    RuleEngine* rules = parts_.rules;
    const bool activity = parts_.record_activity;
    decode_ahead_ = std::make_unique<DecodeAhead>(
        parts_.decoder, [rules, activity](const Event& event, PreparedEvent* out) {
          Applier::Prepare(event, out);
          if (rules != nullptr) rules->Prepare(event, out);
          if (activity && event.kind == EventKind::kApiCall) {
            out->activity = ActivityRecordOfEvent(event, out->record_ready ? &out->record : nullptr);
            out->activity_ready = true;
          }
        });
  }
  activity_run_ =
      std::make_unique<ActivityRunTracker>(NewActivityRunId(SystemNowMs()), parts_.record_activity);
  if (parts_.store != nullptr) watermark_ms_ = StoredWatermark(watermark_ms_);
}

int64_t Pipeline::StoredWatermark(int64_t otherwise) const {
  int64_t stored = 0;
  if (parts_.store->GetPosition(kWatermarkPosition, &stored).ok()) return stored;
  return otherwise;
}

Pipeline::~Pipeline() = default;

Status Pipeline::ProcessBatch(const std::vector<PipelineRecord>& batch) {
  const auto started = std::chrono::steady_clock::now();
  BatchContext ctx(parts_.store, cache_.get());
  ctx.set_watermark_ms(watermark_ms_);
  PipelineCounters batch_counters;
  Status failed = ApplyRecords(batch, ctx, &batch_counters);
  if (failed.ok()) failed = ctx.read_status();
  if (!failed.ok()) {
    clocks_.clear();  // moved by records whose writes are not kept: read them again
    clocks_moved_.clear();
    return committer_ != nullptr ? AbandonParts(failed) : failed;
  }
  if (Status s = CommitBatch(ctx); !s.ok()) return s;
  ctx.Published();
  watermark_ms_ = ctx.watermark_ms();
  if (Status s = EmitFindings(ctx.TakeEmitted(), &batch_counters); !s.ok()) return s;
  AddCounters(batch_counters);
  if (parts_.probe) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    parts_.probe->OnBatchDone(seconds, parts_.now_ms());
  }
  return Status::Ok();
}

Status Pipeline::ApplyRecords(const std::vector<PipelineRecord>& batch, BatchContext& ctx,
                              PipelineCounters* counters) {
  activity_.clear();
  route_accounts_.clear();
  route_events_.clear();
  size_t since_part = 0;
  Status failed;
  if (decode_ahead_ != nullptr) decode_ahead_->Start(batch);
  for (size_t index = 0; index < batch.size(); ++index) {
    const PipelineRecord& record = batch[index];
    ++counters->records;
    if (parts_.probe) parts_.probe->OnRecord(record.source);
    const DecodedRecord decoded = DecodeRecord(index, record);
    failed = RejectRecord(record, *decoded.rejected, counters);
    if (!failed.ok()) break;
    for (size_t e = 0; e < decoded.used; ++e) {
      PreparedEvent* ready = decoded.prepared != nullptr ? &(*decoded.prepared)[e] : nullptr;
      ApplyEvent(record, (*decoded.events)[e], ready, ctx, counters);
    }
    if (!record.source.empty()) ctx.SetPosition(std::string(record.source), record.next_offset);
    if (committer_ != nullptr && ++since_part >= parts_.commit_every_records) {
      since_part = 0;
      if (!ctx.read_status().ok()) break;
      SubmitPart(ctx);
    }
  }
  if (decode_ahead_ != nullptr) decode_ahead_->Finish();
  return failed;
}

Pipeline::DecodedRecord Pipeline::DecodeRecord(size_t index, const PipelineRecord& record) {
  if (decode_ahead_ != nullptr) {
    DecodeAhead::Slot& slot = decode_ahead_->Wait(index);
    return DecodedRecord{&slot.events, slot.used, &slot.rejected, &slot.prepared};
  }
  events_used_ = 0;
  rejected_.clear();
  parts_.decoder->DecodeReusing(record.bytes, record.origin, &events_, &events_used_, &rejected_);
  return DecodedRecord{&events_, events_used_, &rejected_, nullptr};
}

Status Pipeline::RejectRecord(const PipelineRecord& record,
                              const std::vector<EventDecoder::Rejected>& rejected,
                              PipelineCounters* counters) {
  for (const EventDecoder::Rejected& r : rejected) {
    ++counters->invalid;
    if (r.reason >= 0 && r.reason < 8) ++counters->invalid_by_reason[r.reason];
    if (parts_.probe) parts_.probe->OnInvalidRecord(r.reason_name);
    if (parts_.dead_letter != nullptr) {
      Status s = parts_.dead_letter->Write(record.bytes, record.origin, r.reason_name, r.detail);
      if (!s.ok()) return Status::Error("dead-letter sink: " + s.message());
    }
  }
  return Status::Ok();
}

void Pipeline::ApplyEvent(const PipelineRecord& record, const Event& event, PreparedEvent* ready,
                          BatchContext& ctx, PipelineCounters* counters) {
  ++counters->events;
  if (parts_.probe) parts_.probe->OnEventDecoded(event, record.source);
  const bool may_change_state =
      event.kind == EventKind::kConfigItem ||
      (event.kind == EventKind::kApiCall && event.error_code.empty() && !event.read_only);
  // Read-only and failed calls are never marked seen (they write nothing), so asking the
  // store about them would only cost a read; a repeat of one is harmless (its finding and
  // its index entry are keyed by the event id).
  const bool remembered = may_change_state || event.kind != EventKind::kApiCall;
  if (remembered && !event.id.empty() && ctx.SeenEvent(event.id)) {
    ++counters->duplicates;
    if (parts_.probe) parts_.probe->OnDuplicateEvent();
    return;
  }
  AdvanceEventTime(event, ctx);
  deltas_.clear();
  if (may_change_state) applier_.Apply(event, ctx, &deltas_, ready);
  // Only events that change something are remembered as seen: read-only calls never write.
  if (!event.id.empty() && remembered) ctx.MarkSeen(event.id, event.time_ms);
  if (parts_.route_sources && !record.source.empty()) {
    if (!event.account.empty()) route_accounts_[event.account] = record.source;
    if (!event.id.empty() && remembered) {
      route_events_.emplace_back(event.id, std::string(record.source));
    }
  }
  if (event.kind == EventKind::kApiCall) RecordActivity(event, ready);
  applier_.NoteUse(event, ctx, &deltas_);  // credential use: after the call's own changes
  counters->state_changes += static_cast<int64_t>(deltas_.size());
  EvaluateRules(event, ready, ctx);
}

void Pipeline::AdvanceEventTime(const Event& event, BatchContext& ctx) {
  // A control record's time is its sender's clock, not the stream's: it never moves the
  // event-time watermark.
  if (event.kind == EventKind::kControl) return;
  ctx.AdvanceWatermark(event.time_ms);
  // The account's deadlines its clock reaches fire before this event is applied: findings
  // depend on the account's own stream, not on batches, partitions or group members.
  const int64_t clock = AdvanceClock(event.account, event.time_ms);
  if (parts_.rules != nullptr && clock >= parts_.rules->next_deadline_ms(event.account)) {
    parts_.rules->OnAccountClock(ctx, event.account, clock);
  }
}

void Pipeline::RecordActivity(const Event& event, PreparedEvent* ready) {
  activity_run_->Add(event.time_ms);
  if (!parts_.record_activity) return;
  if (ready != nullptr && ready->activity_ready) {
    activity_.push_back(std::move(ready->activity));
    SetActivityResources(event, deltas_, &activity_.back());
  } else {
    activity_.push_back(MakeActivityRecord(event, deltas_));
  }
}

void Pipeline::EvaluateRules(const Event& event, PreparedEvent* ready, BatchContext& ctx) {
  if (parts_.rules == nullptr) return;
  // State first: an event rule that gives evidence to a posture rule finds the posture
  // finding as this event left it.
  for (const StateDelta& d : deltas_) {
    parts_.rules->OnStateDelta(d, d.cause ? *d.cause : event, ctx);
  }
  if (ready != nullptr) {
    parts_.rules->OnPreparedEvent(event, *ready, ctx);
  } else {
    parts_.rules->OnEvent(event, ctx);
  }
}

void Pipeline::SubmitPart(BatchContext& ctx) {
  WriteSet part = TakePart(ctx);
  part.durable = false;
  if (!part.empty()) committer_->Submit(std::move(part));
}

Status Pipeline::CommitBatch(BatchContext& ctx) {
  if (ctx.watermark_ms() != watermark_ms_) {
    ctx.SetPosition(std::string(kWatermarkPosition), ctx.watermark_ms());
  }
  WriteSet writes = TakePart(ctx);
  Status committed = Status::Ok();
  if (committer_ != nullptr) {
    if (!writes.empty()) committer_->Submit(std::move(writes));
    committed = committer_->Wait();
    if (!committed.ok()) return AbandonParts(committed);
  } else if (!writes.empty()) {
    committed = parts_.store->Commit(writes);
  }
  if (!committed.ok()) {
    clocks_.clear();
    clocks_moved_.clear();
  }
  return committed;
}

Status Pipeline::EmitFindings(const std::vector<Finding>& emitted, PipelineCounters* counters) {
  for (const Finding& f : emitted) {
    const bool opened = f.status == FindingStatus::kOpen;
    if (opened) {
      ++counters->findings_opened;
    } else {
      ++counters->findings_resolved;
    }
    if (parts_.probe) parts_.probe->OnFindingChanged(f, opened);
    for (FindingSink* sink : parts_.sinks) {
      Status s = sink->Emit(f);
      if (!s.ok()) return Status::Error("finding sink: " + s.message());
    }
  }
  for (FindingSink* sink : parts_.sinks) {
    Status s = sink->Flush();
    if (!s.ok()) return Status::Error("finding sink: " + s.message());
  }
  return Status::Ok();
}

void Pipeline::AddCounters(const PipelineCounters& batch) {
  counters_.records += batch.records;
  counters_.events += batch.events;
  counters_.invalid += batch.invalid;
  counters_.duplicates += batch.duplicates;
  counters_.state_changes += batch.state_changes;
  counters_.findings_opened += batch.findings_opened;
  counters_.findings_resolved += batch.findings_resolved;
  for (int i = 0; i < 8; ++i) counters_.invalid_by_reason[i] += batch.invalid_by_reason[i];
  ++counters_.batches;
}

int64_t Pipeline::AdvanceClock(const std::string& account, int64_t time_ms) {
  auto it = clocks_.find(account);
  if (it == clocks_.end()) {
    int64_t stored = INT64_MIN;
    if (!parts_.store->GetPosition(std::string(kAccountClockPrefix) + account, &stored).ok()) {
      stored = INT64_MIN;
    }
    it = clocks_.emplace(account, stored).first;
  }
  if (time_ms > it->second) {
    if (it->second == INT64_MIN || clocks_moved_.empty() || clocks_moved_.back() != account) {
      clocks_moved_.push_back(account);
    }
    it->second = time_ms;
  }
  return it->second;
}

void Pipeline::StoreChangedUnderneath() {
  clocks_.clear();
  clocks_moved_.clear();
  if (cache_) cache_->Clear();
  watermark_ms_ = std::max(watermark_ms_, StoredWatermark(watermark_ms_));
}

Status Pipeline::AbandonParts(Status why) {
  (void)committer_->Wait();  // an error of a part after the first is already in `why` or moot
  // Some parts may be in the store and some not: what the cache learned from reads during the
  // batch may be older than the store now.
  if (cache_) cache_->Clear();
  return why;
}

WriteSet Pipeline::TakePart(BatchContext& ctx) {
  for (const std::string& account : clocks_moved_) {
    auto it = clocks_.find(account);
    if (it != clocks_.end()) ctx.SetPosition(std::string(kAccountClockPrefix) + account, it->second);
  }
  clocks_moved_.clear();
  WriteSet w = ctx.TakeWrites();
  w.activity = std::move(activity_);
  activity_.clear();
  if (parts_.route_sources) {
    w.account_sources.assign(route_accounts_.begin(), route_accounts_.end());
    route_accounts_.clear();
    w.event_sources = std::move(route_events_);
    route_events_.clear();
  }
  // The run's span rides along with writes the batch makes anyway (or with the index): a batch
  // of read-only calls alone still writes nothing when the index is off.
  if (parts_.record_activity || !w.empty()) {
    ActivityRun run;
    if (activity_run_->Take(&run)) w.activity_runs.push_back(std::move(run));
  }
  return w;
}

}  // namespace driftwatch
