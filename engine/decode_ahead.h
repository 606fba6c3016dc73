#pragma once
// Decodes the records of a batch on a thread of its own, ahead of the pipeline that applies them:
// record i's events are ready once Wait(i) returns. The decoder is used by that thread only while
// a batch is in hand. One batch at a time; Start, then Wait for each index in order, then Finish.
// With a `prepare` function, that thread also runs it on each event (work that depends on the
// event alone: parses for the applier and the rules), so it is done when Wait returns.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "appliers/prepared_event.h"
#include "engine/pipeline.h"
#include "vocab/event.h"

namespace driftwatch {

class DecodeAhead {
 public:
  using PrepareFn = std::function<void(const Event&, PreparedEvent*)>;
  explicit DecodeAhead(EventDecoder* decoder, PrepareFn prepare = nullptr);
  ~DecodeAhead();
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  struct Slot {
    std::vector<Event> events;  // the first `used` are this record's
    size_t used = 0;
    std::vector<EventDecoder::Rejected> rejected;
    std::vector<PreparedEvent> prepared;  // one per event when there is a prepare function
  };

  // Begins decoding `batch`, which must outlive Finish().
  void Start(const std::vector<PipelineRecord>& batch);
  // Record i, decoded (and prepared). The caller may take from it: the slot is rewritten only
  // by the next batch.
  Slot& Wait(size_t i);
  // Stops early if the batch was not read to its end, and waits until the thread is idle.
  void Finish();

 private:
  void Loop();

  EventDecoder* decoder_;
  PrepareFn prepare_;
  std::vector<Slot> slots_;
  const std::vector<PipelineRecord>* batch_ = nullptr;
  std::atomic<size_t> ready_{0};  // records decoded so far in this batch
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool has_work_ = false;
  bool working_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace driftwatch
