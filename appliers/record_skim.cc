// Reading a CloudTrail record for the appliers: only the top-level members they read are parsed,
// found by a walk over the record's structure (the rest of a record is most of its bytes).

#include <algorithm>
#include <iterator>
#include <string_view>

#include "appliers/applier_internal.h"
#include "vocab/json_parse.h"

namespace driftwatch::applier {

namespace {

// The members of a CloudTrail record that appliers read.
constexpr const auto& kRecordMembers = Event::kRecordMemberNames;
constexpr size_t kRecordMemberCount = Event::kRecordMemberCount;

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// `s[i]` is the opening quote; returns the index after the closing one, or npos.
size_t SkipString(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Index after the JSON value starting at `s[i]` (structure only: what is inside strings and
// scalars is left for the parser of the values kept), or npos.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = SkipString(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  const size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
         s[i] != '\n' && s[i] != '\r') {
    ++i;
  }
  return i == start ? std::string_view::npos : i;
}

// The values of the top-level members named in kRecordMembers (the last one of a repeated name,
// as a parser keeps it), as text. False when `text` is not one object this walk can read (a key
// with an escape, broken structure): the caller then parses the record whole.
bool FindRecordMembers(std::string_view text, std::string_view* values) {
  size_t i = SkipSpace(text, 0);
  if (i >= text.size() || text[i] != '{') return false;
  i = SkipSpace(text, i + 1);
  if (i < text.size() && text[i] == '}') return SkipSpace(text, i + 1) == text.size();
  while (true) {
    if (i >= text.size() || text[i] != '"') return false;
    const size_t key_end = SkipString(text, i);
    if (key_end == std::string_view::npos) return false;
    const std::string_view key = text.substr(i + 1, key_end - i - 2);
    if (key.find('\\') != std::string_view::npos) return false;
    i = SkipSpace(text, key_end);
    if (i >= text.size() || text[i] != ':') return false;
    i = SkipSpace(text, i + 1);
    const size_t value_end = SkipValue(text, i);
    if (value_end == std::string_view::npos) return false;
    for (size_t m = 0; m < kRecordMemberCount; ++m) {
      if (key == kRecordMembers[m]) values[m] = text.substr(i, value_end - i);
    }
    i = SkipSpace(text, value_end);
    if (i >= text.size()) return false;
    if (text[i] == '}') return SkipSpace(text, i + 1) == text.size();
    if (text[i] != ',') return false;
    i = SkipSpace(text, i + 1);
  }
}

}  // namespace

// The record as appliers see it. API calls: only the members appliers read, each parsed on its
// own (the rest of a record is most of its bytes and would only be parsed to be dropped), and
// their compact text in `text` (for history's replayable call). Config items are kept whole.
// An unreadable record reads as an empty object.
json ParseRecord(const Event& event, std::string* text) {
  text->clear();
  if (event.kind == EventKind::kApiCall) {
    std::string_view values[kRecordMemberCount];
    bool found = event.members_known;
    if (found) {
      // Where the decoder found them.
      for (size_t m = 0; m < kRecordMemberCount; ++m) {
        values[m] = event.Member(static_cast<Event::RecordMember>(m));
      }
    } else {
      found = FindRecordMembers(event.document, values);
    }
    if (found) {
      json record = json::object();
      bool readable = true;
      text->push_back('{');
      for (size_t m = 0; m < kRecordMemberCount && readable; ++m) {
        if (values[m].data() == nullptr) continue;
        json v = ParseJson(values[m]);
        if (v.is_discarded()) {
          readable = false;
        } else {
          record[std::string(kRecordMembers[m])] = std::move(v);
          // The decoder hands over compact text: the member's bytes are its compact form.
          if (text->size() > 1) text->push_back(',');
          text->append("\"").append(kRecordMembers[m]).append("\":").append(values[m]);
        }
      }
      text->push_back('}');
      if (readable) return record;
      text->clear();
    }
  }
  const bool api_call = event.kind == EventKind::kApiCall;
  json record = json::parse(
      event.document,
      [api_call](int depth, json::parse_event_t what, json& parsed) {
        if (!api_call || depth != 1 || what != json::parse_event_t::key) return true;
        const std::string& k = parsed.get_ref<const std::string&>();
        return std::find(std::begin(kRecordMembers), std::end(kRecordMembers), k) !=
               std::end(kRecordMembers);
      },
      false);
  if (record.is_discarded()) record = json::object();
  if (api_call) *text = Dump(record);
  return record;
}

}  // namespace driftwatch::applier
