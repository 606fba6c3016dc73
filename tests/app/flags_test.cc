#include "app/flags.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace driftwatch::app {
namespace {

// A parser for a made-up command with one flag of every kind, its output captured in memory.
class FlagParserTest : public ::testing::Test {
 protected:
  FlagParserTest() : flags_("demo", "does a demo thing with a state directory") {
    out_ = open_memstream(&out_buf_, &out_len_);
    err_ = open_memstream(&err_buf_, &err_len_);
    flags_.set_streams(out_, err_);
    flags_
        .Flag({.name = "--state",
               .value = "DIR",
               .needs = "a directory",
               .help = "the state directory",
               .required = true},
              &state_)
        .Time({.name = "--at", .help = "as it was at TIME"}, &at_ms_, &at_given_)
        .Choice({.name = "--format", .help = "table or ndjson"}, {"table", "ndjson"}, &format_)
        .Integer({.name = "--batch-size", .value = "N", .needs = "a number", .help = "batch"}, 1,
                 1000, &batch_)
        .Flag({.name = "--rules", .value = "PATH", .help = "repeatable"},
              [this](const std::string& v) {
                rules_.push_back(v);
                return std::string();
              })
        .Switch({.name = "--quiet", .help = "say less", .alias = "-q"}, &quiet_)
        .Switch({.name = "--no-index", .help = "no index"}, &index_, false)
        .Positional("INPUT", "what to read", 0, 2, &inputs_)
        .Epilog("exit status: 0 fine, 2 usage");
  }
  ~FlagParserTest() override {
    std::fclose(out_);
    std::fclose(err_);
    std::free(out_buf_);
    std::free(err_buf_);
  }

  std::optional<int> Parse(const Args& args) { return flags_.Parse(args); }
  std::string Out() {
    std::fflush(out_);
    return std::string(out_buf_, out_len_);
  }
  std::string Err() {
    std::fflush(err_);
    return std::string(err_buf_, err_len_);
  }
  // Parses `args`, expects a usage error, returns its one line.
  std::string ErrorOf(const Args& args) {
    const std::optional<int> code = Parse(args);
    EXPECT_EQ(code, 2);
    return Err();
  }

  FlagParser flags_;
  FILE* out_ = nullptr;
  FILE* err_ = nullptr;
  char* out_buf_ = nullptr;
  char* err_buf_ = nullptr;
  size_t out_len_ = 0, err_len_ = 0;

  std::string state_, format_ = "table";
  int64_t at_ms_ = -1, batch_ = 7;
  bool at_given_ = false, quiet_ = false, index_ = true;
  std::vector<std::string> rules_, inputs_;
};

TEST_F(FlagParserTest, SeparateAndEqualsValuesSwitchesAndPositionals) {
  EXPECT_EQ(Parse({"a.json", "--state", "/s", "--format=ndjson", "--at=2024-05-01T03:12:00Z",
                   "--batch-size", "25", "-q", "--no-index", "--rules", "r1", "--rules=r2", "-"}),
            std::nullopt);
  EXPECT_EQ(state_, "/s");
  EXPECT_EQ(format_, "ndjson");
  EXPECT_TRUE(at_given_);
  EXPECT_EQ(at_ms_, 1714533120000);
  EXPECT_EQ(batch_, 25);
  EXPECT_TRUE(quiet_);
  EXPECT_FALSE(index_);
  EXPECT_EQ(rules_, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(inputs_, (std::vector<std::string>{"a.json", "-"}));
  EXPECT_EQ(Err(), "");
}

TEST_F(FlagParserTest, DefaultsStayWhenFlagsAreAbsentAndTheLastValueWins) {
  EXPECT_EQ(Parse({"--state", "/a", "--state=/b"}), std::nullopt);
  EXPECT_EQ(state_, "/b");
  EXPECT_EQ(format_, "table");
  EXPECT_EQ(batch_, 7);
  EXPECT_FALSE(at_given_);
  EXPECT_FALSE(quiet_);
  EXPECT_TRUE(index_);
}

TEST_F(FlagParserTest, AValueMayStartWithADashOrBeEmpty) {
  EXPECT_EQ(Parse({"--state", "-odd-dir", "--rules="}), std::nullopt);
  EXPECT_EQ(state_, "-odd-dir");
  EXPECT_EQ(rules_, (std::vector<std::string>{""}));
}

TEST_F(FlagParserTest, DoubleDashEndsTheOptions) {
  EXPECT_EQ(Parse({"--state", "/s", "--", "--quiet"}), std::nullopt);
  EXPECT_FALSE(quiet_);
  EXPECT_EQ(inputs_, (std::vector<std::string>{"--quiet"}));
}

TEST_F(FlagParserTest, MissingValueNamesTheFlagAndWhatItNeeds) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "--at"}), "driftwatch demo: --at needs a time\n");
}

TEST_F(FlagParserTest, MissingValueWithoutANounSaysAValue) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "--rules"}), "driftwatch demo: --rules needs a value\n");
}

TEST_F(FlagParserTest, UnknownOptionIsNamedWithoutItsValue) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "--frob=1"}),
            "driftwatch demo: unknown option '--frob' (see --help)\n");
}

TEST_F(FlagParserTest, UnknownShortOptionIsNamed) {
  EXPECT_EQ(ErrorOf({"-x", "--state", "/s"}),
            "driftwatch demo: unknown option '-x' (see --help)\n");
}

TEST_F(FlagParserTest, BadValuesAreNamed) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "--format", "xml"}),
            "driftwatch demo: --format must be table or ndjson, not 'xml'\n");
}

TEST_F(FlagParserTest, BadTimeIsNamed) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "--at", "yesterday"}),
            "driftwatch demo: --at: 'yesterday' is not a time (e.g. 2026-11-02T03:00:00Z)\n");
  EXPECT_FALSE(at_given_);
}

TEST_F(FlagParserTest, IntegerOutOfBoundsOrNotANumber) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "--batch-size=0"}),
            "driftwatch demo: --batch-size: '0' is not a whole number in 1..1000\n");
}

TEST_F(FlagParserTest, IntegerWithTrailingText) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "--batch-size", "12x"}),
            "driftwatch demo: --batch-size: '12x' is not a whole number in 1..1000\n");
}

TEST_F(FlagParserTest, SwitchTakesNoValue) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "--quiet=yes"}), "driftwatch demo: --quiet takes no value\n");
}

TEST_F(FlagParserTest, RequiredFlag) {
  EXPECT_EQ(ErrorOf({"a.json"}), "driftwatch demo: --state DIR is required (see --help)\n");
}

TEST_F(FlagParserTest, TooManyPositionals) {
  EXPECT_EQ(ErrorOf({"--state", "/s", "a", "b", "c"}),
            "driftwatch demo: unexpected argument 'c' (see --help)\n");
}

TEST_F(FlagParserTest, HelpWinsOverErrorsBeforeIt) {
  EXPECT_EQ(Parse({"--format", "xml", "--frob", "--help"}), 0);
  EXPECT_EQ(Err(), "");
  EXPECT_EQ(Out(), flags_.Usage());
}

TEST_F(FlagParserTest, HelpAfterDoubleDashIsAnInput) {
  EXPECT_EQ(Parse({"--state", "/s", "--", "--help"}), std::nullopt);
  EXPECT_EQ(inputs_, (std::vector<std::string>{"--help"}));
  EXPECT_EQ(Out(), "");
}

TEST_F(FlagParserTest, HelpAnywhereWins) {
  EXPECT_EQ(Parse({"a.json", "-h"}), 0);
  EXPECT_EQ(Err(), "");
  const std::string usage = Out();
  EXPECT_EQ(usage, flags_.Usage());
  EXPECT_EQ(
      usage.rfind("usage: driftwatch demo --state DIR [--at TIME] [--format table|ndjson]", 0), 0u)
      << usage;
  for (const char* text : {"[INPUT...]", "does a demo thing", "--batch-size N", "-q, --quiet",
                           "the state directory", "exit status: 0 fine, 2 usage"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text << " missing from\n" << usage;
  }
  std::istringstream lines(usage);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;
}

TEST(FlagParserGroupTest, ExactlyOneOfAGroup) {
  std::string a, b;
  char* err_buf = nullptr;
  size_t err_len = 0;
  FILE* err = open_memstream(&err_buf, &err_len);
  auto parser = [&] {
    FlagParser flags("pick", "");
    flags.set_streams(err, err);
    flags.Flag({.name = "--a", .value = "X"}, &a).Flag({.name = "--b", .value = "Y"}, &b);
    flags.ExactlyOneOf({"--a", "--b"});
    return flags;
  };
  EXPECT_EQ(parser().Parse({"--a", "1"}), std::nullopt);
  EXPECT_EQ(parser().Parse({"--b=2"}), std::nullopt);
  EXPECT_EQ(parser().Parse({}), 2);
  EXPECT_EQ(parser().Parse({"--a", "1", "--b", "2"}), 2);
  EXPECT_EQ(parser().Parse({"--a", "1", "--a", "3"}), 2);
  EXPECT_EQ(parser().Usage().rfind("usage: driftwatch pick (--a X | --b Y)\n", 0), 0u)
      << parser().Usage();
  std::fclose(err);
  EXPECT_NE(std::string(err_buf, err_len).find("give exactly one of --a, --b"), std::string::npos);
  std::free(err_buf);
}

}  // namespace
}  // namespace driftwatch::app
