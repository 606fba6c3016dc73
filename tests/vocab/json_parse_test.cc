// ParseJson must give the tree nlohmann's parser gives, value for value and type for type, for
// any text: tricky texts here, and every line of the shared corpus.

#include "vocab/json_parse.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace driftwatch {
namespace {

namespace fs = std::filesystem;

// Equal values of equal types all the way down (nlohmann's == calls 5 and 5u equal).
bool SameTree(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(), jt = b.begin(); it != a.end(); ++it, ++jt) {
      if (it.key() != jt.key() || !SameTree(*it, *jt)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameTree(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_discarded()) return true;
  return a == b && a.dump() == b.dump();
}

void ExpectSame(const std::string& text) {
  const nlohmann::json want = nlohmann::json::parse(text, nullptr, false);
  const nlohmann::json got = ParseJson(text);
  EXPECT_TRUE(SameTree(want, got)) << text << "\nwant " << want.dump() << "\ngot  " << got.dump();
}

TEST(JsonParseTest, GivesNlohmannsTreeForTrickyTexts) {
  const std::vector<std::string> texts = {
      R"({"a":1,"b":-1,"c":1.5,"d":"x","e":true,"f":false,"g":null,"h":[],"i":{}})",
      R"({"big":18446744073709551615,"neg":-9223372036854775808,"max":9223372036854775807})",
      R"({"beyond":18446744073709551616,"far":-99999999999999999999})",
      R"({"f":1.0,"e":1e3,"E":2E-2,"z":0,"nzf":-0.0,"p":0.1,"tiny":5e-324})",
      R"({"nz":-0})",
      R"([1, -0 ,2])",
      R"({"id":"i-0abc","d":"2024-01-02","n":-0.5,"m":-01})",
      R"({"huge":1e400})",
      R"({"k":1,"k":2,"o":{"x":1},"o":[1]})",
      R"({"s":"tab\t nl\n quote\" slash\/ back\\ u\u00e9 pair\ud83d\ude00"})",
      R"({"lone":"\ud800"})",
      R"({"lowlone":"\udc00x"})",
      R"({"nul":"a\u0000b"})",
      "{\"utf8\":\"caf\xc3\xa9\"}",
      "{\"bad\":\"\xff\"}",
      " \n{ \"spaced\" : [ 1 , 2 ] }\t",
      R"([1,[2,[3,[4]]]])",
      R"("just a string")",
      "42",
      "",
      "{",
      R"({"a":1} trailing)",
      R"({"a":01})",
      R"({"a":.5})",
      R"({"a":[1,2,]})",
      "{\"ctl\":\"a\x01b\"}",
      std::string(2000, '[') + std::string(2000, ']'),
      // Over 1 MiB: parsed by a parser of its own.
      "{\"big\":\"" + std::string((1 << 20) + 1000, 'x') + "\",\"n\":-5}",
  };
  for (const std::string& t : texts) ExpectSame(t);
}

TEST(JsonParseTest, GivesNlohmannsTreeForEveryCorpusLine) {
  const fs::path dir = fs::path(DW_SOURCE_DIR) / ".." / "shared" / "corpus";
  if (!fs::exists(dir)) GTEST_SKIP() << "corpus folder " << dir << " is absent";
  size_t lines = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".ndjson") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      ExpectSame(line);
      ++lines;
    }
  }
  EXPECT_GT(lines, 100u);
}

}  // namespace
}  // namespace driftwatch
