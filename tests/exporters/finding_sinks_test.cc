#include "exporters/finding_sinks.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace driftwatch {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DeadLetter, KeepsValidUtf8VerbatimAndInvalidAsBase64) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("dw-dlq-" + std::to_string(getpid()))).string();
  {
    std::unique_ptr<DeadLetterFile> dlq;
    ASSERT_TRUE(DeadLetterFile::Open(path, &dlq).ok());
    ASSERT_TRUE(dlq->Write("{\"a\":", "f.json:3", "malformed_json", "truncated").ok());
    ASSERT_TRUE(dlq->Write(std::string("{\"a\":\"\xff\xfe\"}"), "f.json:4", "invalid_utf8", "bad")
                    .ok());
  }
  std::istringstream lines(ReadFile(path));
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
  std::filesystem::remove(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["record"], "{\"a\":");
  EXPECT_EQ(rows[0]["reason"], "malformed_json");
  EXPECT_EQ(rows[0]["origin"], "f.json:3");
  EXPECT_EQ(rows[1]["record_base64"], "eyJhIjoi//4ifQ==");
}

TEST(NdjsonSink, WritesOneFindingPerLine) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  ASSERT_NE(mem, nullptr);
  {
    NdjsonFindingSink sink(mem);
    Finding f;
    f.finding_id = "0011223344556677";
    f.rule_id = "identity-root-activity";
    f.category = Category::kIdentity;
    f.severity = Severity::kCritical;
    ASSERT_TRUE(sink.Emit(f).ok());
    f.status = FindingStatus::kResolved;
    ASSERT_TRUE(sink.Emit(f).ok());
    ASSERT_TRUE(sink.Flush().ok());
  }
  fclose(mem);
  std::istringstream lines(std::string(buf, len));
  free(buf);
  std::string line;
  std::vector<std::string> statuses;
  while (std::getline(lines, line)) {
    statuses.push_back(nlohmann::json::parse(line)["status"].get<std::string>());
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"open", "resolved"}));
}

}  // namespace
}  // namespace driftwatch
