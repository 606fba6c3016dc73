#pragma once
// Domain-verb hooks the pipeline calls; exporters/ implements them with Prometheus metrics.
// The default does nothing, so the engine runs without any exporter.

#include <cstdint>
#include <string_view>

#include "engine/event.h"
#include "engine/finding.h"

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
};

}  // namespace driftwatch
