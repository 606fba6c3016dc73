// libFuzzer target for the decoder: any bytes must decode or be rejected with a reason, never
// crash, hang or leak, and the result must be self-consistent.
//   decoder_fuzz tests/fuzz/decoder_seeds -max_total_time=60

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "ingest/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits so that the size and depth checks are reached by small inputs too.
  static driftwatch::Decoder decoder(driftwatch::DecoderOptions{64 * 1024, 64});
  static std::vector<driftwatch::Event> events;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  events.clear();
  driftwatch::DecodeResult result = decoder.Decode(bytes, "fuzz", &events);
  // Never silently dropped: events, a reason, or an empty log file / snapshot said to be one.
  if (result.events == 0 && result.invalid.empty() && result.empty_containers == 0) std::abort();
  if (result.events != events.size()) std::abort();
  for (const driftwatch::InvalidRecord& bad : result.invalid) {
    if (bad.detail.empty()) std::abort();
    if (driftwatch::InvalidReasonName(bad.reason) == "unknown") std::abort();
  }
  for (const driftwatch::Event& e : events) {
    if (e.document.empty() || e.origin != "fuzz") std::abort();
  }

  // The reusing entry point must agree.
  static std::vector<driftwatch::Event> reused;
  size_t used = 0;
  driftwatch::DecodeResult again = decoder.DecodeInto(bytes, "fuzz", &reused, &used);
  if (again.events != result.events || again.invalid.size() != result.invalid.size() ||
      again.empty_containers != result.empty_containers) {
    std::abort();
  }
  for (size_t i = 0; i < used; ++i) {
    if (reused[i].document != events[i].document || reused[i].id != events[i].id) std::abort();
  }
  return 0;
}
