#include "ingest/event_decoder.h"

#include <string>
#include <utility>

namespace driftwatch {

SimdjsonEventDecoder::SimdjsonEventDecoder(DecoderOptions options) : decoder_(options) {}

void SimdjsonEventDecoder::Decode(std::string_view bytes, std::string_view origin,
                                  std::vector<Event>* out, std::vector<Rejected>* rejected) {
  DecodeResult result = decoder_.Decode(bytes, origin, out);
  Reject(result, rejected);
}

void SimdjsonEventDecoder::DecodeReusing(std::string_view bytes, std::string_view origin,
                                         std::vector<Event>* out, size_t* used,
                                         std::vector<Rejected>* rejected) {
  DecodeResult result = decoder_.DecodeInto(bytes, origin, out, used);
  Reject(result, rejected);
}

void SimdjsonEventDecoder::Reject(DecodeResult& result, std::vector<Rejected>* rejected) {
  for (InvalidRecord& bad : result.invalid) {
    Rejected r;
    r.reason = static_cast<int>(bad.reason);
    r.reason_name = InvalidReasonName(bad.reason);
    if (bad.element >= 0) {
      r.detail = "element " + std::to_string(bad.element) + ": " + bad.detail;
    } else {
      r.detail = std::move(bad.detail);
    }
    rejected->push_back(std::move(r));
  }
}

}  // namespace driftwatch
