#pragma once
// Result type used at every module boundary. No exceptions cross a module line.

#include <string>
#include <utility>

namespace driftwatch {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

  // Explicit, searchable way to drop a status on purpose.
  void IgnoreError() const {}

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace driftwatch
