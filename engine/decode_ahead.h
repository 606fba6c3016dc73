#pragma once
// Decodes the records of a batch on a thread of its own, ahead of the pipeline that applies them:
// record i's events are ready once Wait(i) returns. The decoder is used by that thread only while
// a batch is in hand. One batch at a time; Start, then Wait for each index in order, then Finish.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/event.h"
#include "engine/pipeline.h"

namespace driftwatch {

class DecodeAhead {
 public:
  explicit DecodeAhead(EventDecoder* decoder);
  ~DecodeAhead();
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  struct Slot {
    std::vector<Event> events;  // the first `used` are this record's
    size_t used = 0;
    std::vector<EventDecoder::Rejected> rejected;
  };

  // Begins decoding `batch`, which must outlive Finish().
  void Start(const std::vector<PipelineRecord>& batch);
  // Record i, decoded.
  const Slot& Wait(size_t i);
  // Stops early if the batch was not read to its end, and waits until the thread is idle.
  void Finish();

 private:
  void Loop();

  EventDecoder* decoder_;
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
