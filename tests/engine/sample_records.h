#pragma once
// Sample records for tests of the built-in pack, filled in the way AWS would deliver them.
// A record R is a CloudTrail record (defaults filled in: ids, times one minute apart, account
// 111122223333, region us-east-1, an IAM user actor), {"config_item": {...}} (wrapped in a
// ConfigurationItemChangeNotification) or {"compliance": {...}} (a ComplianceChangeNotification).

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/policy.h"
#include "engine/finding_sink.h"
#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/memory_store.h"
#include "vocab/finding.h"
#include "vocab/time_util.h"

namespace driftwatch::testing_samples {

using json = nlohmann::json;

inline constexpr const char* kSampleAccount = "111122223333";

class CollectingSink : public FindingSink {
 public:
  Status Emit(const Finding& f) override {
    findings.push_back(f);
    return Status::Ok();
  }
  std::vector<Finding> findings;
};

// Turns a sample record into the bytes AWS would deliver, filling in what the sample leaves out.
class RecordMaker {
 public:
  RecordMaker() = default;
  explicit RecordMaker(int64_t base_ms) : base_ms_(base_ms) {}
  std::string Make(json r) {
    ++n_;
    const std::string time = FormatTimestamp(base_ms_ + n_ * 60000);
    if (r.contains("config_item")) {
      json item = r["config_item"];
      SetDefault(item, "configurationItemVersion", "1.3");
      SetDefault(item, "awsAccountId", kSampleAccount);
      SetDefault(item, "awsRegion", "us-east-1");
      SetDefault(item, "configurationItemCaptureTime", time);
      SetDefault(item, "configurationItemStatus", "OK");
      SetDefault(item, "configurationStateId", std::to_string(1000 + n_));
      SetDefault(item, "configuration", json::object());
      SetDefault(item, "supplementaryConfiguration", json::object());
      SetDefault(item, "tags", json::object());
      SetDefault(item, "relationships", json::array());
      return json({{"configurationItemDiff", nullptr},
                   {"configurationItem", item},
                   {"notificationCreationTime", time},
                   {"messageType", "ConfigurationItemChangeNotification"},
                   {"recordVersion", "1.3"}})
          .dump();
    }
    if (r.contains("compliance")) {
      json c = r["compliance"];
      const std::string rule = c.value("configRuleName", "required-patches");
      json qualifier = {{"configRuleName", rule},
                        {"resourceType", c["resourceType"]},
                        {"resourceId", c["resourceId"]}};
      return json({{"awsAccountId", kSampleAccount},
                   {"configRuleName", rule},
                   {"configRuleARN", "arn:aws:config:us-east-1:111122223333:config-rule/r"},
                   {"resourceType", c["resourceType"]},
                   {"resourceId", c["resourceId"]},
                   {"awsRegion", "us-east-1"},
                   {"newEvaluationResult",
                    {{"evaluationResultIdentifier",
                      {{"evaluationResultQualifier", qualifier}, {"orderingTimestamp", time}}},
                     {"complianceType", c["complianceType"]},
                     {"resultRecordedTime", time},
                     {"configRuleInvokedTime", time}}},
                   {"oldEvaluationResult", nullptr},
                   {"notificationCreationTime", time},
                   {"messageType", "ComplianceChangeNotification"},
                   {"recordVersion", "1.0"}})
          .dump();
    }
    SetDefault(r, "eventVersion", "1.08");
    SetDefault(r, "eventTime", time);
    SetDefault(r, "eventID", "sample-" + std::to_string(n_));
    SetDefault(r, "awsRegion", "us-east-1");
    SetDefault(r, "recipientAccountId", kSampleAccount);
    SetDefault(r, "sourceIPAddress", "198.51.100.7");
    SetDefault(r, "userAgent", "aws-cli/2.15.0");
    SetDefault(r, "eventType", "AwsApiCall");
    SetDefault(r, "requestParameters", json::object());
    SetDefault(r, "userIdentity", {{"type", "IAMUser"},
                                   {"principalId", "AIDAEXAMPLE"},
                                   {"arn", "arn:aws:iam::111122223333:user/alice"},
                                   {"accountId", kSampleAccount},
                                   {"accessKeyId", "AKIAEXAMPLEALICE"},
                                   {"userName", "alice"}});
    return r.dump();
  }

 private:
  static void SetDefault(json& j, const char* key, const json& value) {
    if (!j.contains(key)) j[key] = value;
  }
  int64_t base_ms_ = 1717200000000;  // 2024-06-01T00:00:00Z
  int n_ = 0;
};

// A CloudTrail call as a sample record (the rest filled in by RecordMaker).
inline json Call(const std::string& source, const std::string& name, json request,
                 json response = nullptr) {
  json r = {{"eventSource", source}, {"eventName", name}, {"requestParameters", request}};
  if (!response.is_null()) r["responseElements"] = response;
  return r;
}

// The built-in pack (rules in `rules_dir`) over the real decoder and appliers into an in-memory
// state; every finding status change is collected.
class PackRun {
 public:
  PackRun(const std::string& rules_dir, const Policy& policy) {
    RuleLoadResult result;
    engine_ = CompiledRuleEngine::Load({rules_dir}, policy, &result);
    EXPECT_NE(engine_, nullptr) << result.ToText();
    PipelineParts parts;
    parts.decoder = &decoder_;
    parts.store = &store_;
    parts.rules = engine_.get();
    parts.sinks = {&sink_};
    pipeline_ = std::make_unique<Pipeline>(std::move(parts));
  }
  // Records as bytes, `batch` to a batch; every one must decode.
  void FeedBytes(const std::vector<std::string>& records, size_t batch) {
    for (size_t at = 0; at < records.size(); at += batch) {
      std::vector<PipelineRecord> b;
      for (size_t i = at; i < records.size() && i < at + batch; ++i) {
        b.push_back({records[i], "sample", "", 0});
      }
      Status s = pipeline_->ProcessBatch(b);
      ASSERT_TRUE(s.ok()) << s.message();
    }
    ASSERT_EQ(pipeline_->counters().invalid, 0);
  }
  MemoryStore& store() { return store_; }
  const std::vector<Finding>& emitted() const { return sink_.findings; }
  RecordMaker& maker() { return maker_; }

 private:
  MemoryStore store_;
  std::unique_ptr<CompiledRuleEngine> engine_;
  SimdjsonEventDecoder decoder_;
  CollectingSink sink_;
  std::unique_ptr<Pipeline> pipeline_;
  RecordMaker maker_;
};

}  // namespace driftwatch::testing_samples
