#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace driftwatch {

// Parses "2022-11-10T16:24:34Z", "2022-11-10T16:24:34.123Z", "...+00:00" and "Jul 30, 2024 9:53:13
// PM" (CloudTrail createDate). Returns false on anything else.
bool ParseTimestamp(std::string_view text, int64_t* out_ms);
// RFC 3339 UTC with seconds, plus milliseconds when non-zero: "2022-11-10T16:24:34Z".
std::string FormatTimestamp(int64_t ms);

}  // namespace driftwatch
