// Rule evaluation cost per event must not grow with the number of rules. Runs the same
// generated event stream through (a) the built-in pack and (b) the pack plus 1,000 generated
// event rules keyed on real AWS API names, in the same process, and prints events/s for both
// and their ratio (target >= 0.90).
//
// The two configurations are measured in pairs, back to back, the order alternating from pair
// to pair; the reported ratio is the median of the per-pair ratios (each pair shares the
// machine's state of the moment, so a noisy neighbour moves both), next to each configuration's
// median throughput and the spread of the ratios.
//
// usage: rules_bench [EVENTS] [RULES_DIR] [PAIRS]   (defaults: 50000, $DW_SOURCE_DIR/config/rules,
// else ./config/rules, 21)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "config/rule_file.h"
#include "rules/aws_api_names.h"
#include "rules/rule_engine_impl.h"
#include "state/batch_context.h"
#include "state/memory_store.h"

#ifndef DW_SOURCE_DIR
#define DW_SOURCE_DIR "."
#endif

namespace driftwatch {
namespace {

using json = nlohmann::json;

Event MakeEvent(std::mt19937& rng, int i) {
  static const char* kUsers[] = {"alice", "bob", "carol", "svc-deploy"};
  Event e;
  e.kind = EventKind::kApiCall;
  e.id = "bench-" + std::to_string(i);
  e.time_ms = 1717200000000 + i;
  e.account = "111122223333";
  e.region = (rng() % 10 == 0) ? "eu-west-1" : "us-east-1";
  e.principal.type = (rng() % 200 == 0) ? "Root" : "IAMUser";
  const std::string user = kUsers[rng() % 4];
  e.principal.arn = "arn:aws:iam::111122223333:user/" + user;
  e.principal.user_name = user;
  e.source_ip = "198.51.100." + std::to_string(rng() % 250);
  json record = {{"eventVersion", "1.08"}, {"eventID", e.id}, {"awsRegion", e.region},
                 {"userIdentity", {{"type", e.principal.type}, {"arn", e.principal.arn}}}};
  const int kind = static_cast<int>(rng() % 100);
  if (kind < 40) {  // read-only noise: most of CloudTrail
    static const char* kReads[] = {"DescribeInstances", "DescribeSecurityGroups",
                                   "DescribeVolumes", "DescribeSubnets"};
    e.event_source = "ec2.amazonaws.com";
    e.event_name = kReads[rng() % 4];
    e.read_only = true;
    record["requestParameters"] = {{"maxResults", 100}};
  } else if (kind < 55) {
    e.event_source = "s3.amazonaws.com";
    e.event_name = (rng() % 2) ? "GetObject" : "PutObject";
    e.read_only = e.event_name == "GetObject";
    record["requestParameters"] = {{"bucketName", "data"}, {"key", "k" + std::to_string(i)}};
  } else if (kind < 65) {
    e.event_source = "ec2.amazonaws.com";
    e.event_name = "AuthorizeSecurityGroupIngress";
    const bool world = rng() % 4 == 0;
    record["requestParameters"] = {
        {"groupId", "sg-" + std::to_string(rng() % 1000)},
        {"ipPermissions",
         {{"items",
           {{{"ipProtocol", "tcp"},
             {"fromPort", 22},
             {"toPort", 22},
             {"ipRanges", {{"items", {{{"cidrIp", world ? "0.0.0.0/0" : "10.0.0.0/8"}}}}}}}}}}}};
  } else if (kind < 72) {
    e.event_source = "iam.amazonaws.com";
    static const char* kIam[] = {"CreateUser", "AttachUserPolicy", "CreateAccessKey",
                                 "PutUserPolicy"};
    e.event_name = kIam[rng() % 4];
    record["requestParameters"] = {
        {"userName", "u" + std::to_string(rng() % 100)},
        {"policyArn", (rng() % 10) ? "arn:aws:iam::aws:policy/ReadOnlyAccess"
                                   : "arn:aws:iam::aws:policy/AdministratorAccess"},
        {"policyDocument", R"({"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})"}};
  } else if (kind < 80) {
    e.event_source = "signin.amazonaws.com";
    e.event_name = "ConsoleLogin";
    e.principal.mfa_used = rng() % 3 != 0;
    record["responseElements"] = {{"ConsoleLogin", "Success"}};
  } else if (kind < 88) {
    e.event_source = "s3.amazonaws.com";
    e.event_name = "PutBucketPolicy";
    record["requestParameters"] = {
        {"bucketName", "b" + std::to_string(rng() % 50)},
        {"bucketPolicy",
         {{"Statement",
           {{{"Effect", "Allow"},
             {"Principal", (rng() % 5) ? json({{"AWS", "arn:aws:iam::222233334444:root"}})
                                       : json("*")},
             {"Action", "s3:GetObject"}}}}}}};
  } else {
    e.event_source = "ec2.amazonaws.com";
    e.event_name = (rng() % 2) ? "RunInstances" : "CreateTags";
    record["requestParameters"] = {{"instanceType", "t3.micro"}};
  }
  record["eventSource"] = e.event_source;
  record["eventName"] = e.event_name;
  e.document = record.dump();
  return e;
}

// Rules keyed on (source, name) pairs spread over the whole AWS API surface, skipping the pairs
// the stream itself contains: the ratio then measures what 1,000 rules that do not apply to an
// event cost that event (the index's job). A rule that does apply costs its own evaluation,
// whatever the rule count.
std::string GeneratedRules(int count, const std::vector<Event>& stream) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const Event& e : stream) seen.emplace(e.event_source, e.event_name);
  size_t services = 0;
  const AwsServiceApis* table = AwsServiceApiTable(&services);
  std::vector<std::pair<std::string, std::string>> apis;
  for (size_t s = 0; s < services; ++s) {
    std::string_view names(table[s].names);
    size_t start = 0;
    while (start < names.size()) {
      size_t nl = names.find('\n', start);
      std::pair<std::string, std::string> api(table[s].event_source,
                                              std::string(names.substr(start, nl - start)));
      if (seen.count(api) == 0) apis.push_back(std::move(api));
      start = nl + 1;
    }
  }
  std::string text;
  const size_t step = std::max<size_t>(1, apis.size() / static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto& [source, name] = apis[(static_cast<size_t>(i) * step) % apis.size()];
    text += "- rule: generated-" + std::to_string(i) +
            "\n  title: Generated rule\n  category: inventory\n  severity: low\n"
            "  description: Generated for the index benchmark; nothing to do.\n"
            "  event: {source: " + source + ", names: [" + name + "]}\n"
            "  condition:\n    all:\n      - {macro: succeeded}\n"
            "      - {field: requestParameters.name, prefix: gen-" + std::to_string(i) + "}\n";
  }
  return text;
}

// One pass over the stream in batches of 1,000 events; returns events per second.
double Measure(CompiledRuleEngine& engine, const std::vector<Event>& events, size_t* findings) {
  MemoryStore store;
  size_t changes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < events.size(); i += 1000) {
    BatchContext ctx(&store);
    const size_t end = std::min(events.size(), i + 1000);
    for (size_t k = i; k < end; ++k) {
      ctx.AdvanceWatermark(events[k].time_ms);
      engine.OnEvent(events[k], ctx);
    }
    engine.OnWatermark(ctx);
    WriteSet w = ctx.TakeWrites();
    changes += ctx.TakeEmitted().size();
    if (!store.Commit(w).ok()) std::abort();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *findings = changes;
  return static_cast<double>(events.size()) / seconds;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace
}  // namespace driftwatch

int main(int argc, char** argv) {
  using namespace driftwatch;
  const int count = argc > 1 ? std::atoi(argv[1]) : 50000;
  const int pairs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 21;
  const char* source_dir = std::getenv("DW_SOURCE_DIR");
  const std::string rules_dir =
      argc > 2 ? argv[2]
               : std::string(source_dir != nullptr ? source_dir : DW_SOURCE_DIR) + "/config/rules";
  std::vector<std::pair<std::string, std::string>> files;
  {
    std::vector<std::string> paths;
    if (!ListRuleFiles(rules_dir, &paths).ok()) {
      std::fprintf(stderr, "rules_bench: no rules at %s\n", rules_dir.c_str());
      return 2;
    }
    for (const std::string& p : paths) {
      std::string text;
      if (!ReadTextFile(p, &text).ok()) return 2;
      files.emplace_back(p, std::move(text));
    }
  }
  Policy policy;
  policy.has_approved_regions = true;
  policy.approved_regions = {"us-east-1"};
  policy.public_ports = {80, 443};

  std::mt19937 rng(42);
  std::vector<Event> events;
  events.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) events.push_back(MakeEvent(rng, i));

  RuleLoadResult base_result, big_result;
  auto base = CompiledRuleEngine::LoadTexts(files, policy, &base_result);
  auto big_files = files;
  big_files.emplace_back("generated.yaml", GeneratedRules(1000, events));
  auto big = CompiledRuleEngine::LoadTexts(big_files, policy, &big_result);
  if (base == nullptr || big == nullptr) {
    std::fprintf(stderr, "%s%s", base_result.ToText().c_str(), big_result.ToText().c_str());
    return 1;
  }

  size_t base_findings = 0, big_findings = 0;
  // Warm-up: first-touch allocations and caches, not measured.
  Measure(*base, events, &base_findings);
  Measure(*big, events, &big_findings);
  std::vector<double> base_eps, big_eps, ratios;
  for (int pair = 0; pair < pairs; ++pair) {
    double b = 0, g = 0;
    if (pair % 2 == 0) {
      b = Measure(*base, events, &base_findings);
      g = Measure(*big, events, &big_findings);
    } else {
      g = Measure(*big, events, &big_findings);
      b = Measure(*base, events, &base_findings);
    }
    base_eps.push_back(b);
    big_eps.push_back(g);
    ratios.push_back(g / b);
  }
  const double base_median = Median(base_eps);
  const double big_median = Median(big_eps);
  const double ratio = Median(ratios);
  std::sort(ratios.begin(), ratios.end());
  const size_t q = ratios.size() / 4;
  std::printf("events: %d per pass, %d interleaved pairs\n", count, pairs);
  std::printf("built-in pack:          %zu rules, median %12.0f events/s, %zu finding changes\n",
              base->rule_count(), base_median, base_findings);
  std::printf("pack + 1000 generated:  %zu rules, median %12.0f events/s, %zu finding changes\n",
              big->rule_count(), big_median, big_findings);
  std::printf("per-pair ratios: min %.3f  q1 %.3f  median %.3f  q3 %.3f  max %.3f\n",
              ratios.front(), ratios[q], ratio, ratios[ratios.size() - 1 - q], ratios.back());
  std::printf("ratio of medians: %.3f\n", big_median / base_median);
  // Same stream, same rules selected: the record is parsed as often with 1,000 more rules.
  const double passes = static_cast<double>(count) * (pairs + 1);
  std::printf("record parses per event: built-in %.3f, with 1000 rules %.3f\n",
              static_cast<double>(base->document_parses()) / passes,
              static_cast<double>(big->document_parses()) / passes);
  std::printf(
      "ratio (median of per-pair ratios, with 1000 rules / built-in): %.3f "
      "(target >= 0.90)\n",
      ratio);
  if (base_findings != big_findings) {
    std::printf("note: finding changes differ (%zu vs %zu): a generated rule matched\n",
                base_findings, big_findings);
  }
  return 0;
}
