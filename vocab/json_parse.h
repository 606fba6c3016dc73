#pragma once
// JSON text to an nlohmann::json tree, the same tree `nlohmann::json::parse(text, nullptr,
// false)` gives (discarded when the text is not one JSON value), several times faster: the text
// is parsed by simdjson and the tree built from its tape. Non-negative integers are unsigned and
// negative ones signed, as nlohmann's parser makes them; repeated keys keep the last value.
// Text simdjson reads differently from nlohmann (integers beyond 64 bits, numbers out of a
// double's range, -0, nesting deeper than simdjson's limit) is given to nlohmann's parser.

#include <nlohmann/json.hpp>
#include <string_view>

namespace driftwatch {

nlohmann::json ParseJson(std::string_view text);

}  // namespace driftwatch
