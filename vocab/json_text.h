#pragma once
// JSON text of a document, byte for byte what nlohmann's
// dump(-1, ' ', false, error_handler_t::replace) writes (compact, UTF-8 kept, invalid UTF-8
// replaced by U+FFFD), several times faster: runs of plain ASCII are copied whole. Stored
// documents, history and findings are written with it, so its output is part of the on-disk
// format and must not drift from nlohmann's (tests/vocab/json_text_test.cc compares them).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace driftwatch {

void AppendJsonText(const nlohmann::json& value, std::string* out);
// A JSON string of `text`, quoted and escaped exactly as AppendJsonText writes string values:
// the one string writer of the project. Quote and backslash escaped, control characters as \b
// \f \n \r \t or \u00xx, everything else as it is (UTF-8 and DEL kept), invalid UTF-8
// replaced by U+FFFD, so that the output is always valid JSON.
void AppendJsonString(std::string_view text, std::string* out);
void AppendJsonText(const nlohmann::ordered_json& value, std::string* out);

// Appends `text` as is when it is a JSON object already in the form AppendJsonText gives it
// (what parsing it as an ordered_json and writing it back would produce byte for byte) and
// returns true; otherwise appends nothing and returns false. Conservative: it accepts only
// printable ASCII and the escapes the writer itself uses in string values, integers of up to 18
// digits, object keys without escapes in strictly increasing order (so none repeats), and no
// whitespace; other text takes the parse. Text written from an nlohmann::json whose keys need
// no escape (as the rules' evidence, keyed by field paths) passes.
bool AppendCanonicalJsonObject(std::string_view text, std::string* out);

template <typename Json>
std::string JsonText(const Json& value) {
  std::string out;
  AppendJsonText(value, &out);
  return out;
}

}  // namespace driftwatch
