#include "ingest/file_source.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace driftwatch {
namespace {

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dw-file-source-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::vector<RawRecord> ReadAll(const std::string& path, int64_t start = 0, size_t batch = 3) {
    std::unique_ptr<FileSource> src;
    Status s = FileSource::Open(path, start, &src);
    EXPECT_TRUE(s.ok()) << s.message();
    std::vector<RawRecord> all, chunk;
    bool more = true;
    while (s.ok() && more) {
      s = src->Next(batch, &chunk, &more);
      EXPECT_TRUE(s.ok()) << s.message();
      for (auto& r : chunk) all.push_back(std::move(r));
    }
    return all;
  }

  std::filesystem::path dir_;
};

TEST_F(FileSourceTest, SplitsNdjsonIntoOneRecordPerLine) {
  auto path = Write("a.ndjson", "{\"a\":1}\n{\"b\":\"x}\"}\n\n{\"c\":[1,{\"d\":2}]}\n");
  auto recs = ReadAll(path);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].bytes, "{\"a\":1}");
  EXPECT_EQ(recs[1].bytes, "{\"b\":\"x}\"}");
  EXPECT_EQ(recs[2].bytes, "{\"c\":[1,{\"d\":2}]}");
  EXPECT_EQ(recs[0].origin, "a.ndjson:1");
  EXPECT_EQ(recs[2].origin, "a.ndjson:4");
}

// Strings are skipped a word at a time: quotes, escapes and brackets inside them, strings that
// span the 1 MiB read chunks, and a raw newline inside a string (a truncated record) must split
// exactly as a byte-by-byte scan would.
TEST_F(FileSourceTest, LongStringsWithEscapesAndBracketsSplitExactly) {
  // ab\"}]{[cd\\xyz...\\ : an escaped quote, brackets, escaped backslashes.
  const std::string tricky = "ab\\\"}]{[cd\\\\xyz" + std::string(37, 'q') + "\\\\";
  std::string content;
  std::vector<std::string> want;
  for (int i = 0; i < 300; ++i) {
    // Records of varied length, so that string bytes cross every word and chunk boundary.
    const std::string r = "{\"k\":\"" + tricky + std::string(static_cast<size_t>(i * 97 % 9000), 'x') +
                          "\",\"n\":[" + std::to_string(i) + ",{\"s\":\"}\"}]}";
    want.push_back(r);
    content += r + "\n";
  }
  const std::string cut = "{\"k\":\"never closed";  // a raw newline ends it
  content += cut + "\n{\"after\":1}\n";
  auto recs = ReadAll(Write("long.ndjson", content), 0, 7);
  ASSERT_EQ(recs.size(), want.size() + 2);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(recs[i].bytes, want[i]) << "record " << i;
  EXPECT_EQ(recs[want.size()].bytes, cut);
  EXPECT_EQ(recs[want.size() + 1].bytes, "{\"after\":1}");
  EXPECT_EQ(recs.back().origin, "long.ndjson:302");
}

TEST_F(FileSourceTest, PrettyPrintedDocumentIsOneRecord) {
  const std::string doc = "{\n  \"Records\": [\n    {\"eventName\": \"A\"},\n    {\n      \"x\": 1\n"
                          "    }\n  ]\n}\n";
  auto recs = ReadAll(Write("log.json", doc));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].bytes, doc.substr(0, doc.size() - 1));
}

TEST_F(FileSourceTest, TruncatedLineDoesNotSwallowTheNext) {
  auto recs = ReadAll(Write("t.ndjson", "{\"a\": {\"b\": 1\n{\"ok\":true}\n"));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].bytes, "{\"a\": {\"b\": 1");
  EXPECT_EQ(recs[1].bytes, "{\"ok\":true}");
  EXPECT_EQ(recs[1].origin, "t.ndjson:2");
}

TEST_F(FileSourceTest, NonJsonLineIsKeptAsItsOwnRecord) {
  auto recs = ReadAll(Write("g.ndjson", "hello world\n{\"a\":1}\n"));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].bytes, "hello world");
  EXPECT_EQ(recs[1].bytes, "{\"a\":1}");
}

TEST_F(FileSourceTest, TruncatedEndOfFileIsARecord) {
  auto recs = ReadAll(Write("e.json", "{\"a\":1}\n{\"b\":[1,2"));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].bytes, "{\"b\":[1,2");
}

TEST_F(FileSourceTest, ReadsGzipByMagicBytes) {
  const std::string path = (dir_ / "log.json.gz").string();
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  std::string content;
  for (int i = 0; i < 5000; ++i) content += "{\"eventID\":\"" + std::to_string(i) + "\"}\n";
  gzwrite(gz, content.data(), static_cast<unsigned>(content.size()));
  gzclose(gz);
  auto recs = ReadAll(path, 0, 1000);
  ASSERT_EQ(recs.size(), 5000u);
  EXPECT_EQ(recs[4999].bytes, "{\"eventID\":\"4999\"}");
}

TEST_F(FileSourceTest, RecordsLargerThanTheReadChunkSurvive) {
  std::string big = "{\"k\":\"" + std::string(3 << 20, 'x') + "\"}";
  auto recs = ReadAll(Write("big.ndjson", "{\"a\":1}\n" + big + "\n{\"b\":2}\n"));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].bytes.size(), big.size());
  EXPECT_EQ(recs[2].bytes, "{\"b\":2}");
}

TEST_F(FileSourceTest, ResumesFromAStoredOffset) {
  auto path = Write("r.ndjson", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  auto first = ReadAll(path);
  ASSERT_EQ(first.size(), 3u);
  auto rest = ReadAll(path, first[0].next_offset);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].bytes, "{\"a\":2}");
  EXPECT_EQ(rest[0].origin, "r.ndjson:2");
  EXPECT_EQ(ReadAll(path, first[2].next_offset).size(), 0u);
}

TEST_F(FileSourceTest, MissingFileIsAnErrorNamingIt) {
  std::unique_ptr<FileSource> src;
  Status s = FileSource::Open((dir_ / "nope.json").string(), 0, &src);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nope.json"), std::string::npos);
}

}  // namespace
}  // namespace driftwatch
