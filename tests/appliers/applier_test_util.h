#pragma once
// Test helpers for the appliers: CloudTrail records and Config items written by the tests
// themselves, turned into Events by hand (the decoder has its own tests), applied through a
// BatchContext over the in-memory store exactly as the pipeline does.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "appliers/applier.h"
#include "state/batch_context.h"
#include "state/memory_store.h"
#include "vocab/event.h"
#include "vocab/time_util.h"

namespace driftwatch::testing_util {

using json = nlohmann::json;

inline constexpr const char* kAccount = "111122223333";
inline constexpr const char* kRegion = "us-east-1";
inline constexpr const char* kAlice = "arn:aws:iam::111122223333:user/alice";

inline int64_t Ms(const std::string& rfc3339) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseTimestamp(rfc3339, &ms)) << rfc3339;
  return ms;
}

// A CloudTrail record as AWS writes it.
inline json Record(const std::string& event_name, const std::string& event_source,
                   const std::string& time, json request, json response = nullptr,
                   const std::string& event_id = "") {
  static int counter = 0;
  json r = {
      {"eventVersion", "1.08"},
      {"userIdentity",
       {{"type", "IAMUser"},
        {"principalId", "AIDAEXAMPLE"},
        {"arn", kAlice},
        {"accountId", kAccount},
        {"accessKeyId", "AKIAEXAMPLEKEY"},
        {"userName", "alice"}}},
      {"eventTime", time},
      {"eventSource", event_source},
      {"eventName", event_name},
      {"awsRegion", kRegion},
      {"sourceIPAddress", "198.51.100.7"},
      {"userAgent", "aws-cli/2.13"},
      {"requestParameters", std::move(request)},
      {"responseElements", std::move(response)},
      {"eventID", event_id.empty() ? "evt-" + std::to_string(++counter) : event_id},
      {"readOnly", false},
      {"eventType", "AwsApiCall"},
      {"recipientAccountId", kAccount},
  };
  return r;
}

inline Event FromRecord(const json& r) {
  Event e;
  e.kind = EventKind::kApiCall;
  e.id = r.value("eventID", "");
  e.time_ms = Ms(r.value("eventTime", ""));
  e.account = r.value("recipientAccountId", "");
  e.region = r.value("awsRegion", "");
  const json& ui = r.contains("userIdentity") ? r["userIdentity"] : json::object();
  e.principal.type = ui.value("type", "");
  e.principal.arn = ui.value("arn", "");
  e.principal.account_id = ui.value("accountId", "");
  e.principal.access_key_id = ui.value("accessKeyId", "");
  e.principal.user_name = ui.value("userName", "");
  e.source_ip = r.value("sourceIPAddress", "");
  e.event_source = r.value("eventSource", "");
  e.event_name = r.value("eventName", "");
  e.error_code = r.value("errorCode", "");
  e.read_only = r.value("readOnly", false);
  e.document = r.dump();
  return e;
}

// A configuration item in the notification spelling.
inline Event ConfigItem(const json& item) {
  Event e;
  e.kind = EventKind::kConfigItem;
  e.id = item.value("resourceType", "") + "/" + item.value("resourceId", "") + "/" +
         (item.contains("configurationStateId") ? item["configurationStateId"].dump() : "");
  e.time_ms = Ms(item.value("configurationItemCaptureTime", ""));
  e.account = item.value("awsAccountId", item.value("accountId", ""));
  e.region = item.value("awsRegion", "");
  e.event_source = "config.amazonaws.com";
  e.event_name = "ConfigurationItemChange";
  e.config_status = item.value("configurationItemStatus", "");
  e.document = item.dump();
  return e;
}

class ApplierFixture : public ::testing::Test {
 protected:
  // Applies events as one batch, the way Pipeline::ProcessBatch does (duplicates by event id
  // skipped; failed and read-only calls never reach the applier), and commits.
  void Apply(const std::vector<Event>& events) {
    BatchContext ctx(&store_);
    for (const Event& e : events) {
      if (!e.id.empty() && ctx.SeenEvent(e.id)) continue;
      const bool may_change =
          e.kind == EventKind::kConfigItem ||
          (e.kind == EventKind::kApiCall && e.error_code.empty() && !e.read_only);
      if (may_change) applier_.Apply(e, ctx, &deltas_);
      if (!e.id.empty() && may_change) ctx.MarkSeen(e.id, e.time_ms);
    }
    ASSERT_TRUE(ctx.read_status().ok());
    WriteSet w = ctx.TakeWrites();
    if (!w.empty()) {
      ASSERT_TRUE(store_.Commit(w).ok());
    }
  }
  void Apply(const Event& e) { Apply(std::vector<Event>{e}); }
  void Apply(const json& record) { Apply(FromRecord(record)); }

  // The current document, or null when there is none.
  json Doc(const std::string& type, const std::string& id, const std::string& region = kRegion) {
    std::string text;
    Status s = store_.GetResource(MakeResourceKey(kAccount, region, type, id), &text);
    EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
    if (s.IsNotFound()) return nullptr;
    json doc = json::parse(text, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << text;
    return doc;
  }

  std::vector<HistoryEntry> History(const std::string& type, const std::string& id,
                                    const std::string& region = kRegion) {
    std::vector<HistoryEntry> out;
    EXPECT_TRUE(store_
                    .ScanHistory(MakeResourceKey(kAccount, region, type, id),
                                 [&](const HistoryEntry& h) {
                                   out.push_back(h);
                                   return true;
                                 })
                    .ok());
    return out;
  }

  size_t ResourceCount() {
    size_t n = 0;
    EXPECT_TRUE(store_
                    .ScanResources([&](std::string_view, std::string_view) {
                      ++n;
                      return true;
                    })
                    .ok());
    return n;
  }

  MemoryStore store_;
  Applier applier_;
  std::vector<StateDelta> deltas_;
};

}  // namespace driftwatch::testing_util
