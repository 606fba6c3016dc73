#include "vocab/json_parse.h"

#include <simdjson.h>

#include <string>

namespace driftwatch {
namespace {

// Builds `out` from `element`; false when it holds what only nlohmann's parser reads alike.
bool Build(simdjson::dom::element element, nlohmann::json* out) {
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT: {
      *out = nlohmann::json::object();
      auto& members = out->get_ref<nlohmann::json::object_t&>();
      for (simdjson::dom::key_value_pair field : simdjson::dom::object(element)) {
        nlohmann::json& slot = members[std::string(field.key)];
        slot = nullptr;  // a repeated key: the last value, as nlohmann's parser keeps it
        if (!Build(field.value, &slot)) return false;
      }
      return true;
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array items(element);
      *out = nlohmann::json::array();
      auto& values = out->get_ref<nlohmann::json::array_t&>();
      values.reserve(items.size());
      for (simdjson::dom::element item : items) {
        values.emplace_back();
        if (!Build(item, &values.back())) return false;
      }
      return true;
    }
    case simdjson::dom::element_type::STRING:
      *out = std::string(std::string_view(element));
      return true;
    case simdjson::dom::element_type::INT64: {
      const int64_t v = int64_t(element);
      if (v >= 0) {
        *out = static_cast<uint64_t>(v);
      } else {
        *out = v;
      }
      return true;
    }
    case simdjson::dom::element_type::UINT64:
      *out = uint64_t(element);
      return true;
    case simdjson::dom::element_type::DOUBLE:
      *out = double(element);
      return true;
    case simdjson::dom::element_type::BOOL:
      *out = bool(element);
      return true;
    case simdjson::dom::element_type::NULL_VALUE:
      *out = nullptr;
      return true;
  }
  return false;
}

// Text simdjson reads otherwise than nlohmann: a \u escape of a UTF-16 surrogate (nlohmann takes
// only whole pairs, simdjson may read a lone one) and the integer -0 (signed to nlohmann, the
// same as 0 on simdjson's tape). Both are rare; such text goes to nlohmann. A match inside a
// string only costs the slower parse.
bool NeedsNlohmann(std::string_view text) {
  for (size_t i = text.find('\\'); i != std::string_view::npos; i = text.find('\\', i + 2)) {
    if (i + 2 < text.size() && text[i + 1] == 'u' && (text[i + 2] == 'd' || text[i + 2] == 'D')) {
      return true;
    }
  }
  for (size_t i = text.find("-0"); i != std::string_view::npos; i = text.find("-0", i + 2)) {
    const char next = i + 2 < text.size() ? text[i + 2] : ' ';
    if ((next >= '0' && next <= '9') || next == '.' || next == 'e' || next == 'E') continue;
    size_t p = i;
    while (p > 0 && (text[p - 1] == ' ' || text[p - 1] == '\t' || text[p - 1] == '\n' ||
                     text[p - 1] == '\r')) {
      --p;
    }
    if (p == 0 || text[p - 1] == ':' || text[p - 1] == ',' || text[p - 1] == '[') return true;
  }
  return false;
}

}  // namespace

nlohmann::json ParseJson(std::string_view text) {
  // One parser per thread: it keeps its buffers between documents. A text over 1 MiB (rare)
  // gets a parser of its own, so that the thread's does not keep a buffer that large.
  thread_local simdjson::dom::parser kept;
  simdjson::dom::parser one_off;
  simdjson::dom::parser& parser = text.size() <= (size_t{1} << 20) ? kept : one_off;
  simdjson::dom::element root;
  if (!NeedsNlohmann(text) &&
      parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root) ==
          simdjson::SUCCESS) {
    nlohmann::json out;
    if (Build(root, &out)) return out;
  }
  return nlohmann::json::parse(text, nullptr, false);
}

}  // namespace driftwatch
