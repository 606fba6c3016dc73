#include "vocab/json_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "vocab/finding.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using namespace std::string_literals;

std::string Reference(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

TEST(JsonTextTest, MatchesNlohmannOnEdgeCases) {
  const json cases[] = {
      nullptr,
      true,
      false,
      0,
      -1,
      std::numeric_limits<int64_t>::min(),
      std::numeric_limits<int64_t>::max(),
      std::numeric_limits<uint64_t>::max(),
      0.0,
      -0.0,
      1.5,
      1e100,
      3.141592653589793,
      std::numeric_limits<double>::quiet_NaN(),
      "",
      "plain",
      "quote \" backslash \\ slash /",
      "controls \x01\x02\b\f\n\r\t\x1f and \x7f"s,
      "nul \0 inside"s,
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "bad \xff\xfe utf-8 \xc3",
      "truncated \xe2\x82",
      json::array(),
      json::object(),
      json::parse(R"({"b":[1,{"x":[]},{}],"a":{"z":null,"\u0001k":"v"},"":true})"),
  };
  for (const json& j : cases) EXPECT_EQ(JsonText(j), Reference(j)) << Reference(j);
}

// The one JSON string writer (history's replayable calls, findings, documents): control
// characters escaped, UTF-8 kept, and invalid UTF-8 replaced by U+FFFD, so that what it writes
// always parses back.
TEST(JsonTextTest, StringsEscapeControlsAndReplaceInvalidUtf8) {
  auto quoted = [](std::string_view text) {
    std::string out = "prefix:";
    AppendJsonString(text, &out);
    return out;
  };
  EXPECT_EQ(quoted("plain"), "prefix:\"plain\"");
  EXPECT_EQ(quoted("q\" b\\ s/"), "prefix:\"q\\\" b\\\\ s/\"");
  EXPECT_EQ(quoted("x\x01\x1f\n\t\b\f\r\x7f"s), "prefix:\"x\\u0001\\u001f\\n\\t\\b\\f\\r\x7f\"");
  EXPECT_EQ(quoted("nul \0."s), "prefix:\"nul \\u0000.\"");
  EXPECT_EQ(quoted("caf\xc3\xa9 \xf0\x9f\x98\x80"), "prefix:\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  // Each invalid byte, a truncated sequence at the end, and an encoded surrogate: U+FFFD.
  const std::string kReplacement = "\xef\xbf\xbd";
  EXPECT_EQ(quoted("a\xff" "b"), "prefix:\"a" + kReplacement + "b\"");
  EXPECT_EQ(quoted("caf\xc3\xa9 \xe2\x82"), "prefix:\"caf\xc3\xa9 " + kReplacement + "\"");
  EXPECT_EQ(quoted("\xed\xa0\x80"), "prefix:\"" + kReplacement + kReplacement + kReplacement +
                                        "\"");
  // Invalid UTF-8 beside a control character: both handled, and the text parses back.
  const std::string mixed = quoted("\xc3\n");
  EXPECT_EQ(mixed, "prefix:\"" + kReplacement + "\\n\"");
  EXPECT_EQ(json::parse(mixed.substr(7)).get<std::string>(), kReplacement + "\n");
}

TEST(JsonTextTest, OrderedDocumentsKeepTheirOrder) {
  ordered_json o;
  o["z"] = 1;
  o["a"] = {{"y", "x\n"}, {"b", nullptr}};
  o["m"] = ordered_json::array({1.25, "t", false});
  EXPECT_EQ(JsonText(o), o.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
}

// Random documents of every shape, strings drawn from all 256 byte values (valid and invalid
// UTF-8 alike): the text must equal nlohmann's byte for byte.
json RandomValue(std::mt19937_64& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 3 ? 6 : 8));
  auto random_string = [&] {
    std::string s;
    const size_t n = rng() % 24;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t r = rng() % 10;
      // Mostly printable ASCII, sometimes anything.
      s.push_back(static_cast<char>(r < 7 ? 0x20 + rng() % 0x5f : rng() % 256));
    }
    return s;
  };
  switch (kind) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng());
    case 3:
      return static_cast<uint64_t>(rng());
    case 4:
      return static_cast<double>(static_cast<int64_t>(rng() % 2000000) - 1000000) / 64.0;
    case 5:
      return random_string();
    case 6: {
      json a = json::array();
      const size_t n = rng() % 5;
      for (size_t i = 0; i < n; ++i) a.push_back(RandomValue(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      const size_t n = rng() % 6;
      for (size_t i = 0; i < n; ++i) o[random_string()] = RandomValue(rng, depth + 1);
      return o;
    }
  }
}

TEST(JsonTextTest, MatchesNlohmannOnRandomDocuments) {
  std::mt19937_64 rng(20261124);
  for (int i = 0; i < 5000; ++i) {
    const json j = RandomValue(rng, 0);
    ASSERT_EQ(JsonText(j), Reference(j)) << "document " << i;
  }
}

// Objects of printable-ASCII strings (control characters included), integers, literals, arrays
// and objects with keys that need no escape: the text AppendJsonText writes for them is
// accepted whole by AppendCanonicalJsonObject.
json AsciiValue(std::mt19937_64& rng, int depth) {
  auto text = [&] {
    std::string s;
    for (size_t n = rng() % 12; n > 0; --n) {
      const uint64_t r = rng() % 20;
      s.push_back(static_cast<char>(r == 0 ? rng() % 0x20 : r == 1 ? 0x7f : 0x20 + rng() % 0x5f));
    }
    return s;
  };
  switch (rng() % (depth > 3 ? 5 : 7)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng() % 2000000000000) - 1000000000000;
    case 3:
      return static_cast<int64_t>(rng() % 10);
    case 4:
      return text();
    case 5: {
      json a = json::array();
      for (size_t n = rng() % 4; n > 0; --n) a.push_back(AsciiValue(rng, depth + 1));
      return a;
    }
    default: {
      // Keys are printable ASCII that needs no escape (as field paths are).
      json o = json::object();
      for (size_t n = rng() % 5; n > 0; --n) {
        std::string key = text();
        for (char& c : key) {
          if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
        }
        o[key] = AsciiValue(rng, depth + 1);
      }
      return o;
    }
  }
}

// Whatever AppendCanonicalJsonObject accepts is exactly what parsing the text as an
// ordered_json and writing it back gives (the slow path it stands in for). The texts are the
// writer's own (all must be accepted) and mutations of them (spaces, reordered or repeated
// keys, other number and escape spellings, broken syntax), which it must refuse or copy right.
TEST(JsonTextTest, CanonicalObjectsAreCopiedOnlyWhenParsingWouldGiveTheSameText) {
  std::mt19937_64 rng(20261125);
  auto slow = [](std::string_view text) {
    ordered_json j = ordered_json::parse(text, nullptr, false);
    if (j.is_discarded()) return std::string("<unreadable>");
    return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  };
  const std::string inserts[] = {" ", ",", ":", "\"", "\\/", "\\u0041", "\\u001F", "\\u001f",
                                 "\\n", "-0", "0", "1.5", "1e3", "{}", "[]", "\"a\":1,",
                                 "\xc3\xa9", "\x80", "true", "nul", "}", "]", "{\"a\":1,\"a\":2}"};
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    json o = json::object();
    for (size_t n = 1 + rng() % 5; n > 0; --n) {
      o[std::string(1, static_cast<char>('a' + rng() % 6))] = AsciiValue(rng, 1);
    }
    std::string text = JsonText(o);
    std::string out = "x";
    if (i % 2 == 0) {
      ASSERT_TRUE(AppendCanonicalJsonObject(text, &out)) << text;
      ASSERT_EQ(out, "x" + text);
      ASSERT_EQ(slow(text), text);
      continue;
    }
    // One to three mutations.
    for (size_t m = 1 + rng() % 3; m > 0; --m) {
      const size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          text.insert(at, inserts[rng() % std::size(inserts)]);
          break;
        case 1:
          if (at < text.size()) text.erase(at, 1 + rng() % 3);
          break;
        default:
          if (at < text.size()) text[at] = static_cast<char>(0x20 + rng() % 0x5f);
      }
    }
    if (AppendCanonicalJsonObject(text, &out)) {
      ++accepted;
      ASSERT_EQ(out, "x" + text);
      ASSERT_EQ(slow(text), text) << "accepted a text parsing would change: " << text;
    } else {
      ++refused;
      ASSERT_EQ(out, "x") << "appended on refusal";
    }
  }
  // Both branches were exercised.
  EXPECT_GT(accepted, 500);
  EXPECT_GT(refused, 500);
  for (std::string_view bad : {"", "{", "[1]", "{} ", " {}", "{\"b\":1,\"a\":2}",
                               "{\"a\":1,\"a\":1}", "{\"a\":01}", "{\"a\":-0}", "{\"a\":1.0}",
                               "{\"a\":\"\\u0041\"}", "{\"a\":\"\\/\"}", "{\"a\":\"\xc3\xa9\"}"}) {
    std::string out;
    EXPECT_FALSE(AppendCanonicalJsonObject(bad, &out)) << bad;
  }
}

}  // namespace
}  // namespace driftwatch

namespace driftwatch {
namespace {

// The finding format as an ordered_json of its fields dumps it: what FindingToJson wrote before
// it was written field by field. Both must agree byte for byte.
std::string ReferenceFinding(const Finding& f, bool stored) {
  auto time = [](int64_t ms) { return ms == 0 ? std::string() : FormatTimestamp(ms); };
  ordered_json j;
  j["finding_id"] = f.finding_id;
  j["rule_id"] = f.rule_id;
  j["title"] = f.title;
  j["category"] = CategoryName(f.category);
  j["kind"] = FindingKindName(f.kind);
  j["severity"] = SeverityName(f.severity);
  j["status"] = FindingStatusName(f.status);
  j["resolution"] = f.resolution == Resolution::kNone ? ordered_json(nullptr)
                                                       : ordered_json(ResolutionName(f.resolution));
  j["resource"] = {{"type", f.resource.type},
                   {"id", f.resource.id},
                   {"arn", f.resource.arn},
                   {"account", f.resource.account},
                   {"region", f.resource.region}};
  j["actor"] = {{"type", f.actor.type},
                {"arn", f.actor.arn},
                {"access_key_id", f.actor.access_key_id},
                {"source_ip", f.actor.source_ip}};
  j["event_ids"] = f.event_ids;
  j["first_seen"] = time(f.first_seen_ms);
  j["last_seen"] = time(f.last_seen_ms);
  j["resolved_at"] = f.resolved_at_ms == 0 ? ordered_json(nullptr)
                                           : ordered_json(FormatTimestamp(f.resolved_at_ms));
  ordered_json evidence = ordered_json::parse(
      f.evidence.empty() ? std::string_view("{}") : std::string_view(f.evidence), nullptr, false);
  j["evidence"] = evidence.is_discarded() ? ordered_json::object() : evidence;
  if (f.resolution != Resolution::kNone) {
    ordered_json detail = ordered_json::parse(f.resolution_detail, nullptr, false);
    j["resolution_detail"] =
        detail.is_discarded() || !detail.is_object() ? ordered_json::object() : detail;
  }
  j["description"] = f.description;
  if (stored && f.expires_at_ms != 0) j["expires_at_ms"] = f.expires_at_ms;
  if (stored && f.actor_time_ms != 0) j["actor_time_ms"] = f.actor_time_ms;
  if (stored) j["event_times_ms"] = f.event_times_ms;
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

TEST(JsonTextTest, FindingTextMatchesTheOrderedDocumentOfItsFields) {
  std::mt19937_64 rng(7);
  auto text = [&] {
    std::string s;
    const size_t n = rng() % 40;
    for (size_t i = 0; i < n; ++i) {
      s.push_back(static_cast<char>(rng() % 8 != 0 ? 0x20 + rng() % 0x5f : rng() % 256));
    }
    return s;
  };
  const std::string evidences[] = {"",         "{}",    R"({"b":1,"a":[true,null,"x"]})",
                                   "not json", "[1,2]", R"({"configuration.isLogging":false})"};
  for (int i = 0; i < 2000; ++i) {
    Finding f;
    f.finding_id = text();
    f.rule_id = text();
    f.title = text();
    f.category = static_cast<Category>(rng() % 6);
    f.severity = static_cast<Severity>(rng() % 5);
    f.kind = rng() % 2 == 0 ? FindingKind::kPosture : FindingKind::kEvent;
    f.status = rng() % 2 == 0 ? FindingStatus::kOpen : FindingStatus::kResolved;
    f.resolution = f.status == FindingStatus::kOpen ? Resolution::kNone
                                                    : static_cast<Resolution>(1 + rng() % 3);
    f.resolution_detail = evidences[rng() % 6];
    f.expires_at_ms = rng() % 2 == 0 ? 0 : static_cast<int64_t>(rng() % 2000000000000);
    f.actor_time_ms = rng() % 2 == 0 ? 0 : static_cast<int64_t>(rng() % 2000000000000);
    f.resource = {text(), text(), text(), text(), text()};
    f.actor = {text(), text(), text(), text()};
    for (size_t k = rng() % 4; k > 0; --k) {
      f.event_ids.push_back(text());
      f.event_times_ms.push_back(static_cast<int64_t>(rng() % 4000000000000) - 1000000000000);
    }
    f.first_seen_ms = rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng() % 2000000000000);
    f.last_seen_ms = rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng() % 2000000000000);
    f.resolved_at_ms = rng() % 2 == 0 ? 0 : static_cast<int64_t>(rng() % 2000000000000);
    f.evidence = evidences[rng() % 6];
    f.description = text();
    ASSERT_EQ(FindingToJson(f), ReferenceFinding(f, false)) << "finding " << i;
    ASSERT_EQ(FindingToStoredJson(f), ReferenceFinding(f, true)) << "finding " << i;
  }
}

}  // namespace
}  // namespace driftwatch
