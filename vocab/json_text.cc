#include "vocab/json_text.h"

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


namespace {

// Recursive-descent check of the form AppendCanonicalJsonObject accepts; `i` advances past the
// value. Depth is bounded so that hostile nesting takes the slow path, not the stack.
class CanonicalCheck {
 public:
  explicit CanonicalCheck(std::string_view t) : t_(t) {}

  bool Object(size_t* i, int depth) {
    if (depth > 64 || *i >= t_.size() || t_[*i] != '{') return false;
    ++*i;
    if (*i < t_.size() && t_[*i] == '}') {
      ++*i;
      return true;
    }
    std::string_view previous;
    for (bool first = true;; first = false) {
      const size_t key_start = *i;
      if (!String(i)) return false;
      // Keys without escapes (their bytes are the key), in strictly increasing order as an
      // nlohmann::json (a sorted map) writes them: then none repeats, and parsing keeps them all.
      const std::string_view key = t_.substr(key_start + 1, *i - key_start - 2);
      if (key.find('\\') != std::string_view::npos) return false;
      if (!first && !(previous < key)) return false;
      previous = key;
      if (*i >= t_.size() || t_[*i] != ':') return false;
      ++*i;
      if (!Value(i, depth + 1)) return false;
      if (*i >= t_.size()) return false;
      if (t_[*i] == '}') {
        ++*i;
        return true;
      }
      if (t_[*i] != ',') return false;
      ++*i;
    }
  }

 private:
  bool Value(size_t* i, int depth) {
    if (*i >= t_.size()) return false;
    switch (t_[*i]) {
      case '{':
        return Object(i, depth);
      case '[':
        return Array(i, depth);
      case '"':
        return String(i);
      case 't':
        return Literal(i, "true");
      case 'f':
        return Literal(i, "false");
      case 'n':
        return Literal(i, "null");
      default:
        return Integer(i);
    }
  }

  bool Array(size_t* i, int depth) {
    if (depth > 64) return false;
    ++*i;
    if (*i < t_.size() && t_[*i] == ']') {
      ++*i;
      return true;
    }
    for (;;) {
      if (!Value(i, depth + 1)) return false;
      if (*i >= t_.size()) return false;
      if (t_[*i] == ']') {
        ++*i;
        return true;
      }
      if (t_[*i] != ',') return false;
      ++*i;
    }
  }

  bool Literal(size_t* i, std::string_view word) {
    if (t_.substr(*i, word.size()) != word) return false;
    *i += word.size();
    return true;
  }

  // -?(0|[1-9][0-9]{0,17}), not "-0": what an integer is written back as.
  bool Integer(size_t* i) {
    size_t j = *i;
    if (j < t_.size() && t_[j] == '-') ++j;
    const size_t digits = j;
    while (j < t_.size() && t_[j] >= '0' && t_[j] <= '9') ++j;
    const size_t n = j - digits;
    if (n == 0 || n > 18) return false;
    if (t_[digits] == '0' && (n > 1 || digits != *i)) return false;
    if (j < t_.size() && (t_[j] == '.' || t_[j] == 'e' || t_[j] == 'E')) return false;
    *i = j;
    return true;
  }

  // Printable ASCII (DEL included, as the writer leaves it) and the writer's own escapes: the
  // two-character ones for quote, backslash, b, f, n, r and t, and u00xx (lowercase hex) for
  // the other control characters.
  bool String(size_t* i) {
    if (*i >= t_.size() || t_[*i] != '"') return false;
    size_t j = *i + 1;
    for (;;) {
      if (j >= t_.size()) return false;
      const unsigned char c = static_cast<unsigned char>(t_[j]);
      if (c == '"') break;
      if (c < 0x20 || c >= 0x80) return false;
      if (c != '\\') {
        ++j;
        continue;
      }
      if (j + 1 >= t_.size()) return false;
      const char e = t_[j + 1];
      if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        j += 2;
        continue;
      }
      if (e != 'u' || t_.substr(j + 2, 2) != "00" || j + 6 > t_.size()) return false;
      auto hex = [](char h) {
        return (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : -1;
      };
      const int hi = hex(t_[j + 4]), lo = hex(t_[j + 5]);
      if (hi < 0 || lo < 0) return false;
      const int code = hi * 16 + lo;
      if (code >= 0x20 || code == '\b' || code == '\f' || code == '\n' || code == '\r' ||
          code == '\t') {
        return false;
      }
      j += 6;
    }
    *i = j + 1;
    return true;
  }

  std::string_view t_;
};

}  // namespace

bool AppendCanonicalJsonObject(std::string_view text, std::string* out) {
  CanonicalCheck check(text);
  size_t i = 0;
  if (!check.Object(&i, 0) || i != text.size()) return false;
  out->append(text);
  return true;
}

}  // namespace driftwatch
