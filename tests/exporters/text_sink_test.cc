// Findings for people: TextFindingSink's lines (`run --print text`, findings.format {stdout:
// text}, `replay --format text`), the "still open" summary printed at exit, the KIND column of
// the table, and where the service config accepts `text`. The binary end to end:
// tests/scripts/quickstart_text.sh.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporters/finding_sinks.h"

namespace driftwatch {
namespace {

constexpr int64_t kOpenedMs = 1793589151000;    // 2026-11-02T03:12:31Z
constexpr int64_t kResolvedMs = 1793611062000;  // 2026-11-02T09:17:42Z

Finding SecurityGroupOpen() {
  Finding f;
  f.rule_id = "network-sg-open-to-world";
  f.title = "Security group open to the world";
  f.category = Category::kNetwork;
  f.severity = Severity::kHigh;
  f.kind = FindingKind::kPosture;
  f.resource = {"AWS::EC2::SecurityGroup", "sg-0badc0ffee1234567",
                "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0badc0ffee1234567",
                "111122223333", "us-east-1"};
  f.actor = {"IAMUser", "arn:aws:iam::111122223333:user/ci-deploy", "AKIAEXAMPLELEAKED001",
             "198.51.100.77"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  f.first_seen_ms = f.last_seen_ms = kOpenedMs;
  return f;
}

Finding RootActivity() {
  Finding f;
  f.rule_id = "identity-root-activity";
  f.category = Category::kIdentity;
  f.severity = Severity::kHigh;
  f.kind = FindingKind::kEvent;
  f.resource = {"AWS::::Account", "111122223333", "", "111122223333", "global"};
  f.actor = {"Root", "arn:aws:iam::111122223333:root", "", "192.0.2.10"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  f.first_seen_ms = f.last_seen_ms = kOpenedMs;
  return f;
}

Finding Resolved(Finding f, Resolution how, std::string detail) {
  f.status = FindingStatus::kResolved;
  f.resolution = how;
  f.resolution_detail = std::move(detail);
  f.resolved_at_ms = kResolvedMs;
  return f;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Everything a sink wrote to a memory stream.
template <typename Sink>
std::string Written(const std::vector<Finding>& findings) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  EXPECT_NE(mem, nullptr);
  {
    Sink sink(mem);
    for (const Finding& f : findings) EXPECT_TRUE(sink.Emit(f).ok());
    EXPECT_TRUE(sink.Flush().ok());
  }
  fclose(mem);
  std::string out(buf, len);
  free(buf);
  return out;
}

// The words of a line, split on runs of spaces.
std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

TEST(TextSink, OneLineForPeoplePerStatusChangeAfterOneHeader) {
  const std::vector<std::string> lines = Lines(Written<TextFindingSink>(
      {SecurityGroupOpen(), RootActivity(),
       Resolved(SecurityGroupOpen(), Resolution::kState,
                R"({"event_id":"ev-9","event_name":"RevokeSecurityGroupIngress"})")}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(Words(lines[0]),
            (std::vector<std::string>{"EVENT", "TIME", "STATUS", "SEVERITY", "KIND", "CATEGORY",
                                      "RULE", "RESOURCE", "ACTOR"}));
  EXPECT_EQ(Words(lines[1]),
            (std::vector<std::string>{"2026-11-02T03:12:31Z", "OPEN", "high", "posture", "network",
                                      "network-sg-open-to-world", "SecurityGroup",
                                      "sg-0badc0ffee1234567", "user/ci-deploy"}));
  EXPECT_EQ(Words(lines[2]), (std::vector<std::string>{
                                 "2026-11-02T03:12:31Z", "OPEN", "high", "event", "identity",
                                 "identity-root-activity", "Account", "111122223333", "root"}));
  // Resolved: the resolution time, the resolution, and what undid the drift.
  EXPECT_EQ(Words(lines[3]),
            (std::vector<std::string>{"2026-11-02T09:17:42Z", "RESOLVED", "(state)", "high",
                                      "posture", "network", "network-sg-open-to-world",
                                      "SecurityGroup", "sg-0badc0ffee1234567", "user/ci-deploy",
                                      "(undone", "by", "RevokeSecurityGroupIngress)"}));
  // Columns line up under the header.
  for (const char* column : {"SEVERITY", "KIND", "CATEGORY", "RULE", "RESOURCE", "ACTOR"}) {
    const size_t at = lines[0].find(column);
    for (size_t k = 1; k < lines.size(); ++k) {
      ASSERT_GT(lines[k].size(), at) << lines[k];
      EXPECT_EQ(lines[k][at - 1], ' ') << column << " in " << lines[k];
      EXPECT_NE(lines[k][at], ' ') << column << " in " << lines[k];
    }
  }
}

TEST(TextSink, EveryResolutionSaysWhatResolvedIt) {
  EXPECT_NE(FindingTextLine(
                Resolved(RootActivity(), Resolution::kExpired, R"({"expire_after_seconds":86400})"))
                .find("RESOLVED (expired) high     event   identity        identity-root-activity"),
            std::string::npos);
  EXPECT_NE(FindingTextLine(
                Resolved(RootActivity(), Resolution::kExpired, R"({"expire_after_seconds":86400})"))
                .find("(expired 24 h after its last event)"),
            std::string::npos);
  EXPECT_NE(FindingTextLine(
                Resolved(RootActivity(), Resolution::kExpired, R"({"expire_after_seconds":90})"))
                .find("(expired 90 s after its last event)"),
            std::string::npos);
  const std::string closed = FindingTextLine(
      Resolved(RootActivity(), Resolution::kClosed,
               R"({"by":"carol","reason":"break-glass test","event_id":"close-1"})"));
  EXPECT_NE(closed.find("RESOLVED (closed)"), std::string::npos) << closed;
  EXPECT_NE(closed.find("(closed by carol: break-glass test)"), std::string::npos) << closed;
  // The state went back without a naming event (the resource was deleted): no detail.
  const std::string gone = FindingTextLine(Resolved(SecurityGroupOpen(), Resolution::kState, "{}"));
  EXPECT_NE(gone.find("RESOLVED (state)"), std::string::npos) << gone;
  EXPECT_EQ(gone.back(), 'y') << gone;  // ends with the actor, user/ci-deploy
  // A detail that is not JSON is left out, never an error.
  EXPECT_EQ(FindingTextLine(Resolved(SecurityGroupOpen(), Resolution::kState, "{oops")).back(),
            'y');
}

TEST(TextSink, ActorOfAnotherAccountKeepsItsWholeArnAndAServiceShowsItsType) {
  Finding f = SecurityGroupOpen();
  f.actor.arn = "arn:aws:sts::444455556666:assumed-role/Deployer/build-7";
  EXPECT_NE(FindingTextLine(f).find(" arn:aws:sts::444455556666:assumed-role/Deployer/build-7"),
            std::string::npos);
  f.actor = {"AWSService", "", "", ""};
  EXPECT_EQ(Words(FindingTextLine(f)).back(), "AWSService");
  f.actor = {};
  EXPECT_EQ(Words(FindingTextLine(f)).back(), "-");
}

TEST(TextSink, ValuesFromEventsCannotDriveTheTerminal) {
  Finding f = SecurityGroupOpen();
  f.resource.id = "sg-1\x1b]0;owned\x07\r\n";
  f.actor.arn =
      "arn:aws:iam::111122223333:user/\xc2\x9b"
      "31mred";
  const std::string line = FindingTextLine(f);
  EXPECT_NE(line.find("SecurityGroup sg-1?]0;owned???"), std::string::npos) << line;
  EXPECT_NE(line.find("user/?31mred"), std::string::npos) << line;
  for (const char c : line) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << line;
  }
  // Invalid UTF-8: every non-ASCII byte shown as '?'; valid UTF-8 is kept.
  f.resource.id = "caf\xc3\xa9";
  EXPECT_NE(FindingTextLine(f).find("SecurityGroup caf\xc3\xa9 "), std::string::npos);
  f.resource.id = "caf\xe9";
  EXPECT_NE(FindingTextLine(f).find("SecurityGroup caf? "), std::string::npos);
}

TEST(TextSummary, WhatIsStillOpenByCategoryAndKindThenWhatWasResolved) {
  Finding admin = SecurityGroupOpen();
  admin.rule_id = "identity-user-has-admin-policy";
  admin.category = Category::kIdentity;
  Finding second_root = RootActivity();
  second_root.resource.id = "444455556666";
  const std::vector<Finding> findings = {
      RootActivity(),
      admin,
      second_root,
      Resolved(SecurityGroupOpen(), Resolution::kState, R"({"event_name":"X"})"),
      Resolved(RootActivity(), Resolution::kClosed, R"({"by":"carol","reason":"ok"})"),
  };
  const std::vector<std::string> lines = Lines(OpenFindingsSummary(findings));
  ASSERT_EQ(lines.size(), 6u) << OpenFindingsSummary(findings);
  EXPECT_EQ(lines[0], "still open: 3 of 5 finding(s) (1 posture, 2 event), by category and kind:");
  EXPECT_EQ(Words(lines[1]), (std::vector<std::string>{"identity", "posture", "1",
                                                       "identity-user-has-admin-policy"}));
  EXPECT_EQ(Words(lines[2]),
            (std::vector<std::string>{"identity", "event", "2", "identity-root-activity", "(2)"}));
  EXPECT_EQ(lines[3], "resolved: 2 (identity 1, network 1); resolution: state 1, closed 1");
  EXPECT_EQ(lines[4], "posture findings resolve when the state goes back");
  EXPECT_NE(lines[5].find("event findings resolve when they expire"), std::string::npos);
  EXPECT_NE(lines[5].find("driftwatch findings close ID --reason TEXT"), std::string::npos);
}

TEST(TextSummary, NothingOpen) {
  EXPECT_EQ(OpenFindingsSummary({}), "still open: nothing (no findings)\n");
  EXPECT_EQ(OpenFindingsSummary({Resolved(SecurityGroupOpen(), Resolution::kState, "{}")}),
            "still open: nothing (1 finding(s), all resolved)\n"
            "resolved: 1 (network 1); resolution: state 1\n");
}

TEST(TableSink, HasAKindColumn) {
  const std::vector<std::string> lines =
      Lines(Written<TableFindingSink>({SecurityGroupOpen(), RootActivity()}));
  ASSERT_EQ(lines.size(), 3u);
  const size_t kind = lines[0].find("KIND");
  ASSERT_NE(kind, std::string::npos) << lines[0];
  EXPECT_LT(lines[0].find("SEVERITY"), kind);
  EXPECT_LT(kind, lines[0].find("CATEGORY"));
  EXPECT_EQ(lines[1].substr(kind, 8), "posture ");
  EXPECT_EQ(lines[2].substr(kind, 8), "event   ");
}

TEST(TextConfig, TextIsAcceptedForStdoutOnly) {
  ServiceConfig cfg;
  ASSERT_TRUE(
      ParseServiceConfig("findings:\n  format: {stdout: text, file: ocsf}\n", "t.yaml", &cfg).ok());
  EXPECT_EQ(cfg.findings_stdout_format, "text");
  EXPECT_EQ(cfg.findings_file_format, "ocsf");
  EXPECT_EQ(cfg.findings_kafka_format, "driftwatch");

  std::vector<Problem> problems;
  EXPECT_FALSE(ParseServiceConfig("findings:\n  format: text\n", "t.yaml", &cfg, &problems).ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(ProblemText(problems[0]),
            "t.yaml:2: findings.format: text is for people on stdout only: use format: {stdout: "
            "text}");
  EXPECT_FALSE(ParseServiceConfig("findings:\n  format:\n    file: text\n    stdout: table\n",
                                  "t.yaml", &cfg, &problems)
                   .ok());
  ASSERT_EQ(problems.size(), 2u);
  const std::string all = ProblemText(problems[0]) + "\n" + ProblemText(problems[1]);
  EXPECT_NE(all.find("t.yaml:3: findings.format.file: text is for people on stdout only"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("t.yaml:4: findings.format.stdout: must be driftwatch, ocsf or text"),
            std::string::npos)
      << all;
}

}  // namespace
}  // namespace driftwatch
