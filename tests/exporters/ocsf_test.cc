// The OCSF 1.8.0 mapping (exporters/ocsf.h, doc/ocsf_mapping.md) field by field, the sinks that
// write it (NDJSON, the Kafka findings topic) and findings.format in the service config. Schema
// validation of everything the pack emits is tests/scripts/ocsf_schema.sh.
#include "exporters/ocsf.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/config.h"
#include "exporters/finding_sinks.h"
#include "kafka/embedded_broker.h"
#include "kafka/kafka_producer.h"
#include "tests/integration/kafka_test_util.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;

// A security group opened to the world by a leaked key, seen twice.
Finding PostureFinding() {
  Finding f;
  f.rule_id = "network-sg-open-to-world";
  f.title = "Security group open to the world";
  f.description = "Revoke the rule.";
  f.category = Category::kNetwork;
  f.severity = Severity::kHigh;
  f.kind = FindingKind::kPosture;
  f.resource = {"AWS::EC2::SecurityGroup", "sg-0badc0ffee1234567",
                "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0badc0ffee1234567",
                "111122223333", "us-east-1"};
  f.actor = {"IAMUser", "arn:aws:iam::444455556666:user/ci-deploy", "AKIAEXAMPLELEAKED001",
             "198.51.100.77"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  f.event_ids = {"ev-1", "ev-2"};
  f.event_times_ms = {1793589000000, 1793589060000};
  f.first_seen_ms = 1793589000000;
  f.last_seen_ms = 1793589060000;
  f.evidence = R"({"configuration.ipPermissions":{"fromPort":22,"ipRanges":["0.0.0.0/0"]}})";
  return f;
}

Finding EventFinding() {
  Finding f = PostureFinding();
  f.rule_id = "identity-iam-user-created";
  f.title = "IAM user created";
  f.category = Category::kIdentity;
  f.severity = Severity::kMedium;
  f.kind = FindingKind::kEvent;
  f.resource = {"AWS::IAM::User", "backup-admin", "arn:aws:iam::111122223333:user/backup-admin",
                "111122223333", "global"};
  f.finding_id = MakeFindingId(f.rule_id, f.resource);
  return f;
}

void Resolve(Finding* f, Resolution why, const std::string& detail, int64_t at_ms) {
  f->status = FindingStatus::kResolved;
  f->resolution = why;
  f->resolution_detail = detail;
  f->resolved_at_ms = at_ms;
}

json Ocsf(const Finding& f) {
  const std::string text = FindingToOcsfJson(f);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  return json::parse(text);
}

// Every value reachable without entering json_t data or `unmapped`: none is null or "".
void ExpectNoNullOrEmpty(const json& j, const std::string& where) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "data" || it.key() == "unmapped") continue;
      ExpectNoNullOrEmpty(it.value(), where + "." + it.key());
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      ExpectNoNullOrEmpty(j[i], where + "[" + std::to_string(i) + "]");
    }
  } else {
    EXPECT_FALSE(j.is_null()) << where;
    if (j.is_string()) {
      EXPECT_NE(j.get<std::string>(), "") << where;
    }
  }
}

TEST(Ocsf, OpenedPostureFindingIsAComplianceFindingCreate) {
  const Finding f = PostureFinding();
  const json o = Ocsf(f);
  EXPECT_EQ(o["class_uid"], 2003);
  EXPECT_EQ(o["class_name"], "Compliance Finding");
  EXPECT_EQ(o["category_uid"], 2);
  EXPECT_EQ(o["activity_id"], 1);
  EXPECT_EQ(o["activity_name"], "Create");
  EXPECT_EQ(o["type_uid"], 200301);
  EXPECT_EQ(o["type_name"], "Compliance Finding: Create");
  EXPECT_EQ(o["status_id"], 1);
  EXPECT_EQ(o["status"], "New");
  EXPECT_FALSE(o.contains("status_detail"));
  EXPECT_EQ(o["severity_id"], 4);
  EXPECT_EQ(o["severity"], "High");
  EXPECT_EQ(o["time"], f.last_seen_ms);
  EXPECT_EQ(o["message"], f.title);

  const json& m = o["metadata"];
  EXPECT_EQ(m["version"], "1.8.0");
  EXPECT_EQ(m["product"]["name"], "driftwatch");
  EXPECT_EQ(m["product"]["vendor_name"], "driftwatch");
  EXPECT_FALSE(m["product"]["version"].get<std::string>().empty());
  EXPECT_EQ(m["profiles"], json::array({"cloud"}));
  EXPECT_EQ(m["uid"], f.finding_id + "-opened-1793589060000");

  EXPECT_EQ(o["cloud"]["provider"], "AWS");
  EXPECT_EQ(o["cloud"]["account"]["uid"], "111122223333");
  EXPECT_EQ(o["cloud"]["account"]["type_id"], 10);
  EXPECT_EQ(o["cloud"]["region"], "us-east-1");
  EXPECT_EQ(o["cloud"]["cloud_partition"], "aws");

  const json& info = o["finding_info"];
  EXPECT_EQ(info["uid"], f.finding_id);
  EXPECT_EQ(info["title"], f.title);
  EXPECT_EQ(info["desc"], f.description);
  EXPECT_EQ(info["types"], json::array({"network-sg-open-to-world", "network"}));
  EXPECT_EQ(info["analytic"]["uid"], f.rule_id);
  EXPECT_EQ(info["analytic"]["type_id"], 1);
  EXPECT_EQ(info["first_seen_time"], f.first_seen_ms);
  EXPECT_EQ(info["created_time"], f.first_seen_ms);
  EXPECT_EQ(info["last_seen_time"], f.last_seen_ms);

  const json& c = o["compliance"];
  EXPECT_EQ(c["control"], f.rule_id);
  EXPECT_EQ(c["category"], "network");
  EXPECT_EQ(c["status_id"], 3);
  EXPECT_EQ(c["status"], "Fail");
  ASSERT_EQ(c["standards"].size(), 1u);
  EXPECT_NE(c["standards"][0].get<std::string>().find("AWS Shared Responsibility Model"),
            std::string::npos);
  EXPECT_NE(c["standards"][0].get<std::string>().find("customer"), std::string::npos);

  ASSERT_EQ(o["resources"].size(), 1u);
  const json& r = o["resources"][0];
  EXPECT_EQ(r["uid"], f.resource.arn);
  EXPECT_EQ(r["name"], "sg-0badc0ffee1234567");
  EXPECT_EQ(r["type"], "AWS::EC2::SecurityGroup");
  EXPECT_EQ(r["region"], "us-east-1");
  EXPECT_EQ(r["owner"]["account"]["uid"], "111122223333");

  // One evidence per event id, oldest first; the newest says who, from where and what matched.
  ASSERT_EQ(o["evidences"].size(), 2u);
  EXPECT_EQ(o["evidences"][0]["uid"], "ev-1");
  EXPECT_EQ(o["evidences"][0]["data"]["event_time"], 1793589000000);
  EXPECT_FALSE(o["evidences"][0].contains("actor"));
  const json& newest = o["evidences"][1];
  EXPECT_EQ(newest["uid"], "ev-2");
  EXPECT_EQ(newest["data"]["event_id"], "ev-2");
  EXPECT_EQ(newest["data"]["matched"]["configuration.ipPermissions"]["fromPort"], 22);
  const json& user = newest["actor"]["user"];
  EXPECT_EQ(user["uid"], f.actor.arn);
  EXPECT_EQ(user["type"], "IAMUser");
  EXPECT_EQ(user["type_id"], 1);
  EXPECT_EQ(user["credential_uid"], "AKIAEXAMPLELEAKED001");
  EXPECT_EQ(user["account"]["uid"], "444455556666");  // the actor's own account, from its ARN
  EXPECT_EQ(newest["src_endpoint"]["ip"], "198.51.100.77");
  // The actor is a host-profile attribute at the top level: only under evidences.
  EXPECT_FALSE(o.contains("actor"));

  EXPECT_EQ(o["remediation"]["desc"], f.description);
  EXPECT_EQ(o["unmapped"]["kind"], "posture");
  EXPECT_EQ(o["unmapped"]["category"], "network");
  EXPECT_FALSE(o["unmapped"].contains("resolution"));
  ExpectNoNullOrEmpty(o, "");
}

TEST(Ocsf, ResolvedPostureFindingClosesAndPasses) {
  Finding f = PostureFinding();
  Resolve(&f, Resolution::kState,
          R"({"event_id":"ev-3","event_name":"RevokeSecurityGroupIngress"})", 1793589600000);
  // As the tracker does: the event that undid the drift joins the event ids, the actor and the
  // evidence stay those of the drift's newest event.
  f.event_ids.push_back("ev-3");
  f.event_times_ms.push_back(1793589600000);
  f.last_seen_ms = 1793589600000;
  const json o = Ocsf(f);
  EXPECT_EQ(o["class_uid"], 2003);
  EXPECT_EQ(o["activity_id"], 3);
  EXPECT_EQ(o["activity_name"], "Close");
  EXPECT_EQ(o["type_uid"], 200303);
  EXPECT_EQ(o["status_id"], 4);
  EXPECT_EQ(o["status"], "Resolved");
  EXPECT_EQ(o["status_detail"], "state");
  EXPECT_EQ(o["time"], 1793589600000);
  EXPECT_EQ(o["metadata"]["uid"], f.finding_id + "-resolved-1793589600000");
  EXPECT_EQ(o["compliance"]["status_id"], 1);
  EXPECT_EQ(o["compliance"]["status"], "Pass");
  EXPECT_FALSE(o["compliance"].contains("status_detail"));
  EXPECT_EQ(o["unmapped"]["resolution"], "state");
  EXPECT_EQ(o["unmapped"]["resolution_detail"]["event_name"], "RevokeSecurityGroupIngress");
  EXPECT_FALSE(o.contains("comment"));
  // The finding is the same one: same uid, same first and last seen.
  EXPECT_EQ(o["finding_info"]["uid"], f.finding_id);
  EXPECT_EQ(o["finding_info"]["last_seen_time"], f.last_seen_ms);
  // Evidences are what triggered it: the undoing event is only in unmapped.resolution_detail.
  ASSERT_EQ(o["evidences"].size(), 2u);
  EXPECT_EQ(o["evidences"][1]["uid"], "ev-2");
  EXPECT_EQ(o["evidences"][1]["actor"]["user"]["uid"], f.actor.arn);
  EXPECT_TRUE(o["evidences"][1]["data"].contains("matched"));
  ExpectNoNullOrEmpty(o, "");
}

TEST(Ocsf, PostureFindingClosedByHandStaysFailWithTheReasonAsComment) {
  Finding f = PostureFinding();
  Resolve(
      &f, Resolution::kClosed,
      R"({"by":"arn:aws:iam::111122223333:user/on-call","reason":"accepted risk","event_id":"c-1"})",
      1793589700000);
  const json o = Ocsf(f);
  EXPECT_EQ(o["activity_id"], 3);
  EXPECT_EQ(o["status_id"], 4);
  EXPECT_EQ(o["status_detail"], "closed");
  EXPECT_EQ(o["comment"], "accepted risk");
  EXPECT_EQ(o["compliance"]["status_id"], 3);
  EXPECT_EQ(o["compliance"]["status"], "Fail");
  EXPECT_FALSE(o["compliance"]["status_detail"].get<std::string>().empty());
  EXPECT_EQ(o["unmapped"]["resolution_detail"]["by"], "arn:aws:iam::111122223333:user/on-call");
  ExpectNoNullOrEmpty(o, "");
}

TEST(Ocsf, EventFindingIsADetectionFindingWithoutCompliance) {
  Finding f = EventFinding();
  json o = Ocsf(f);
  EXPECT_EQ(o["class_uid"], 2004);
  EXPECT_EQ(o["class_name"], "Detection Finding");
  EXPECT_EQ(o["type_uid"], 200401);
  EXPECT_EQ(o["type_name"], "Detection Finding: Create");
  EXPECT_EQ(o["severity_id"], 3);
  EXPECT_FALSE(o.contains("compliance"));
  EXPECT_EQ(o["cloud"]["region"], "global");
  EXPECT_EQ(o["unmapped"]["kind"], "event");

  Resolve(&f, Resolution::kExpired, R"({"expire_after_seconds":86400})", 1793675460000);
  o = Ocsf(f);
  EXPECT_EQ(o["type_uid"], 200403);
  EXPECT_EQ(o["status_id"], 4);
  EXPECT_EQ(o["status_detail"], "expired");
  EXPECT_EQ(o["time"], 1793675460000);
  EXPECT_EQ(o["unmapped"]["resolution_detail"]["expire_after_seconds"], 86400);
  EXPECT_FALSE(o.contains("compliance"));
  ExpectNoNullOrEmpty(o, "");
}

TEST(Ocsf, SeverityIds) {
  const std::pair<Severity, int> cases[] = {{Severity::kInfo, 1},
                                            {Severity::kLow, 2},
                                            {Severity::kMedium, 3},
                                            {Severity::kHigh, 4},
                                            {Severity::kCritical, 5}};
  for (const auto& [severity, id] : cases) {
    Finding f = PostureFinding();
    f.severity = severity;
    EXPECT_EQ(Ocsf(f)["severity_id"], id) << SeverityName(severity);
  }
}

TEST(Ocsf, ActorTypes) {
  const std::pair<const char*, int> cases[] = {{"IAMUser", 1},      {"Root", 2}, {"AWSService", 4},
                                               {"AssumedRole", 99}, {"", 0},     {"Unknown", 0},
                                               {"FederatedUser", 1}};
  for (const auto& [type, id] : cases) {
    Finding f = PostureFinding();
    f.actor.type = type;
    const json user = Ocsf(f)["evidences"][1]["actor"]["user"];
    EXPECT_EQ(user["type_id"], id) << type;
    EXPECT_EQ(user["type"], *type ? type : "Unknown");
  }
}

TEST(Ocsf, WhatIsMissingIsLeftOutNotWrittenEmpty) {
  Finding f = PostureFinding();
  f.resource.arn.clear();
  f.resource.region.clear();
  f.actor = {"AWSService", "", "", "config.amazonaws.com"};
  f.event_ids.clear();
  f.event_times_ms.clear();
  f.evidence = "not json";
  f.description.clear();
  const json o = Ocsf(f);
  // Without an ARN the resource's uid is its state key.
  EXPECT_EQ(o["resources"][0]["uid"], "111122223333||AWS::EC2::SecurityGroup|sg-0badc0ffee1234567");
  EXPECT_FALSE(o["resources"][0].contains("region"));
  EXPECT_FALSE(o["resources"][0].contains("cloud_partition"));
  EXPECT_FALSE(o["cloud"].contains("region"));
  EXPECT_FALSE(o["finding_info"].contains("desc"));
  EXPECT_FALSE(o.contains("remediation"));
  // No ARN: no OCSF user (it needs a uid, name or account); its type goes under unmapped. A
  // service name as source address is a svc_name, not an ip.
  ASSERT_EQ(o["evidences"].size(), 1u);
  EXPECT_FALSE(o["evidences"][0].contains("actor"));
  EXPECT_FALSE(o["evidences"][0].contains("uid"));
  EXPECT_EQ(o["evidences"][0]["src_endpoint"]["svc_name"], "config.amazonaws.com");
  EXPECT_EQ(o["unmapped"]["actor"]["type"], "AWSService");
  ExpectNoNullOrEmpty(o, "");

  f.actor = {};
  const json quiet = Ocsf(f);
  EXPECT_FALSE(quiet.contains("evidences"));
  EXPECT_FALSE(quiet["unmapped"].contains("actor"));
  f.resource.account.clear();
  EXPECT_FALSE(Ocsf(f)["cloud"].contains("account"));
  EXPECT_FALSE(Ocsf(f)["resources"][0].contains("owner"));
}

TEST(Ocsf, Ipv6SourceAndEventTimesThatDoNotLineUp) {
  Finding f = PostureFinding();
  f.actor.source_ip = "2001:db8::7";
  f.event_times_ms = {1};  // not one per event id: times left out
  const json o = Ocsf(f);
  EXPECT_EQ(o["evidences"][1]["src_endpoint"]["ip"], "2001:db8::7");
  EXPECT_FALSE(o["evidences"][0]["data"].contains("event_time"));
}

TEST(Ocsf, UnknownEventTimeGivesTimeZeroAndNoSeenTimes) {
  Finding f = EventFinding();
  f.first_seen_ms = f.last_seen_ms = 0;
  const json o = Ocsf(f);
  EXPECT_EQ(o["time"], 0);
  EXPECT_FALSE(o["finding_info"].contains("first_seen_time"));
  EXPECT_FALSE(o["finding_info"].contains("last_seen_time"));
}

TEST(Ocsf, DeterministicAndInvalidUtf8Replaced) {
  Finding f = PostureFinding();
  EXPECT_EQ(FindingToOcsfJson(f), FindingToOcsfJson(f));
  f.title = std::string("bad \xff title");
  const json o = Ocsf(f);
  EXPECT_EQ(o["finding_info"]["title"], "bad \xef\xbf\xbd title");
}

TEST(Ocsf, FormatNamesAndDispatch) {
  FindingFormat fmt = FindingFormat::kDriftwatch;
  EXPECT_TRUE(ParseFindingFormat("ocsf", &fmt));
  EXPECT_EQ(fmt, FindingFormat::kOcsf);
  EXPECT_TRUE(ParseFindingFormat("driftwatch", &fmt));
  EXPECT_EQ(fmt, FindingFormat::kDriftwatch);
  EXPECT_FALSE(ParseFindingFormat("OCSF", &fmt));
  EXPECT_EQ(FindingFormatName(FindingFormat::kOcsf), "ocsf");
  EXPECT_EQ(FindingFormatName(FindingFormat::kDriftwatch), "driftwatch");
  const Finding f = PostureFinding();
  EXPECT_EQ(FindingText(f, FindingFormat::kDriftwatch), FindingToJson(f));
  EXPECT_EQ(FindingText(f, FindingFormat::kOcsf), FindingToOcsfJson(f));
}

TEST(Ocsf, NdjsonSinkWritesOneOcsfObjectPerStatusChange) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  ASSERT_NE(mem, nullptr);
  {
    NdjsonFindingSink sink(mem, FindingFormat::kOcsf);
    Finding f = PostureFinding();
    ASSERT_TRUE(sink.Emit(f).ok());
    Resolve(&f, Resolution::kState, "{}", 1793589600000);
    ASSERT_TRUE(sink.Emit(f).ok());
    ASSERT_TRUE(sink.Flush().ok());
  }
  fclose(mem);
  std::istringstream lines(std::string(buf, len));
  free(buf);
  std::string line;
  std::vector<int> type_uids;
  while (std::getline(lines, line)) type_uids.push_back(json::parse(line)["type_uid"]);
  EXPECT_EQ(type_uids, (std::vector<int>{200301, 200303}));
}

TEST(Ocsf, KafkaFindingsTopicCarriesOcsfKeyedByFindingId) {
  std::unique_ptr<EmbeddedBroker> broker;
  ASSERT_TRUE(EmbeddedBroker::Start(1, &broker).ok());
  ASSERT_TRUE(broker->CreateTopic("findings", 2).ok());
  std::unique_ptr<KafkaProducer> producer;
  KafkaProducerOptions po;
  po.brokers = broker->bootstrap();
  ASSERT_TRUE(KafkaProducer::Open(po, &producer).ok());
  KafkaFindingSink sink(producer.get(), "findings",
                        [](const Finding& f) { return FindingText(f, FindingFormat::kOcsf); });
  Finding f = PostureFinding();
  ASSERT_TRUE(sink.Emit(f).ok());
  Resolve(&f, Resolution::kState, "{}", 1793589600000);
  ASSERT_TRUE(sink.Emit(f).ok());
  ASSERT_TRUE(producer->Flush(10000).ok());

  auto msgs = testing_kafka::ReadTopic(broker->bootstrap(), "findings", 2);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].partition, msgs[1].partition);  // one key, one partition, in order
  std::vector<int> activities;
  for (const auto& m : msgs) {
    EXPECT_EQ(m.key, f.finding_id);
    const json o = json::parse(m.value);
    EXPECT_EQ(o["finding_info"]["uid"], f.finding_id);
    activities.push_back(o["activity_id"]);
  }
  EXPECT_EQ(activities, (std::vector<int>{1, 3}));
}

TEST(OcsfConfig, FindingsFormatForEverySinkOrPerSink) {
  ServiceConfig cfg;
  ASSERT_TRUE(ParseServiceConfig("findings:\n  stdout: true\n", "t.yaml", &cfg).ok());
  EXPECT_EQ(cfg.findings_stdout_format, "driftwatch");
  EXPECT_EQ(cfg.findings_file_format, "driftwatch");
  EXPECT_EQ(cfg.findings_kafka_format, "driftwatch");

  ASSERT_TRUE(ParseServiceConfig("findings:\n  format: ocsf\n", "t.yaml", &cfg).ok());
  EXPECT_EQ(cfg.findings_stdout_format, "ocsf");
  EXPECT_EQ(cfg.findings_file_format, "ocsf");
  EXPECT_EQ(cfg.findings_kafka_format, "ocsf");

  ASSERT_TRUE(
      ParseServiceConfig("findings:\n  format: {file: ocsf, kafka: ocsf}\n", "t.yaml", &cfg).ok());
  EXPECT_EQ(cfg.findings_stdout_format, "driftwatch");
  EXPECT_EQ(cfg.findings_file_format, "ocsf");
  EXPECT_EQ(cfg.findings_kafka_format, "ocsf");
}

TEST(OcsfConfig, BadFormatsAreReportedWithLineAndKey) {
  ServiceConfig cfg;
  std::vector<Problem> problems;
  EXPECT_FALSE(ParseServiceConfig("findings:\n  format: json\n", "t.yaml", &cfg, &problems).ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(ProblemText(problems[0]), "t.yaml:2: findings.format: must be driftwatch or ocsf");
  EXPECT_FALSE(ParseServiceConfig("findings:\n  format:\n    kafka: xml\n    topic: ocsf\n",
                                  "t.yaml", &cfg, &problems)
                   .ok());
  ASSERT_EQ(problems.size(), 2u);
  std::string all = ProblemText(problems[0]) + "\n" + ProblemText(problems[1]);
  EXPECT_NE(all.find("t.yaml:3: findings.format.kafka: must be driftwatch or ocsf"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("t.yaml:4: findings.format.topic: unknown key"), std::string::npos) << all;
  EXPECT_FALSE(ParseServiceConfig("findings:\n  format: [ocsf]\n", "t.yaml", &cfg, &problems).ok());
}

}  // namespace
}  // namespace driftwatch
