#pragma once
// JSON text of a document, byte for byte what nlohmann's
// dump(-1, ' ', false, error_handler_t::replace) writes (compact, UTF-8 kept, invalid UTF-8
// replaced by U+FFFD), several times faster: runs of plain ASCII are copied whole. Stored
// documents, history and findings are written with it, so its output is part of the on-disk
// format and must not drift from nlohmann's (tests/engine/json_text_test.cc compares them).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace driftwatch {

void AppendJsonText(const nlohmann::json& value, std::string* out);
// A JSON string of `text`, quoted and escaped exactly as AppendJsonText writes string values.
void AppendJsonString(std::string_view text, std::string* out);
void AppendJsonText(const nlohmann::ordered_json& value, std::string* out);

template <typename Json>
std::string JsonText(const Json& value) {
  std::string out;
  AppendJsonText(value, &out);
  return out;
}

}  // namespace driftwatch
