#pragma once
// The pipeline's EventDecoder backed by the simdjson decoder (ingest/decoder.h), so that engine/
// stays free of simdjson. Threading: one instance per pipeline thread.

#include <string_view>
#include <vector>

#include "engine/pipeline.h"
#include "ingest/decoder.h"

namespace driftwatch {

class SimdjsonEventDecoder : public EventDecoder {
 public:
  explicit SimdjsonEventDecoder(DecoderOptions options = {});

  // Rejected::reason is the InvalidReason value, reason_name its InvalidReasonName (static
  // storage); the detail names the element for a bad element of a log file or snapshot.
  void Decode(std::string_view bytes, std::string_view origin, std::vector<Event>* out,
              std::vector<Rejected>* rejected) override;
  void DecodeReusing(std::string_view bytes, std::string_view origin, std::vector<Event>* out,
                     size_t* used, std::vector<Rejected>* rejected) override;

 private:
  void Reject(DecodeResult& result, std::vector<Rejected>* rejected);
  Decoder decoder_;
};

}  // namespace driftwatch
