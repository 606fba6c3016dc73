// Every record of the third-party corpus (../shared/corpus, see its README) must decode into at
// least one event with nothing rejected. The corpus wraps some records in metadata: labelled/*
// carry the event under "event", config/* under "message" (and the original delivery under
// "raw") or "configurationItem"; streams/* are the records themselves.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ingest/decoder.h"

namespace driftwatch {
namespace {

namespace fs = std::filesystem;

fs::path CorpusDir() { return fs::path(DW_SOURCE_DIR) / ".." / "shared" / "corpus"; }

std::vector<fs::path> CorpusFiles() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(CorpusDir())) {
    if (entry.is_regular_file() && entry.path().extension() == ".ndjson") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The JSON texts one corpus line stands for.
std::vector<std::string> RecordsOfLine(const std::string& line) {
  nlohmann::json j = nlohmann::json::parse(line);
  std::vector<std::string> texts;
  if (j.is_object() && j.contains("event")) {
    texts.push_back(j["event"].dump());
  } else if (j.is_object() && j.contains("message")) {
    texts.push_back(j["message"].dump());
    if (j.contains("raw")) texts.push_back(j["raw"].dump());
  } else if (j.is_object() && j.contains("configurationItem") && j.contains("shape")) {
    texts.push_back(j["configurationItem"].dump());
  } else {
    texts.push_back(line);  // the record itself, as written
  }
  return texts;
}

TEST(CorpusConformance, EveryRecordDecodes) {
  if (!fs::is_directory(CorpusDir())) {
    GTEST_SKIP() << "corpus folder " << CorpusDir() << " is absent; nothing to check";
  }
  const std::vector<fs::path> files = CorpusFiles();
  ASSERT_FALSE(files.empty()) << "no *.ndjson under " << CorpusDir();

  Decoder decoder;
  std::vector<Event> events;
  size_t total_lines = 0, total_records = 0, total_events = 0, failures = 0;
  std::map<std::string, size_t> kinds;
  for (const fs::path& file : files) {
    std::ifstream in(file);
    ASSERT_TRUE(in) << file;
    std::string line;
    size_t line_no = 0, records = 0, file_events = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string origin = file.filename().string() + ":" + std::to_string(line_no);
      for (const std::string& text : RecordsOfLine(line)) {
        ++records;
        events.clear();
        DecodeResult result = decoder.Decode(text, origin, &events);
        file_events += result.events;
        for (const Event& e : events) ++kinds[std::string(EventKindName(e.kind))];
        if (result.events == 0 || !result.invalid.empty()) {
          ++failures;
          ADD_FAILURE() << origin << ": " << result.events << " events, " << result.invalid.size()
                        << " invalid"
                        << (result.invalid.empty()
                                ? std::string()
                                : " (" + std::string(InvalidReasonName(result.invalid[0].reason)) +
                                      ": " + result.invalid[0].detail + ")");
        }
        for (const Event& e : events) {
          EXPECT_FALSE(e.document.empty()) << origin;
          EXPECT_FALSE(e.event_name.empty()) << origin;
          EXPECT_EQ(e.origin, origin);
        }
      }
    }
    std::cout << "[corpus] " << fs::relative(file, CorpusDir()).string() << ": " << line_no
              << " lines, " << records << " records, " << file_events << " events\n";
    total_lines += line_no;
    total_records += records;
    total_events += file_events;
  }
  std::cout << "[corpus] total: " << files.size() << " files, " << total_lines << " lines, "
            << total_records << " records, " << total_events << " events (";
  for (const auto& [kind, n] : kinds) std::cout << kind << " " << n << " ";
  std::cout << "), " << failures << " failures\n";
  EXPECT_EQ(failures, 0u);
  EXPECT_GT(total_events, 0u);
}

}  // namespace
}  // namespace driftwatch
