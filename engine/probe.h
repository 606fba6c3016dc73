#pragma once
// Domain-verb hooks the pipeline calls; exporters/ implements them with Prometheus metrics.
// The default does nothing, so the engine runs without any exporter.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vocab/event.h"
#include "vocab/finding.h"

namespace driftwatch {

class PipelineProbe {
 public:
  virtual ~PipelineProbe() = default;
  virtual void OnRecord(std::string_view /*source*/) {}
  virtual void OnEventDecoded(const Event& /*event*/, std::string_view /*source*/) {}
  virtual void OnInvalidRecord(std::string_view /*reason*/) {}
  virtual void OnDuplicateEvent() {}
  virtual void OnFindingChanged(const Finding& /*finding*/, bool /*opened*/) {}
  virtual void OnBatchDone(double /*seconds*/, int64_t /*now_ms*/) {}

  // Called by the service outside the per-record path (any thread; implementations serialise).
  // Resources in state by type: the full census, replacing the previous one.
  virtual void OnResourceCounts(const std::vector<std::pair<std::string, int64_t>>& /*counts*/) {}
  // Messages between the committed offset and the high watermark of one partition.
  virtual void OnKafkaLag(std::string_view /*topic*/, int32_t /*partition*/, int64_t /*lag*/) {}
  // Bytes the state store occupies on disk.
  virtual void OnStateSize(int64_t /*bytes*/) {}
};

}  // namespace driftwatch
