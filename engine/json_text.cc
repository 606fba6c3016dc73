#include "engine/json_text.h"

#include <array>
#include <charconv>
#include <cstdint>

namespace driftwatch {
namespace {

// 0: copied as is; 1: escaped; 2: not ASCII (the string goes to nlohmann, which validates it).
constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> c{};
  for (int i = 0; i < 0x20; ++i) c[i] = 1;
  c['"'] = 1;
  c['\\'] = 1;
  for (int i = 0x80; i < 0x100; ++i) c[i] = 2;
  return c;
}
constexpr std::array<uint8_t, 256> kClass = MakeClasses();

bool AppendString(std::string_view s, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  // Non-ASCII text is rare in these documents; its UTF-8 checking and replacement stay
  // nlohmann's own, so that the two can never disagree on it.
  for (size_t j = 0; j < n; ++j) {
    if (kClass[p[j]] == 2) return false;
  }
  out->push_back('"');
  while (i < n) {
    size_t run = i;
    while (run < n && kClass[p[run]] == 0) ++run;
    out->append(s.data() + i, run - i);
    if (run == n) break;
    const unsigned char c = p[run];
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out->append(esc, 6);
      }
    }
    i = run + 1;
  }
  out->push_back('"');
  return true;
}

template <typename Json>
void AppendNlohmann(const Json& v, std::string* out) {
  out->append(v.dump(-1, ' ', false, Json::error_handler_t::replace));
}

template <typename Json>
void Append(const Json& v, std::string* out) {
  switch (v.type()) {
    case Json::value_t::null:
      out->append("null");
      return;
    case Json::value_t::boolean:
      out->append(v.template get<bool>() ? "true" : "false");
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      char buf[24];
      const auto r = v.type() == Json::value_t::number_integer
                         ? std::to_chars(buf, buf + sizeof buf, v.template get<int64_t>())
                         : std::to_chars(buf, buf + sizeof buf, v.template get<uint64_t>());
      out->append(buf, r.ptr);
      return;
    }
    case Json::value_t::string: {
      const auto& s = v.template get_ref<const typename Json::string_t&>();
      if (!AppendString(s, out)) AppendNlohmann(v, out);
      return;
    }
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out->push_back(',');
        first = false;
        Append(e, out);
      }
      out->push_back(']');
      return;
    }
    case Json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out->push_back(',');
        first = false;
        if (!AppendString(it.key(), out)) AppendNlohmann(Json(it.key()), out);
        out->push_back(':');
        Append(it.value(), out);
      }
      out->push_back('}');
      return;
    }
    default:  // floats (shortest round trip), binary, discarded: nlohmann's own text
      AppendNlohmann(v, out);
  }
}

}  // namespace

void AppendJsonText(const nlohmann::json& value, std::string* out) { Append(value, out); }
void AppendJsonText(const nlohmann::ordered_json& value, std::string* out) { Append(value, out); }

void AppendJsonString(std::string_view text, std::string* out) {
  if (!AppendString(text, out)) AppendNlohmann(nlohmann::json(text), out);
}

}  // namespace driftwatch
