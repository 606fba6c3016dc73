#pragma once
// Result type used at every module boundary. No exceptions cross a module line.
//
// A Status is Ok or carries a code and a message, in the manner of leveldb's Status: callers
// branch on the code (IsNotFound(), ...) and print the message. message() is the text alone, as
// it goes to users; ToString() prefixes the code's name ("NotFound: ...") for logs and tests.
// A code-only Status (empty message) allocates nothing, so a store's NotFound on a cache miss
// costs no more than the old found flag.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace driftwatch {

class [[nodiscard]] Status {
 public:
  // What went wrong. Not persisted; names may be printed by ToString().
  enum class Code : uint8_t {
    kOk = 0,
    kNotFound,         // the key, file or thing asked for is absent (often not a failure)
    kCorruption,       // stored or input bytes that cannot be read back
    kInvalidArgument,  // a caller's or user's value is out of bounds or malformed
    kIOError,          // the file system, RocksDB or a socket failed
    kNotSupported,     // this implementation cannot do what was asked
    kUnavailable,      // a peer (Kafka broker, metrics listener) could not be reached or used
    kError,            // a failure no narrower code names
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string message = {}) {
    return Status(Code::kNotFound, std::move(message));
  }
  static Status Corruption(std::string message) {
    return Status(Code::kCorruption, std::move(message));
  }
  static Status InvalidArgument(std::string message) {
    return Status(Code::kInvalidArgument, std::move(message));
  }
  static Status IOError(std::string message) { return Status(Code::kIOError, std::move(message)); }
  static Status NotSupported(std::string message) {
    return Status(Code::kNotSupported, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(Code::kUnavailable, std::move(message));
  }
  static Status Error(std::string message) { return Status(Code::kError, std::move(message)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsNotSupported() const { return code_ == Code::kNotSupported; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }

  // The text alone, as printed to users ("" for Ok and for a code-only status).
  const std::string& message() const { return message_; }
  // "OK", or the code's name and the message: "NotFound: finding 1a2b", "NotFound".
  std::string ToString() const {
    if (ok()) return "OK";
    std::string out(CodeName(code_));
    if (!message_.empty()) out.append(": ").append(message_);
    return out;
  }
  static std::string_view CodeName(Code code) {
    switch (code) {
      case Code::kOk:
        return "OK";
      case Code::kNotFound:
        return "NotFound";
      case Code::kCorruption:
        return "Corruption";
      case Code::kInvalidArgument:
        return "InvalidArgument";
      case Code::kIOError:
        return "IOError";
      case Code::kNotSupported:
        return "NotSupported";
      case Code::kUnavailable:
        return "Unavailable";
      case Code::kError:
        return "Error";
    }
    return "Error";
  }

  // Explicit, searchable way to drop a status on purpose.
  void IgnoreError() const {}

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace driftwatch
