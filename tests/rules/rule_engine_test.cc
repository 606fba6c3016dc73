// Behaviour of compiled rules on events and resource documents: operators, the index, the
// finding lifecycle, suppressions and time-driven checks.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "appliers/prepared_event.h"
#include "rules/rule_engine_impl.h"
#include "state/batch_context.h"
#include "state/memory_store.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;

std::string Rule(const std::string& id, const std::string& match, const std::string& condition,
                 const std::string& extra = "") {
  return "- rule: " + id +
         "\n  title: T\n  category: network\n  severity: high\n"
         "  description: Something happened; do the thing about it.\n" +
         match + (condition.empty() ? "" : "  condition: " + condition + "\n") + extra;
}

std::unique_ptr<CompiledRuleEngine> MustLoad(const std::string& text, const Policy& policy = {}) {
  RuleLoadResult r;
  auto engine = CompiledRuleEngine::LoadTexts({{"t.yaml", text}}, policy, &r);
  EXPECT_TRUE(r.ok()) << r.ToText();
  return engine;
}

Event ApiCall(const std::string& source, const std::string& name, json record) {
  if (!record.is_object()) record = json::object();
  Event e;
  e.kind = EventKind::kApiCall;
  e.id = record.value("eventID", "ev-" + name);
  e.time_ms = 1700000000000;
  e.account = "111122223333";
  e.region = "us-east-1";
  e.event_source = source;
  e.event_name = name;
  e.principal.type = "IAMUser";
  e.principal.arn = "arn:aws:iam::111122223333:user/alice";
  e.source_ip = "198.51.100.7";
  record["eventSource"] = source;
  record["eventName"] = name;
  e.document = record.dump();
  return e;
}

class RuleEngineTest : public ::testing::Test {
 protected:
  std::vector<Finding> Run(RuleEngine& engine, const Event& e) {
    BatchContext ctx(&store_);
    ctx.AdvanceWatermark(e.time_ms);
    engine.OnEvent(e, ctx);
    engine.OnWatermark(ctx);
    WriteSet w = ctx.TakeWrites();  // before TakeEmitted, which ends the batch
    std::vector<Finding> emitted = ctx.TakeEmitted();
    EXPECT_TRUE(store_.Commit(w).ok());
    return emitted;
  }
  std::vector<Finding> Delta(RuleEngine& engine, const StateDelta& d, const Event& cause,
                             int64_t watermark) {
    BatchContext ctx(&store_);
    ctx.set_watermark_ms(watermark);
    if (!d.deleted) ctx.PutResource(d.resource_key, d.after);
    else ctx.DeleteResource(d.resource_key);
    engine.OnStateDelta(d, cause, ctx);
    engine.OnWatermark(ctx);
    WriteSet w = ctx.TakeWrites();
    std::vector<Finding> emitted = ctx.TakeEmitted();
    EXPECT_TRUE(store_.Commit(w).ok());
    return emitted;
  }
  std::vector<Finding> Tick(RuleEngine& engine, int64_t watermark) {
    BatchContext ctx(&store_);
    ctx.set_watermark_ms(watermark);
    engine.OnWatermark(ctx);
    WriteSet w = ctx.TakeWrites();
    std::vector<Finding> emitted = ctx.TakeEmitted();
    EXPECT_TRUE(store_.Commit(w).ok());
    return emitted;
  }
  bool Matches(RuleEngine& engine, const Event& e) {
    MemoryStore fresh;
    BatchContext ctx(&fresh);
    engine.OnEvent(e, ctx);
    return !ctx.TakeEmitted().empty();
  }
  MemoryStore store_;
};

TEST_F(RuleEngineTest, LeafOperators) {
  const std::string match =
      "  event: {source: ec2.amazonaws.com, names: [AuthorizeSecurityGroupIngress]}\n";
  struct Case {
    const char* condition;
    json request;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"{field: requestParameters.groupId, equals: sg-1}", {{"groupId", "sg-1"}}, true},
      {"{field: requestParameters.groupId, equals: sg-1}", {{"groupId", "sg-2"}}, false},
      {"{field: requestParameters.fromPort, equals: 22}", {{"fromPort", 22}}, true},
      {"{field: requestParameters.fromPort, equals: \"22\"}", {{"fromPort", "22"}}, true},
      {"{field: requestParameters.flag, equals: false}", {{"flag", false}}, true},
      {"{field: requestParameters.flag, equals: false}", {{"flag", true}}, false},
      {"{field: requestParameters.groupId, not_equals: sg-1}", {{"groupId", "sg-2"}}, true},
      {"{field: requestParameters.groupId, in: [sg-1, sg-2]}", {{"groupId", "sg-2"}}, true},
      {"{field: requestParameters.groupId, in: [sg-1, sg-2]}", {{"groupId", "sg-3"}}, false},
      {"{field: requestParameters.groupId, in: [\"sg-*\"]}", {{"groupId", "sg-9"}}, true},
      {"{field: requestParameters.groupId, not_in: [sg-1]}", {{"groupId", "sg-3"}}, true},
      {"{field: requestParameters.groupId, not_in: [sg-1]}", json::object(), false},
      {"{field: requestParameters.name, prefix: prod-}", {{"name", "prod-db"}}, true},
      {"{field: requestParameters.name, suffix: [-db, -cache]}", {{"name", "prod-db"}}, true},
      {"{field: requestParameters.name, contains: od-d}", {{"name", "prod-db"}}, true},
      {"{field: requestParameters.tags, contains: secret}", {{"tags", {"a", "secret"}}}, true},
      {"{field: requestParameters.name, regex: \"^prod-[a-z]+$\"}", {{"name", "prod-db"}}, true},
      {"{field: requestParameters.name, regex: \"^prod-[a-z]+$\"}", {{"name", "prod-1"}}, false},
      {"{field: requestParameters.name, exists: true}", {{"name", "x"}}, true},
      {"{field: requestParameters.name, exists: false}", json::object(), true},
      {"{field: requestParameters.name, exists: false}", {{"name", nullptr}}, true},
      {"{field: requestParameters.n, lt: 14}", {{"n", 8}}, true},
      {"{field: requestParameters.n, le: 14}", {{"n", 14}}, true},
      {"{field: requestParameters.n, gt: 14}", {{"n", "15"}}, true},
      {"{field: requestParameters.n, ge: 14}", {{"n", 13}}, false},
      {"{field: requestParameters.ip, cidr_contains: [10.0.0.0/8]}", {{"ip", "10.2.3.4"}}, true},
      {"{field: requestParameters.ip, cidr_contains: [10.0.0.0/8]}", {{"ip", "11.2.3.4"}}, false},
      {"{field: requestParameters.ip, cidr_contains: [\"2001:db8::/32\"]}",
       {{"ip", "2001:db8::1"}}, true},
      {"{field: requestParameters.ip, cidr_contains: [10.0.0.0/8]}", {{"ip", "10.1.0.0/16"}},
       true},
      {"{field: requestParameters.cidr, open_to_world: true}", {{"cidr", "0.0.0.0/0"}}, true},
      {"{field: requestParameters.cidr, open_to_world: true}", {{"cidr", "::/0"}}, true},
      {"{field: requestParameters.cidr, open_to_world: true}", {{"cidr", "10.0.0.0/0"}}, true},
      {"{field: requestParameters.cidr, open_to_world: true}", {{"cidr", "0.0.0.0/1"}}, false},
      {"{field: requestParameters.cidr, open_to_world: true}", {{"cidr", {"1.2.3.4/32", "::/0"}}},
       true},
      {"{field: requestParameters.cidr, open_to_world: false}", {{"cidr", "10.0.0.0/8"}}, true},
      {"{field: \"requestParameters.items[].cidr\", open_to_world: true}",
       {{"items", {{{"cidr", "1.1.1.1/32"}}, {{"cidr", "0.0.0.0/0"}}}}}, true},
      {"{field: \"requestParameters.doc.@json.Statement[].Principal.AWS[].@account\", "
       "equals: \"999999999999\"}",
       {{"doc", R"({"Statement":{"Principal":{"AWS":["arn:aws:iam::999999999999:root"]}}})"}},
       true},
      {"{field: requestParameters.doc.@json.a, equals: b}", {{"doc", "%7B%22a%22%3A%22b%22%7D"}},
       true},
      {"{field: [requestParameters.a, requestParameters.b], equals: x}", {{"b", "x"}}, true},
      {"{field: [requestParameters.a, requestParameters.b], equals: x}",
       {{"a", "y"}, {"b", "x"}}, false},
      {"{port_range_overlaps: {from: requestParameters.f, to: requestParameters.t, "
       "ports: [22, 3389]}}",
       {{"f", 20}, {"t", 25}}, true},
      {"{port_range_overlaps: {from: requestParameters.f, to: requestParameters.t, "
       "ports: [22, 3389]}}",
       {{"f", 80}, {"t", 443}}, false},
      {"{port_range_outside: {from: requestParameters.f, to: requestParameters.t, "
       "ports: [80, 443]}}",
       {{"f", 443}, {"t", 443}}, false},
      {"{port_range_outside: {from: requestParameters.f, to: requestParameters.t, "
       "ports: [80, 443]}}",
       {{"f", 80}, {"t", 443}}, true},
      {"{port_range_outside: {from: requestParameters.f, to: requestParameters.t, "
       "ports: [\"0-65535\"]}}",
       {{"f", -1}, {"t", -1}}, false},
      {"{port_range_outside: {from: requestParameters.f, to: requestParameters.t, "
       "ports: [443]}}",
       {{"f", -1}, {"t", -1}}, true},
      {"{not: {field: requestParameters.a, equals: x}}", {{"a", "y"}}, true},
      {"{all: [{field: requestParameters.a, equals: x}, {field: requestParameters.b, equals: y}]}",
       {{"a", "x"}, {"b", "z"}}, false},
      {"{any: [{field: requestParameters.a, equals: x}, {field: requestParameters.b, equals: y}]}",
       {{"a", "q"}, {"b", "y"}}, true},
      {"{any_of: requestParameters.perms, where: {all: [{field: p, equals: 22}, "
       "{field: c, equals: world}]}}",
       {{"perms", {{{"p", 22}, {"c", "home"}}, {{"p", 80}, {"c", "world"}}}}}, false},
      {"{any_of: requestParameters.perms, where: {all: [{field: p, equals: 22}, "
       "{field: c, equals: world}]}}",
       {{"perms", {{{"p", 80}, {"c", "home"}}, {{"p", 22}, {"c", "world"}}}}}, true},
  };
  for (const Case& c : cases) {
    auto engine = MustLoad(Rule("r", match, c.condition));
    ASSERT_NE(engine, nullptr) << c.condition;
    Event e = ApiCall("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
                      {{"requestParameters", c.request}});
    EXPECT_EQ(Matches(*engine, e), c.expected) << c.condition << " on " << c.request.dump();
  }
}

TEST_F(RuleEngineTest, NormalizedFieldsNeedNoDocumentParse) {
  auto engine = MustLoad(
      Rule("root", "  event: {}\n", "{field: principal.type, equals: Root}") +
      Rule("mfa", "  event: {source: signin.amazonaws.com, names: [ConsoleLogin]}\n",
           "{all: [{field: principal.mfa_used, equals: false}, {field: region, equals: "
           "us-east-1}]}"));
  Event e = ApiCall("signin.amazonaws.com", "ConsoleLogin", json::object());
  e.document = "not json at all";  // would fail to parse if anything tried
  EXPECT_TRUE(Matches(*engine, e));
  EXPECT_EQ(engine->document_parses(), 0);
}

TEST_F(RuleEngineTest, DocumentParsedAtMostOncePerEventForAllRules) {
  std::string text;
  for (int i = 0; i < 20; ++i) {
    text += Rule("r" + std::to_string(i),
                 "  event: {source: iam.amazonaws.com, names: [CreateUser]}\n",
                 "{field: requestParameters.userName, equals: u" + std::to_string(i) + "}");
  }
  auto engine = MustLoad(text);
  Event e = ApiCall("iam.amazonaws.com", "CreateUser", {{"requestParameters", {{"userName", "u7"}}}});
  MemoryStore fresh;
  BatchContext ctx(&fresh);
  engine->OnEvent(e, ctx);
  std::vector<Finding> out = ctx.TakeEmitted();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule_id, "r7");
  EXPECT_EQ(engine->document_parses(), 1);
  Event other = ApiCall("iam.amazonaws.com", "DeleteUser", json::object());
  engine->OnEvent(other, ctx);
  EXPECT_EQ(engine->document_parses(), 1) << "no candidate rule: no parse";
}

// Parse once: paths under the call's members are read from the members the appliers parsed
// (PreparedEvent::record); the document is parsed only for a rule reading elsewhere.
TEST_F(RuleEngineTest, CallMembersTheAppliersParsedNeedNoDocumentParse) {
  auto engine = MustLoad(
      Rule("member", "  event: {source: iam.amazonaws.com, names: [CreateUser]}\n",
           "{field: requestParameters.userName, equals: u7}") +
      Rule("beyond", "  event: {source: iam.amazonaws.com, names: [DeleteUser]}\n",
           "{all: [{field: requestParameters.userName, equals: u7}, "
           "{field: userIdentity.sessionContext.attributes.mfaAuthenticated, equals: 'false'}]}"));
  MemoryStore fresh;
  BatchContext ctx(&fresh);

  Event e = ApiCall("iam.amazonaws.com", "CreateUser", {{"requestParameters", {{"userName", "u7"}}}});
  e.document = "not json at all";  // would fail to parse if anything tried
  PreparedEvent prepared;
  prepared.record = {{"requestParameters", {{"userName", "u7"}}}};
  prepared.record_ready = true;
  engine->Prepare(e, &prepared);
  EXPECT_FALSE(prepared.document_ready);
  engine->OnPreparedEvent(e, prepared, ctx);
  std::vector<Finding> out = ctx.TakeEmitted();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule_id, "member");
  EXPECT_EQ(engine->document_parses(), 0);

  // A rule that also reads userIdentity: the document is parsed, once, ahead.
  Event d = ApiCall("iam.amazonaws.com", "DeleteUser",
                    {{"requestParameters", {{"userName", "u7"}}},
                     {"userIdentity", {{"sessionContext",
                                        {{"attributes", {{"mfaAuthenticated", "false"}}}}}}}});
  PreparedEvent prepared_d;
  prepared_d.record = {{"requestParameters", {{"userName", "u7"}}}};
  prepared_d.record_ready = true;
  engine->Prepare(d, &prepared_d);
  EXPECT_TRUE(prepared_d.document_ready);
  engine->OnPreparedEvent(d, prepared_d, ctx);
  out = ctx.TakeEmitted();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule_id, "beyond");
  EXPECT_EQ(engine->document_parses(), 0) << "parsed ahead, not again";
}

TEST_F(RuleEngineTest, IndexSelectsBySourceAndName) {
  auto engine = MustLoad(
      Rule("a", "  event: {source: iam.amazonaws.com, names: [CreateUser]}\n", "") +
      Rule("b", "  event: {source: ec2.amazonaws.com, names: [CreateTags]}\n", "") +
      Rule("any-ec2", "  event: {source: ec2.amazonaws.com}\n",
           "{field: eventName, prefix: Delete}"));
  auto rules_for = [&](const Event& e) {
    MemoryStore fresh;
    BatchContext ctx(&fresh);
    engine->OnEvent(e, ctx);
    std::vector<std::string> ids;
    for (const Finding& f : ctx.TakeEmitted()) ids.push_back(f.rule_id);
    return ids;
  };
  EXPECT_EQ(rules_for(ApiCall("iam.amazonaws.com", "CreateUser", {})),
            std::vector<std::string>{"a"});
  EXPECT_EQ(rules_for(ApiCall("ec2.amazonaws.com", "CreateTags", {})),
            std::vector<std::string>{"b"});
  EXPECT_EQ(rules_for(ApiCall("ec2.amazonaws.com", "DeleteVpc", {})),
            std::vector<std::string>{"any-ec2"});
  EXPECT_TRUE(rules_for(ApiCall("s3.amazonaws.com", "DeleteBucket", {})).empty());
}

TEST_F(RuleEngineTest, EventFindingCarriesResourceActorEvidenceAndRepeatsUpdate) {
  auto engine = MustLoad(Rule(
      "user-created", "  event: {source: iam.amazonaws.com, names: [CreateUser]}\n",
      "{field: requestParameters.userName, prefix: svc-}",
      "  resource: {type: \"AWS::IAM::User\", id: requestParameters.userName, global: true}\n"
      "  evidence: [requestParameters.path]\n"));
  json record = {{"eventID", "e1"},
                 {"requestParameters", {{"userName", "svc-backup"}, {"path", "/ops/"}}}};
  Event e = ApiCall("iam.amazonaws.com", "CreateUser", record);
  e.principal.access_key_id = "AKIAEXAMPLE";
  std::vector<Finding> out = Run(*engine, e);
  ASSERT_EQ(out.size(), 1u);
  const Finding& f = out[0];
  EXPECT_EQ(f.status, FindingStatus::kOpen);
  EXPECT_EQ(f.resource.type, "AWS::IAM::User");
  EXPECT_EQ(f.resource.id, "svc-backup");
  EXPECT_EQ(f.resource.region, "global");
  EXPECT_EQ(f.resource.account, "111122223333");
  EXPECT_EQ(f.actor.arn, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.actor.access_key_id, "AKIAEXAMPLE");
  EXPECT_EQ(f.actor.source_ip, "198.51.100.7");
  EXPECT_EQ(f.event_ids, std::vector<std::string>{"e1"});
  EXPECT_EQ(f.category, Category::kNetwork);
  EXPECT_EQ(f.severity, Severity::kHigh);
  EXPECT_EQ(f.finding_id, MakeFindingId("user-created", f.resource));
  json evidence = json::parse(f.evidence);
  EXPECT_EQ(evidence["requestParameters.userName"], "svc-backup");
  EXPECT_EQ(evidence["requestParameters.path"], "/ops/");
  EXPECT_EQ(evidence["eventName"], "CreateUser");

  // The same event again and a second one: no new emission, last_seen and event list move.
  EXPECT_TRUE(Run(*engine, e).empty());
  record["eventID"] = "e2";
  Event again = ApiCall("iam.amazonaws.com", "CreateUser", record);
  again.time_ms += 60000;
  EXPECT_TRUE(Run(*engine, again).empty());
  Finding stored;
  ASSERT_TRUE(store_.GetFinding(f.finding_id, &stored).ok());
  EXPECT_EQ(stored.status, FindingStatus::kOpen);
  EXPECT_EQ(stored.event_ids, (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(stored.first_seen_ms, e.time_ms);
  EXPECT_EQ(stored.last_seen_ms, again.time_ms);
}

TEST_F(RuleEngineTest, ExceptionsAndResolveConditions) {
  auto engine = MustLoad(Rule(
      "noncompliant", "  event: {source: config.amazonaws.com, names: [ComplianceChange]}\n",
      "{field: compliance.type, equals: NON_COMPLIANT}",
      "  resolve: {field: compliance.type, equals: COMPLIANT}\n"
      "  exceptions: [{field: compliance.rule, prefix: ignored-}]\n"));
  auto compliance = [](const std::string& type, const std::string& rule, const std::string& id) {
    Event e;
    e.kind = EventKind::kComplianceChange;
    e.id = id;
    e.time_ms = 1700000000000;
    e.account = "111122223333";
    e.region = "us-east-1";
    e.event_source = "config.amazonaws.com";
    e.event_name = "ComplianceChange";
    e.compliance_type = type;
    e.config_rule = rule;
    e.resources.push_back({"AWS::EC2::Instance", "i-1", ""});
    e.document = "{}";
    return e;
  };
  EXPECT_TRUE(Run(*engine, compliance("NON_COMPLIANT", "ignored-x", "c0")).empty());
  std::vector<Finding> opened = Run(*engine, compliance("NON_COMPLIANT", "patch", "c1"));
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].resource.id, "i-1");
  EXPECT_EQ(opened[0].actor.type, "") << "no actor for a Config evaluation";
  std::vector<Finding> resolved = Run(*engine, compliance("COMPLIANT", "patch", "c2"));
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].status, FindingStatus::kResolved);
  EXPECT_EQ(resolved[0].finding_id, opened[0].finding_id);
  EXPECT_TRUE(Run(*engine, compliance("COMPLIANT", "patch", "c3")).empty()) << "resolved once";
}

TEST_F(RuleEngineTest, ComplianceFindingsAreKeptApartPerConfigRule) {
  auto engine = MustLoad(
      Rule("noncompliant", "  event: {source: config.amazonaws.com, names: [ComplianceChange]}\n",
           "{field: compliance.type, equals: NON_COMPLIANT}",
           "  resolve: {field: compliance.type, equals: COMPLIANT}\n"));
  auto compliance = [](const std::string& type, const std::string& rule, const std::string& id) {
    Event e;
    e.kind = EventKind::kComplianceChange;
    e.id = id;
    e.time_ms = 1700000000000;
    e.account = "111122223333";
    e.region = "us-east-1";
    e.event_source = "config.amazonaws.com";
    e.event_name = "ComplianceChange";
    e.compliance_type = type;
    e.config_rule = rule;
    e.resources.push_back({"AWS::EC2::Instance", "i-1", ""});
    e.document = "{}";
    return e;
  };
  std::vector<Finding> patch = Run(*engine, compliance("NON_COMPLIANT", "required-patches", "p1"));
  std::vector<Finding> ssm = Run(*engine, compliance("NON_COMPLIANT", "ssm-association", "s1"));
  ASSERT_EQ(patch.size(), 1u);
  ASSERT_EQ(ssm.size(), 1u) << "a second Config rule on the same resource is a second finding";
  EXPECT_NE(patch[0].finding_id, ssm[0].finding_id);
  EXPECT_EQ(patch[0].resource.id, ssm[0].resource.id);
  // One Config rule back to COMPLIANT resolves its own finding only.
  std::vector<Finding> resolved = Run(*engine, compliance("COMPLIANT", "required-patches", "p2"));
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].finding_id, patch[0].finding_id);
  Finding stored;
  ASSERT_TRUE(store_.GetFinding(ssm[0].finding_id, &stored).ok());
  EXPECT_EQ(stored.status, FindingStatus::kOpen);
  // A repeat of the same Config rule updates its finding, it does not open another.
  EXPECT_TRUE(Run(*engine, compliance("NON_COMPLIANT", "ssm-association", "s2")).empty());
}

StateDelta SgDelta(const json& permissions, bool deleted = false) {
  StateDelta d;
  d.type = "AWS::EC2::SecurityGroup";
  d.id = "sg-1";
  d.account = "111122223333";
  d.region = "us-east-1";
  d.resource_key = "111122223333|us-east-1|AWS::EC2::SecurityGroup|sg-1";
  d.deleted = deleted;
  if (!deleted) {
    d.after = json({{"resourceType", d.type},
                    {"resourceId", d.id},
                    {"awsRegion", d.region},
                    {"awsAccountId", d.account},
                    {"tags", {{"env", "prod"}}},
                    {"configuration", {{"ipPermissions", permissions}}}})
                  .dump();
  }
  return d;
}

constexpr const char* kSgRule = R"(- rule: sg-open
  title: SG open
  category: network
  severity: high
  description: Something happened; do the thing about it.
  state: {resource_types: ["AWS::EC2::SecurityGroup"]}
  condition:
    any_of: configuration.ipPermissions
    where:
      all:
        - {field: "ipv4Ranges[].cidrIp", open_to_world: true}
        - {port_range_outside: {from: fromPort, to: toPort, ports: {policy: public_ports}}}
)";

TEST_F(RuleEngineTest, StateRulesUseTheParsedDocumentTheBatchHolds) {
  Policy policy;
  policy.public_ports = {443};
  auto engine = MustLoad(kSgRule, policy);
  Event cause = ApiCall("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {{"eventID", "a1"}});
  json open22 = json::array({{{"ipProtocol", "tcp"},
                              {"fromPort", 22},
                              {"toPort", 22},
                              {"ipv4Ranges", {{{"cidrIp", "0.0.0.0/0"}}}}}});
  json open443 = json::array({{{"ipProtocol", "tcp"},
                               {"fromPort", 443},
                               {"toPort", 443},
                               {"ipv4Ranges", {{{"cidrIp", "0.0.0.0/0"}}}}}});
  const StateDelta d22 = SgDelta(open22);
  {
    // As the appliers leave it: text and parsed form together. No parse, same verdict.
    BatchContext ctx(&store_);
    ctx.PutResource(d22.resource_key, d22.after,
                    std::make_shared<const json>(json::parse(d22.after)));
    engine->OnStateDelta(d22, cause, ctx);
    EXPECT_EQ(engine->state_document_parses(), 0);
    ctx.TakeWrites();
    std::vector<Finding> out = ctx.TakeEmitted();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].status, FindingStatus::kOpen);
  }
  {
    // The resource changed again in the batch after this delta: the delta's own text counts.
    BatchContext ctx(&store_);
    const StateDelta d443 = SgDelta(open443);
    ctx.PutResource(d22.resource_key, d443.after,
                    std::make_shared<const json>(json::parse(d443.after)));
    engine->OnStateDelta(d22, cause, ctx);
    EXPECT_EQ(engine->state_document_parses(), 1);
    ctx.TakeWrites();
    std::vector<Finding> out = ctx.TakeEmitted();
    ASSERT_EQ(out.size(), 1u) << "evaluated on d22's document, not the later one";
    EXPECT_EQ(out[0].status, FindingStatus::kOpen);
  }
  {
    // Text only (read from the store): parsed once.
    BatchContext ctx(&store_);
    ctx.PutResource(d22.resource_key, d22.after);
    engine->OnStateDelta(d22, cause, ctx);
    EXPECT_EQ(engine->state_document_parses(), 2);
  }
}

TEST_F(RuleEngineTest, StateRuleOpensWhileThePredicateHoldsAndResolvesOnce) {
  Policy policy;
  policy.public_ports = {443};
  auto engine = MustLoad(kSgRule, policy);
  Event cause = ApiCall("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {{"eventID", "a1"}});
  cause.id = "a1";
  json open22 = json::array({{{"ipProtocol", "tcp"}, {"fromPort", 22}, {"toPort", 22},
                              {"ipv4Ranges", {{{"cidrIp", "0.0.0.0/0"}}}}}});
  json open443 = json::array({{{"ipProtocol", "tcp"}, {"fromPort", 443}, {"toPort", 443},
                               {"ipv4Ranges", {{{"cidrIp", "0.0.0.0/0"}}}}}});
  EXPECT_TRUE(Delta(*engine, SgDelta(open443), cause, cause.time_ms).empty())
      << "443 is a public port";
  std::vector<Finding> out = Delta(*engine, SgDelta(open22), cause, cause.time_ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, FindingStatus::kOpen);
  EXPECT_EQ(out[0].actor.arn, cause.principal.arn);
  EXPECT_EQ(out[0].event_ids, std::vector<std::string>{"a1"});
  json evidence = json::parse(out[0].evidence);
  EXPECT_EQ(evidence["configuration.ipPermissions"]["fromPort"], 22);

  Event later = cause;
  later.id = "a2";
  later.time_ms += 1000;
  EXPECT_TRUE(Delta(*engine, SgDelta(open22), later, later.time_ms).empty()) << "still open";
  Event revoke = cause;
  revoke.id = "r1";
  revoke.time_ms += 2000;
  out = Delta(*engine, SgDelta(open443), revoke, revoke.time_ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, FindingStatus::kResolved);
  EXPECT_EQ(out[0].resolved_at_ms, revoke.time_ms);
  EXPECT_EQ(out[0].event_ids, (std::vector<std::string>{"a1", "a2", "r1"}));
  EXPECT_TRUE(Delta(*engine, SgDelta(open443), revoke, revoke.time_ms).empty());

  // A late event from before the resolution belongs to the resolved episode: no reopening.
  Event late = cause;
  late.id = "a0";
  late.time_ms += 500;
  EXPECT_TRUE(Delta(*engine, SgDelta(open22), late, revoke.time_ms).empty());
  // Opens again as a new episode under the same id; deletion resolves it.
  Event reopen = cause;
  reopen.id = "a3";
  reopen.time_ms = revoke.time_ms + 1;
  out = Delta(*engine, SgDelta(open22), reopen, revoke.time_ms + 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event_ids, std::vector<std::string>{"a3"});
  EXPECT_EQ(out[0].status, FindingStatus::kOpen);
  EXPECT_EQ(out[0].resolved_at_ms, 0);
  Event gone = cause;
  gone.id = "d1";
  gone.time_ms = revoke.time_ms + 5;
  out = Delta(*engine, SgDelta(json::array(), /*deleted=*/true), gone, gone.time_ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, FindingStatus::kResolved);
}

TEST_F(RuleEngineTest, SuppressionsApplyBeforeAFindingOpens) {
  json open22 = json::array({{{"ipProtocol", "tcp"}, {"fromPort", 22}, {"toPort", 22},
                              {"ipv4Ranges", {{{"cidrIp", "0.0.0.0/0"}}}}}});
  Event cause = ApiCall("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {});
  const std::vector<Suppression> suppressing = {
      {"sg-open", "", "", "", "", "by rule"},
      {"", "sg-1", "", "", "", "by resource"},
      {"", "", "arn:aws:iam::111122223333:user/*", "", "", "by principal"},
      {"", "", "", "env", "prod", "by tag"},
      {"", "", "", "env", "", "by tag key"},
  };
  for (const Suppression& s : suppressing) {
    Policy policy;
    policy.suppressions = {s};
    auto engine = MustLoad(kSgRule, policy);
    MemoryStore fresh;
    BatchContext ctx(&fresh);
    engine->OnStateDelta(SgDelta(open22), cause, ctx);
    EXPECT_TRUE(ctx.TakeEmitted().empty()) << s.reason;
  }
  const std::vector<Suppression> not_suppressing = {
      {"other-rule", "", "", "", "", "other rule"},
      {"", "sg-2", "", "", "", "other resource"},
      {"", "", "arn:aws:iam::111122223333:user/bob", "", "", "other principal"},
      {"", "", "", "env", "dev", "other tag value"},
      {"sg-open", "sg-2", "", "", "", "all selectors must match"},
  };
  for (const Suppression& s : not_suppressing) {
    Policy policy;
    policy.suppressions = {s};
    auto engine = MustLoad(kSgRule, policy);
    MemoryStore fresh;
    BatchContext ctx(&fresh);
    engine->OnStateDelta(SgDelta(open22), cause, ctx);
    EXPECT_EQ(ctx.TakeEmitted().size(), 1u) << s.reason;
  }
}

constexpr const char* kKeyAgeRule = R"(- rule: key-age
  title: Old key
  category: identity
  severity: medium
  description: Something happened; do the thing about it.
  state: {resource_types: ["AWS::IAM::User"]}
  condition:
    any_of: configuration.accessKeys
    where:
      all:
        - {field: status, equals: Active}
        - {field: createDate, older_than_days: {policy: access_key_max_age_days}}
)";

StateDelta UserDelta(const std::string& status) {
  StateDelta d;
  d.type = "AWS::IAM::User";
  d.id = "alice";
  d.account = "111122223333";
  d.region = "global";
  d.resource_key = "111122223333|global|AWS::IAM::User|alice";
  d.after = json({{"resourceType", d.type},
                  {"configuration",
                   {{"accessKeys",
                     {{{"accessKeyId", "AKIA1"}, {"status", status},
                       {"createDate", "2024-01-01T00:00:00Z"}}}}}}})
                .dump();
  return d;
}

TEST_F(RuleEngineTest, KeyAgeFollowsTheEventTimeWatermark) {
  Policy policy;
  policy.access_key_max_age_days = 10;
  auto engine = MustLoad(kKeyAgeRule, policy);
  const int64_t created = 1704067200000;  // 2024-01-01T00:00:00Z
  const int64_t day = 86400000;
  Event cause = ApiCall("iam.amazonaws.com", "CreateAccessKey", {});
  cause.time_ms = created;
  EXPECT_TRUE(Delta(*engine, UserDelta("Active"), cause, created + day).empty());
  EXPECT_EQ(engine->pending_deadlines(), 1u);
  EXPECT_TRUE(Tick(*engine, created + 10 * day).empty()) << "exactly the limit is not older";
  std::vector<Finding> out = Tick(*engine, created + 11 * day);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule_id, "key-age");
  EXPECT_EQ(out[0].first_seen_ms, created + 10 * day + 1) << "opened at the deadline itself";
  EXPECT_EQ(engine->pending_deadlines(), 0u);
  // Deactivating the key resolves it.
  Event deactivate = ApiCall("iam.amazonaws.com", "UpdateAccessKey", {});
  deactivate.time_ms = created + 12 * day;
  out = Delta(*engine, UserDelta("Inactive"), deactivate, deactivate.time_ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, FindingStatus::kResolved);
}

TEST_F(RuleEngineTest, KeyAgeDeadlinesArePrimedFromTheStoreAfterARestart) {
  Policy policy;
  policy.access_key_max_age_days = 10;
  const int64_t created = 1704067200000;
  const int64_t day = 86400000;
  {
    auto engine = MustLoad(kKeyAgeRule, policy);
    Event cause = ApiCall("iam.amazonaws.com", "CreateAccessKey", {});
    EXPECT_TRUE(Delta(*engine, UserDelta("Active"), cause, created + day).empty());
  }
  auto restarted = MustLoad(kKeyAgeRule, policy);
  EXPECT_EQ(restarted->pending_deadlines(), 0u);
  ASSERT_TRUE(restarted->PrimeDeadlines(&store_, created + day).ok());
  EXPECT_EQ(restarted->pending_deadlines(), 1u);
  std::vector<Finding> out = Tick(*restarted, created + 20 * day);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resource.id, "alice");
  EXPECT_EQ(out[0].resource.region, "global");
}

}  // namespace
}  // namespace driftwatch
