#pragma once
// The engine's spine: raw records in, one durable WriteSet per batch, finding changes out.
//   RawRecord -> Decoder -> Event -> Applier -> StateDelta -> RuleEngine -> FindingChange
// One Pipeline per consumer thread; with PipelineParts::commit_every_records it keeps one more
// thread of its own that only commits.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "appliers/applier.h"
#include "engine/finding_sink.h"
#include "engine/probe.h"
#include "rules/rule_engine.h"
#include "state/state_cache.h"
#include "state/state_store.h"
#include "vocab/event.h"
#include "vocab/status.h"

namespace driftwatch {

// One input record as the pipeline sees it (sources convert theirs to this).
struct PipelineRecord {
  std::string_view bytes;
  std::string_view origin;
  std::string_view source;  // position key, "" when the source has no resumable position
  int64_t next_offset = 0;
};

// Receives records that could not be decoded: bytes, origin, reason name, detail.
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual Status Write(std::string_view bytes, std::string_view origin, std::string_view reason,
                       std::string_view detail) = 0;
};

struct PipelineCounters {
  int64_t records = 0;
  int64_t events = 0;
  int64_t invalid = 0;
  int64_t duplicates = 0;
  int64_t state_changes = 0;
  int64_t findings_opened = 0;
  int64_t findings_resolved = 0;
  int64_t findings_updated = 0;
  int64_t batches = 0;
  int64_t invalid_by_reason[8] = {};
};

// Decodes with the ingest decoder; provided by the composition root so engine stays free of
// simdjson. Appends events; returns rejected records as (reason name, detail) pairs.
class EventDecoder {
 public:
  virtual ~EventDecoder() = default;
  struct Rejected {
    int reason;
    std::string_view reason_name;
    std::string detail;
  };
  virtual void Decode(std::string_view bytes, std::string_view origin, std::vector<Event>* out,
                      std::vector<Rejected>* rejected) = 0;
  // Like Decode, writing events to (*out)[*used], ... and advancing *used; Event objects already
  // in `out` past *used may be overwritten in place (their strings keep their capacity). The
  // default appends through Decode.
  virtual void DecodeReusing(std::string_view bytes, std::string_view origin,
                             std::vector<Event>* out, size_t* used,
                             std::vector<Rejected>* rejected) {
    out->resize(*used);
    Decode(bytes, origin, out, rejected);
    *used = out->size();
  }
};

struct PipelineParts {
  EventDecoder* decoder = nullptr;        // required
  StateStore* store = nullptr;            // required
  RuleEngine* rules = nullptr;            // optional: no findings without it
  std::vector<FindingSink*> sinks;        // optional
  DeadLetterSink* dead_letter = nullptr;  // optional
  PipelineProbe* probe = nullptr;         // optional
  std::function<int64_t()> now_ms;        // wall clock, for metrics only; default system clock
  // Index every CloudTrail call (read-only and failed ones too) by principal, key, source IP and
  // session for `driftwatch incident`. Off for the live service's throughput; replay turns it on.
  bool record_activity = false;
  // Memory for documents and findings kept between batches (StateCache), so that resources a
  // stream keeps changing are neither read from the store nor parsed again. 0 turns it off.
  size_t cache_bytes = size_t{64} << 20;
  // 0: each batch is one WriteSet, committed on the calling thread. N > 0: every N records the
  // writes so far go to a committer thread as a WriteSet of their own (with the positions they
  // reach, not synced) while the next records are processed; the last part is synced and
  // ProcessBatch returns once every part is durable. A crash keeps a prefix of whole parts with
  // their positions. The store must take Commit on another thread while this one reads it
  // (RocksDbStore does; MemoryStore does not).
  size_t commit_every_records = 0;
  // Decode a batch's records on a thread of its own, ahead of the records being applied; that
  // thread also prepares each event (PreparedEvent: the applier's and the rules' parses, the
  // activity record). The decoder is then used by that thread only, and the rule engine's
  // Prepare too.
  bool decode_ahead = false;
  // Fill WriteSet::account_sources and event_sources, for a store that routes writes by the
  // source they came from (the changelog).
  bool route_sources = false;
};

class ActivityRunTracker;
class BatchContext;
class Committer;
class DecodeAhead;

class Pipeline {
 public:
  explicit Pipeline(PipelineParts parts);
  ~Pipeline();

  // Decodes, applies and evaluates a batch, commits it as one WriteSet (with the source
  // positions), then emits finding changes. On a store error nothing of the batch is kept and
  // the error is returned: the caller must not advance past the batch.
  Status ProcessBatch(const std::vector<PipelineRecord>& batch);

  // The store was changed by someone else between batches (a changelog restore): forgets what
  // the cache holds and reads the event-time watermark again.
  void StoreChangedUnderneath();

  const PipelineCounters& counters() const { return counters_; }
  int64_t watermark_ms() const { return watermark_ms_; }

 private:
  PipelineParts parts_;
  Applier applier_;
  PipelineCounters counters_;
  std::unique_ptr<StateCache> cache_;  // null when PipelineParts::cache_bytes is 0
  int64_t watermark_ms_ = 0;
  std::vector<Event> events_;  // reused across records: only the first events_used_ are live
  size_t events_used_ = 0;
  std::vector<StateDelta> deltas_;
  std::vector<EventDecoder::Rejected> rejected_;
  std::vector<ActivityRecord> activity_;
  std::unique_ptr<ActivityRunTracker> activity_run_;
  std::unique_ptr<Committer> committer_;       // when commit_every_records > 0
  std::unique_ptr<DecodeAhead> decode_ahead_;  // when decode_ahead
  // With route_sources: the part's account -> source and event id -> source.
  std::unordered_map<std::string, std::string> route_accounts_;
  std::vector<std::pair<std::string, std::string>> route_events_;

  // Each account's event-time clock (kAccountClockPrefix), read from the store on first use;
  // the ones moved since the last part are written with it.
  std::unordered_map<std::string, int64_t> clocks_;
  std::vector<std::string> clocks_moved_;

  // One record's decoding: its events (the first `used`), its rejections, and with decode
  // ahead the events' prepared parses (else null). Points into events_ or a DecodeAhead slot.
  struct DecodedRecord {
    const std::vector<Event>* events;
    size_t used;
    const std::vector<EventDecoder::Rejected>* rejected;
    std::vector<PreparedEvent>* prepared;
  };

  // The steps of ProcessBatch, in order.
  // Decodes and applies every record, evaluates the rules and, with a committer, hands parts
  // to it; stops at the first dead-letter failure (returned) or read failure (in ctx).
  Status ApplyRecords(const std::vector<PipelineRecord>& batch, BatchContext& ctx,
                      PipelineCounters* counters);
  DecodedRecord DecodeRecord(size_t index, const PipelineRecord& record);
  // Counts the record's rejections and writes it to the dead-letter sink once per rejection.
  Status RejectRecord(const PipelineRecord& record,
                      const std::vector<EventDecoder::Rejected>& rejected,
                      PipelineCounters* counters);
  // One event: skipped when seen, else clocks, appliers, seen id, routes, activity, rules.
  void ApplyEvent(const PipelineRecord& record, const Event& event, PreparedEvent* ready,
                  BatchContext& ctx, PipelineCounters* counters);
  // The watermark and the event's account clock, firing the deadlines the clock reaches.
  void AdvanceEventTime(const Event& event, BatchContext& ctx);
  // An API call's place in the run's span and, with the index, its activity record.
  void RecordActivity(const Event& event, PreparedEvent* ready);
  // The rules on the event's state deltas (deltas_), then on the event itself.
  void EvaluateRules(const Event& event, PreparedEvent* ready, BatchContext& ctx);
  // Gives the writes since the last part to the committer, not yet durable.
  void SubmitPart(BatchContext& ctx);
  // Commits the rest of the batch with the watermark; on failure the clocks are read again
  // and, with a committer, the parts are let land.
  Status CommitBatch(BatchContext& ctx);
  // Counts and sends the batch's finding changes to every sink, then flushes them.
  Status EmitFindings(const std::vector<Finding>& emitted, PipelineCounters* counters);
  void AddCounters(const PipelineCounters& batch);

  // The event-time watermark the store holds, or `otherwise` when it holds none.
  int64_t StoredWatermark(int64_t otherwise) const;
  // Moves `account`'s clock to `time_ms` when that is newer; returns the clock.
  int64_t AdvanceClock(const std::string& account, int64_t time_ms);
  // The writes since the last part, with the activity records gathered since.
  WriteSet TakePart(BatchContext& ctx);
  // A batch that failed after parts of it were given to the committer: lets those land (whole,
  // with their positions), forgets what the cache learned before them, and returns `why`.
  Status AbandonParts(Status why);
};

}  // namespace driftwatch
