#include "engine/decode_ahead.h"

#include <utility>

namespace driftwatch {

DecodeAhead::DecodeAhead(EventDecoder* decoder, PrepareFn prepare)
    : decoder_(decoder), prepare_(std::move(prepare)), thread_([this] { Loop(); }) {}

DecodeAhead::~DecodeAhead() {
  Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void DecodeAhead::Start(const std::vector<PipelineRecord>& batch) {
  if (slots_.size() < batch.size()) slots_.resize(batch.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch_ = &batch;
    ready_.store(0, std::memory_order_relaxed);
    cancel_.store(false, std::memory_order_relaxed);
    has_work_ = true;
    working_ = true;
  }
  cv_.notify_all();
}

DecodeAhead::Slot& DecodeAhead::Wait(size_t i) {
  size_t ready = ready_.load(std::memory_order_acquire);
  while (ready <= i) {
    ready_.wait(ready, std::memory_order_acquire);
    ready = ready_.load(std::memory_order_acquire);
  }
  return slots_[i];
}

void DecodeAhead::Finish() {
  cancel_.store(true, std::memory_order_relaxed);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !working_; });
  batch_ = nullptr;
}

void DecodeAhead::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || has_work_; });
    if (!has_work_) return;
    has_work_ = false;
    const std::vector<PipelineRecord>& batch = *batch_;
    lock.unlock();
    for (size_t i = 0; i < batch.size() && !cancel_.load(std::memory_order_relaxed); ++i) {
      Slot& slot = slots_[i];
      slot.used = 0;
      slot.rejected.clear();
      decoder_->DecodeReusing(batch[i].bytes, batch[i].origin, &slot.events, &slot.used,
                              &slot.rejected);
      if (prepare_) {
        if (slot.prepared.size() < slot.used) slot.prepared.resize(slot.used);
        for (size_t e = 0; e < slot.used; ++e) {
          slot.prepared[e].Reset();
          prepare_(slot.events[e], &slot.prepared[e]);
        }
      }
      ready_.store(i + 1, std::memory_order_release);
      ready_.notify_one();
    }
    lock.lock();
    working_ = false;
    cv_.notify_all();
  }
}

}  // namespace driftwatch
