// The query commands over a state that retention swept: `state --at` before the history horizon
// refuses with exit 3 and names the horizon, `history` says what was dropped (a line on stderr,
// `beforeHorizon` in ndjson), `incident` reports the horizons and that its window reaches past
// them; a state retention never swept answers as before.

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "state/retention.h"
#include "state/rocksdb_store.h"
#include "vocab/time_util.h"

namespace driftwatch::app {
namespace {

using json = nlohmann::json;

constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kT0 = 1704067200000;  // 2024-01-01T00:00:00Z
const std::string kSg = MakeResourceKey("1", "us-east-1", "AWS::EC2::SecurityGroup", "sg-1");
const std::string kPrincipal = "arn:aws:iam::1:user/dev";

class QueryHorizonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "dw-qh-XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    root_ = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  // A state with a security group changed on days 0, 10 and 550, and one call on each of those
  // days, 600 days of event time; swept with the default retention when `sweep`.
  std::string MakeState(const std::string& name, bool sweep) {
    const std::string dir = root_ + "/" + name;
    std::unique_ptr<RocksDbStore> store;
    EXPECT_TRUE(RocksDbStore::Open(dir, {}, &store).ok());
    WriteSet w;
    for (int day : {0, 10, 550}) {
      HistoryEntry h;
      h.resource_key = kSg;
      h.time_ms = kT0 + day * kDay;
      h.event_id = "h-" + std::to_string(day);
      h.action = "AuthorizeSecurityGroupIngress";
      h.actor.arn = kPrincipal;
      h.change = "{}";
      h.document_after = "{\"resourceId\":\"sg-1\",\"day\":" + std::to_string(day) + "}";
      w.history.push_back(h);
      ActivityRecord c;
      c.time_ms = h.time_ms;
      c.event_id = h.event_id;
      c.event_source = "ec2.amazonaws.com";
      c.event_name = h.action;
      c.account = "1";
      c.actor.arn = kPrincipal;
      c.resource_keys = {kSg};
      w.activity.push_back(c);
    }
    w.activity_runs.push_back({"run-1", true, kT0, kT0 + 600 * kDay});
    w.put_resources = {{kSg, "{\"resourceId\":\"sg-1\",\"day\":550}"}};
    w.positions = {{std::string(kWatermarkPosition), kT0 + 600 * kDay}};
    EXPECT_TRUE(store->Commit(w).ok());
    if (sweep) {
      RetentionResult r;
      EXPECT_TRUE(ApplyRetention(store.get(), RetentionOptions(), &r).ok());
      EXPECT_EQ(r.history_dropped, 1);
      EXPECT_EQ(r.activity_dropped, 2);
    }
    return dir;
  }

  // Runs a command, capturing what it prints.
  int Run(int (*command)(const Args&), const Args& args) {
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    const int code = command(args);
    out_ = ::testing::internal::GetCapturedStdout();
    err_ = ::testing::internal::GetCapturedStderr();
    return code;
  }

  std::string root_, out_, err_;
};

TEST_F(QueryHorizonTest, StateAtBeforeTheHistoryHorizonExitsThreeNamingIt) {
  const std::string dir = MakeState("swept", true);
  const std::string horizon = FormatTimestamp(kT0 + 200 * kDay);
  EXPECT_EQ(Run(RunState, {"--state", dir, "--at", FormatTimestamp(kT0 + 50 * kDay)}),
            kExitPastHorizon);
  EXPECT_TRUE(out_.empty()) << "no answer from a partial record: " << out_;
  EXPECT_NE(err_.find("before the history horizon " + horizon), std::string::npos) << err_;
  EXPECT_NE(err_.find("state.history_retention_days"), std::string::npos) << err_;

  // At the horizon and after it the answer stands: the group as of its day-10 change.
  EXPECT_EQ(Run(RunState, {"--state", dir, "--at", horizon, "--format", "ndjson"}), 0) << err_;
  EXPECT_NE(out_.find("\"day\":10"), std::string::npos) << out_;
  EXPECT_EQ(Run(RunState, {"--state", dir}), 0) << err_;

  // Never swept: the same question is answered.
  const std::string whole = MakeState("whole", false);
  EXPECT_EQ(Run(RunState, {"--state", whole, "--at", FormatTimestamp(kT0 + 50 * kDay),
                           "--format", "ndjson"}),
            0)
      << err_;
  EXPECT_NE(out_.find("\"day\":10"), std::string::npos) << out_;
}

TEST_F(QueryHorizonTest, HistorySaysWhatRetentionDropped) {
  const std::string dir = MakeState("swept", true);
  ASSERT_EQ(Run(RunHistory, {"--state", dir, "sg-1", "--format", "ndjson"}), 0) << err_;
  EXPECT_NE(err_.find("changes before " + FormatTimestamp(kT0 + 200 * kDay) +
                      " were dropped by retention"),
            std::string::npos)
      << err_;
  std::istringstream lines(out_);
  std::vector<json> entries;
  for (std::string line; std::getline(lines, line);) entries.push_back(json::parse(line));
  ASSERT_EQ(entries.size(), 2u) << out_;
  EXPECT_EQ(entries[0]["eventId"], "h-10");
  EXPECT_EQ(entries[0].value("beforeHorizon", false), true);
  EXPECT_EQ(entries[1]["eventId"], "h-550");
  EXPECT_FALSE(entries[1].contains("beforeHorizon"));

  ASSERT_EQ(Run(RunHistory, {"--state", dir, "sg-1"}), 0) << err_;
  EXPECT_NE(out_.find("yes (state at horizon)"), std::string::npos) << out_;

  const std::string whole = MakeState("whole", false);
  ASSERT_EQ(Run(RunHistory, {"--state", whole, "sg-1", "--format", "ndjson"}), 0) << err_;
  EXPECT_TRUE(err_.empty()) << err_;
  EXPECT_EQ(out_.find("beforeHorizon"), std::string::npos) << out_;
}

TEST_F(QueryHorizonTest, IncidentReportsTheHorizonsItsWindowReachesPast) {
  const std::string dir = MakeState("swept", true);
  ASSERT_EQ(Run(RunIncident, {"--state", dir, "--principal", kPrincipal, "--format", "ndjson"}), 0)
      << err_;
  json query = json::parse(out_.substr(0, out_.find('\n')));
  EXPECT_EQ(query["kind"], "query");
  EXPECT_EQ(query["pastHorizon"], true);
  EXPECT_EQ(query["coverage"], "partial") << query.dump();
  EXPECT_EQ(query["horizon"]["activity"], FormatTimestamp(kT0 + 510 * kDay));
  EXPECT_EQ(query["horizon"]["history"], FormatTimestamp(kT0 + 200 * kDay));
  EXPECT_NE(query["horizonNote"].get<std::string>().find("state.activity_retention_days"),
            std::string::npos);
  EXPECT_EQ(out_.find("\"h-0\""), std::string::npos) << "a dropped call is not listed";

  ASSERT_EQ(Run(RunIncident, {"--state", dir, "--principal", kPrincipal}), 0) << err_;
  EXPECT_NE(out_.find("- Retention: the window reaches past the retention horizon"),
            std::string::npos)
      << out_;

  // A window after the horizons is whole.
  ASSERT_EQ(Run(RunIncident, {"--state", dir, "--principal", kPrincipal, "--from",
                              FormatTimestamp(kT0 + 520 * kDay), "--format", "ndjson"}),
            0)
      << err_;
  query = json::parse(out_.substr(0, out_.find('\n')));
  EXPECT_EQ(query["pastHorizon"], false);
  EXPECT_EQ(query["coverage"], "complete");

  // Never swept: no horizon at all.
  const std::string whole = MakeState("whole", false);
  ASSERT_EQ(
      Run(RunIncident, {"--state", whole, "--principal", kPrincipal, "--format", "ndjson"}), 0)
      << err_;
  query = json::parse(out_.substr(0, out_.find('\n')));
  EXPECT_EQ(query["pastHorizon"], false);
  EXPECT_TRUE(query["horizon"]["activity"].is_null());
  EXPECT_EQ(query["coverage"], "complete");
}

}  // namespace
}  // namespace driftwatch::app
