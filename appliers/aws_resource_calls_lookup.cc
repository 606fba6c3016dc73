// Lookups over the generated resource-call table (appliers/aws_resource_calls.cc).

#include <cctype>
#include <cstring>
#include <string>
#include <unordered_map>

#include "appliers/aws_resource_calls.h"

namespace driftwatch {
namespace {

using CallMap = std::unordered_map<std::string_view, const ResourceCall*>;
using ArnMap = std::unordered_map<std::string_view, std::string_view>;

const CallMap& Calls() {
  static const CallMap* map = [] {
    auto* m = new CallMap;
    size_t n = 0;
    const ResourceCall* table = ResourceCallTable(&n);
    m->reserve(n * 2);
    for (size_t i = 0; i < n; ++i) m->emplace(table[i].key, &table[i]);
    return m;
  }();
  return *map;
}

const ArnMap& ArnTypes() {
  static const ArnMap* map = [] {
    auto* m = new ArnMap;
    size_t n = 0;
    const ArnResourceType* table = ArnResourceTypeTable(&n);
    m->reserve(n * 2);
    for (size_t i = 0; i < n; ++i) m->emplace(table[i].key, table[i].type);
    return m;
  }();
  return *map;
}

const ResourceCall* Find(std::string_view source, std::string_view name) {
  char buf[256];
  if (source.size() + name.size() + 1 > sizeof(buf)) return nullptr;
  std::memcpy(buf, source.data(), source.size());
  buf[source.size()] = ' ';
  std::memcpy(buf + source.size() + 1, name.data(), name.size());
  const auto it = Calls().find(std::string_view(buf, source.size() + 1 + name.size()));
  return it == Calls().end() ? nullptr : it->second;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string_view StripApiVersion(std::string_view name) {
  std::string_view s = name;
  // "v2" after the date.
  size_t i = s.size();
  while (i > 0 && IsDigit(s[i - 1])) --i;
  if (i < s.size() && i > 0 && s[i - 1] == 'v') s = s.substr(0, i - 1);
  // "20150331" or "2020_05_31".
  i = s.size();
  while (i > 0 && (IsDigit(s[i - 1]) || s[i - 1] == '_')) --i;
  const std::string_view tail = s.substr(i);
  size_t digits = 0;
  for (char c : tail) digits += IsDigit(c) ? 1 : 0;
  if (digits != 8 || i == 0 || !std::isalpha(static_cast<unsigned char>(s[i - 1]))) return name;
  if (tail.size() != 8 && tail.size() != 10) return name;
  return s.substr(0, i);
}

// The generator leaves read-only operations out of the table; a record that calls one without
// saying readOnly (test fixtures do) is still a call that changes nothing.
constexpr ResourceCall kReadOnly = {"", "", ResourceCallAction::kNone, 0, false, "", "",
                                    "read-only operation (Describe, Get, List, ...)"};

bool IsReadOnlyOperation(std::string_view name) {
  static constexpr std::string_view kPrefixes[] = {"Describe", "Get", "List", "Head", "Search",
                                                   "Lookup", "BatchGet"};
  for (const std::string_view p : kPrefixes) {
    if (name.size() > p.size() && name.substr(0, p.size()) == p &&
        std::isupper(static_cast<unsigned char>(name[p.size()]))) {
      return true;
    }
  }
  return false;
}

const ResourceCall* FindResourceCall(std::string_view event_source, std::string_view event_name) {
  if (const ResourceCall* c = Find(event_source, event_name)) return c;
  const std::string_view op = StripApiVersion(event_name);
  if (op.size() != event_name.size()) {
    if (const ResourceCall* c = Find(event_source, op)) return c;
  }
  return IsReadOnlyOperation(op) ? &kReadOnly : nullptr;
}

std::string_view ResourceTypeOfArn(std::string_view arn) {
  // arn:partition:service:region:account:resource
  if (arn.substr(0, 4) != "arn:") return {};
  size_t pos = 0;
  size_t colons[5];
  for (int i = 0; i < 5; ++i) {
    pos = arn.find(':', i == 0 ? 0 : pos + 1);
    if (pos == std::string_view::npos) return {};
    colons[i] = pos;
  }
  const std::string_view service = arn.substr(colons[1] + 1, colons[2] - colons[1] - 1);
  const std::string_view resource = arn.substr(colons[4] + 1);
  const size_t sep = resource.find_first_of("/:");
  std::string key(service);
  key.push_back(' ');
  if (sep != std::string_view::npos && !(service == "s3")) {
    for (char c : resource.substr(0, sep)) {
      if (c == '-' || c == '_') continue;
      key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  const auto it = ArnTypes().find(key);
  return it == ArnTypes().end() ? std::string_view() : it->second;
}

}  // namespace driftwatch
