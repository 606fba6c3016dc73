#pragma once
#include "vocab/finding.h"
#include "vocab/status.h"

namespace driftwatch {

// Receives every change of a finding's status once, after the batch that caused it is durable.
class FindingSink {
 public:
  virtual ~FindingSink() = default;
  virtual Status Emit(const Finding& finding) = 0;
  virtual Status Flush() { return Status::Ok(); }
};

}  // namespace driftwatch
