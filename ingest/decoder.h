#pragma once
// Turns the bytes of one input record into normalized events, recognising the envelope on its
// own: bare CloudTrail record, CloudTrail log file {"Records":[...]}, EventBridge envelope, SNS
// envelope (Message holds any of these as a string), AWS Config notifications and snapshots.
// Threading: one Decoder per thread (it owns a reusable simdjson parser). Never throws.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vocab/event.h"

namespace driftwatch {

// Why a record (or one element inside a log file / snapshot) was rejected. The names are metric
// label values and dead-letter reasons: do not change them.
enum class InvalidReason : uint8_t {
  kMalformedJson = 0,    // "malformed_json": not JSON, truncated
  kInvalidUtf8 = 1,      // "invalid_utf8"
  kTooLarge = 2,         // "too_large": over DecoderOptions::max_record_bytes
  kTooDeep = 3,          // "too_deep": nesting over DecoderOptions::max_depth
  kUnknownEnvelope = 4,  // "unknown_envelope": JSON, but no AWS shape the decoder knows
  kWrongType = 5,        // "wrong_type": a known shape with a field of the wrong JSON type
  kMissingField = 6,     // "missing_field": a known shape without a field it must have
};
inline constexpr int kInvalidReasonCount = 7;
std::string_view InvalidReasonName(InvalidReason reason);

struct InvalidRecord {
  InvalidReason reason;
  std::string detail;  // one line for people: what was wrong and where
  // Index of the element inside a multi-record container, or -1 for the whole record.
  int element = -1;
};

struct DecoderOptions {
  size_t max_record_bytes = 8 * 1024 * 1024;  // bigger records are rejected as too_large
  size_t max_depth = 256;                     // deeper nesting is rejected as too_deep
};

struct DecodeResult {
  size_t events = 0;                   // events appended to the output vector
  std::vector<InvalidRecord> invalid;  // zero or more rejected records/elements
  // Containers (CloudTrail Records[], a snapshot's configurationItems[]) that held no element:
  // an empty log file or snapshot is valid and yields no event, and says so here.
  size_t empty_containers = 0;
};

class Decoder {
 public:
  explicit Decoder(DecoderOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Appends the events found in `bytes` to `out` (origin copied into each). Good elements of a
  // container are kept even when others are invalid.
  DecodeResult Decode(std::string_view bytes, std::string_view origin, std::vector<Event>* out);

  // Bytes past the end of a record that Decode may read (never write) to parse it in place.
  static constexpr size_t kPaddingBytes = 64;

  // Like Decode, for callers that decode batch after batch into one vector without allocating
  // per event: events are written to (*out)[*used], (*out)[*used + 1], ... and *used advances;
  // Event objects already in `out` past *used are overwritten in place (their strings keep their
  // capacity), and `out` only grows. Reset *used to 0 for a new batch instead of clearing `out`.
  // When the caller guarantees `padding` >= kPaddingBytes readable bytes after `bytes`, the
  // record is parsed where it lies; otherwise it is copied into a buffer the decoder reuses.
  DecodeResult DecodeInto(std::string_view bytes, std::string_view origin, std::vector<Event>* out,
                          size_t* used, size_t padding = 0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace driftwatch
