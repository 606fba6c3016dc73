// The service config: the commented example loads, every problem is reported at once with
// file:line, environment references resolve, secrets are masked.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace driftwatch {
namespace {

TEST(ServiceConfigTest, TheCommentedExampleLoads) {
  setenv("DRIFTWATCH_KAFKA_PASSWORD", "s3cret-value", 1);
  setenv("DRIFTWATCH_METRICS_PASSWORD", "scrape-pass", 1);
  ServiceConfig cfg;
  std::vector<Problem> problems;
  Status s = LoadServiceConfig(std::string(DW_SOURCE_DIR) + "/config/driftwatch.example.yaml",
                               &cfg, &problems);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(cfg.kafka.brokers, (std::vector<std::string>{"kafka-1:9092", "kafka-2:9092"}));
  EXPECT_EQ(cfg.kafka.topics, (std::vector<std::string>{"cloudtrail", "aws-config"}));
  EXPECT_EQ(cfg.kafka.findings_topic, "driftwatch-findings");
  EXPECT_EQ(cfg.kafka.changelog_topic, "driftwatch-changelog");
  EXPECT_EQ(cfg.kafka.batch_size, 1000);
  EXPECT_EQ(cfg.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(cfg.metrics.basic_auth_password_env, "DRIFTWATCH_METRICS_PASSWORD");
  EXPECT_EQ(cfg.dead_letter_topic, "driftwatch-dead-letter");
  EXPECT_EQ(cfg.cache_mb, 64);
  EXPECT_EQ(cfg.history_retention_days, 400);
  EXPECT_EQ(cfg.activity_retention_days, 90);
  EXPECT_TRUE(cfg.policy.has_approved_regions);
  EXPECT_EQ(cfg.policy.public_ports, (std::vector<int>{80, 443}));
  bool password_resolved = false;
  for (const auto& [k, v] : cfg.kafka.properties) {
    if (k == "sasl.password") password_resolved = v == "s3cret-value";
  }
  EXPECT_TRUE(password_resolved);
  unsetenv("DRIFTWATCH_KAFKA_PASSWORD");
  unsetenv("DRIFTWATCH_METRICS_PASSWORD");
}

TEST(ServiceConfigTest, ProblemsCarryACode) {
  ServiceConfig cfg;
  std::vector<Problem> problems;
  EXPECT_FALSE(
      ParseServiceConfig("state:\n  cache_mb: x\n  cash_mb: 1\n", "bad.yaml", &cfg, &problems)
          .ok());
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].code, ProblemCode::kUnknownKey);
  EXPECT_EQ(problems[0].key, "state.cash_mb");
  EXPECT_EQ(problems[1].code, ProblemCode::kInvalid);
  EXPECT_FALSE(ParseServiceConfig("state: [", "syntax.yaml", &cfg, &problems).ok());
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].code, ProblemCode::kSyntax);
  EXPECT_FALSE(LoadServiceConfig("/nonexistent/driftwatch.yaml", &cfg, &problems).ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code, ProblemCode::kUnreadable);
}

TEST(ServiceConfigTest, DefaultsWhenEmpty) {
  ServiceConfig cfg;
  ASSERT_TRUE(ParseServiceConfig("", "empty.yaml", &cfg).ok());
  EXPECT_TRUE(cfg.kafka.brokers.empty());  // embedded broker
  EXPECT_EQ(cfg.kafka.topics, std::vector<std::string>{"cloudtrail"});
  EXPECT_EQ(cfg.kafka.group_id, "driftwatch");
  EXPECT_EQ(cfg.kafka.embedded_partitions, 8);
  EXPECT_EQ(cfg.metrics.listen, "127.0.0.1:9464");
  EXPECT_TRUE(cfg.findings_stdout);
  EXPECT_TRUE(cfg.state_path.empty());
  EXPECT_EQ(cfg.cache_mb, 64);
  ASSERT_TRUE(ParseServiceConfig("state:\n  cache_mb: 0\n", "off.yaml", &cfg).ok());
  EXPECT_EQ(cfg.cache_mb, 0);
  std::vector<Problem> problems;
  EXPECT_FALSE(ParseServiceConfig("state:\n  cache_mb: -1\n", "bad.yaml", &cfg, &problems).ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(ProblemText(problems[0]).rfind("bad.yaml:2: state.cache_mb", 0), 0u)
      << ProblemText(problems[0]);
}

TEST(ServiceConfigTest, RetentionDefaultsZeroKeepsEverythingAndBounds) {
  ServiceConfig cfg;
  ASSERT_TRUE(ParseServiceConfig("", "empty.yaml", &cfg).ok());
  EXPECT_EQ(cfg.history_retention_days, 400);
  EXPECT_EQ(cfg.activity_retention_days, 90);
  ASSERT_TRUE(ParseServiceConfig(
                  "state:\n  history_retention_days: 0\n  activity_retention_days: 30\n",
                  "keep.yaml", &cfg)
                  .ok());
  EXPECT_EQ(cfg.history_retention_days, 0);
  EXPECT_EQ(cfg.activity_retention_days, 30);
  std::vector<Problem> problems;
  EXPECT_FALSE(ParseServiceConfig(
                   "state:\n  history_retention_days: -1\n  activity_retention_days: 40000\n",
                   "bad.yaml", &cfg, &problems)
                   .ok());
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(ProblemText(problems[0]).rfind("bad.yaml:2: state.history_retention_days", 0), 0u)
      << ProblemText(problems[0]);
  EXPECT_EQ(ProblemText(problems[1]).rfind("bad.yaml:3: state.activity_retention_days", 0), 0u)
      << ProblemText(problems[1]);
}

TEST(ServiceConfigTest, ChangelogTopicIsOffByDefaultAndMustBeATopicOfItsOwn) {
  ServiceConfig cfg;
  ASSERT_TRUE(ParseServiceConfig("", "empty.yaml", &cfg).ok());
  EXPECT_TRUE(cfg.kafka.changelog_topic.empty());
  for (const char* text : {"kafka:\n  topics: [ct]\n  changelog_topic: ct\n",
                           "kafka:\n  findings_topic: f\n  changelog_topic: f\n",
                           "kafka:\n  changelog_topic: \"no spaces\"\n"}) {
    std::vector<Problem> problems;
    EXPECT_FALSE(ParseServiceConfig(text, "c.yaml", &cfg, &problems).ok()) << text;
    ASSERT_EQ(problems.size(), 1u) << text;
    EXPECT_EQ(problems[0].key, "kafka.changelog_topic") << text;
  }
  ASSERT_TRUE(ParseServiceConfig("kafka:\n  changelog_topic: dw-changelog\n", "ok.yaml", &cfg).ok());
  EXPECT_EQ(cfg.kafka.changelog_topic, "dw-changelog");
}

TEST(ServiceConfigTest, EveryProblemAtOnceWithFileAndLine) {
  unsetenv("DW_TEST_UNSET_VARIABLE");
  const std::string text =
      "kafka:\n"                                       // 1
      "  brokers: [\"nohost\"]\n"                      // 2
      "  batch_size: 0\n"                              // 3
      "  properties:\n"                                // 4
      "    sasl.password: \"${DW_TEST_UNSET_VARIABLE}\"\n"  // 5
      "    group.id: other\n"                          // 6
      "  colour: blue\n"                               // 7
      "metrics:\n"                                     // 8
      "  listen: 9464\n"                               // 9
      "findings:\n"                                    // 10
      "  stdout: maybe\n"                              // 11
      "policy:\n"                                      // 12
      "  access_key_max_age_days: 0\n"                 // 13
      "surprise: 1\n";                                 // 14
  ServiceConfig cfg;
  cfg.kafka.group_id = "untouched";
  std::vector<Problem> problems;
  Status s = ParseServiceConfig(text, "svc.yaml", &cfg, &problems);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(cfg.kafka.group_id, "untouched");  // nothing half-applied
  std::vector<std::string> lines;
  for (const auto& p : problems) lines.push_back(ProblemText(p));
  auto has = [&](const std::string& prefix) {
    for (const auto& l : lines) {
      if (l.rfind(prefix, 0) == 0) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("svc.yaml:2: kafka.brokers")) << s.message();
  EXPECT_TRUE(has("svc.yaml:3: kafka.batch_size")) << s.message();
  EXPECT_TRUE(has("svc.yaml:5: kafka.properties.sasl.password: environment variable "
                  "DW_TEST_UNSET_VARIABLE is not set"))
      << s.message();
  EXPECT_TRUE(has("svc.yaml:6: kafka.properties.group.id")) << s.message();
  EXPECT_TRUE(has("svc.yaml:7: kafka.colour: unknown key")) << s.message();
  EXPECT_TRUE(has("svc.yaml:9: metrics.listen")) << s.message();
  EXPECT_TRUE(has("svc.yaml:11: findings.stdout")) << s.message();
  EXPECT_TRUE(has("svc.yaml:13: policy.access_key_max_age_days")) << s.message();
  EXPECT_TRUE(has("svc.yaml:14: surprise: unknown key")) << s.message();
}

TEST(ServiceConfigTest, SecretsAreMaskedAndNeverInProblems) {
  EXPECT_TRUE(IsSecretProperty("sasl.password"));
  EXPECT_TRUE(IsSecretProperty("ssl.key.password"));
  EXPECT_TRUE(IsSecretProperty("sasl.oauthbearer.client.secret"));
  EXPECT_TRUE(IsSecretProperty("ssl.key.pem"));
  EXPECT_FALSE(IsSecretProperty("security.protocol"));
  EXPECT_EQ(MaskedValue("sasl.password", "hunter2"), "****");
  EXPECT_EQ(MaskedValue("security.protocol", "SASL_SSL"), "SASL_SSL");

  setenv("DW_TEST_SECRET", "hunter2", 1);
  ServiceConfig cfg;
  Status s = ParseServiceConfig(
      "kafka:\n  properties:\n    sasl.password: \"${DW_TEST_SECRET}\"\n  batch_size: -1\n",
      "s.yaml", &cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("hunter2"), std::string::npos) << s.message();
  unsetenv("DW_TEST_SECRET");
}

TEST(ServiceConfigTest, MissingFileAndSyntaxErrorsNameTheFile) {
  ServiceConfig cfg;
  Status s = LoadServiceConfig("/nonexistent/dw.yaml", &cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/dw.yaml"), std::string::npos);
  std::vector<Problem> problems;
  s = ParseServiceConfig("kafka:\n  topics: [a, b\n", "broken.yaml", &cfg, &problems);
  ASSERT_FALSE(s.ok());
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].file, "broken.yaml");
  EXPECT_GT(problems[0].line, 0);
}

}  // namespace
}  // namespace driftwatch
