// The appliers read an API call's requestParameters, responseElements, resources and errorCode
// where the decoder found them (Event::members) instead of walking the document again: the record
// and its text must be what the walk gives, for tricky records and every line of the corpus.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "appliers/applier_internal.h"
#include "ingest/decoder.h"

namespace driftwatch {
namespace {

namespace fs = std::filesystem;

// Decodes `line`; for each event, the record read from the decoder's places and the record read
// by walking the document are the same. Returns how many events had their places known.
size_t ExpectSameRecords(const std::string& line) {
  Decoder decoder;
  std::vector<Event> events;
  decoder.Decode(line, "test", &events);
  size_t known = 0;
  for (const Event& e : events) {
    if (e.kind != EventKind::kApiCall) continue;
    std::string text_placed, text_walked;
    const applier::json placed = applier::ParseRecord(e, &text_placed);
    Event walked_event = e;
    walked_event.members_known = false;
    const applier::json walked = applier::ParseRecord(walked_event, &text_walked);
    EXPECT_EQ(placed, walked) << line.substr(0, 300);
    EXPECT_EQ(text_placed, text_walked) << line.substr(0, 300);
    if (e.members_known) ++known;
  }
  return known;
}

TEST(RecordMembersTest, DecoderPlacesGiveTheRecordTheWalkGives) {
  const std::vector<std::string> records = {
      // All four, objects, an array of resources, a string error code.
      R"({"eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventTime":"2024-01-01T00:00:00Z","eventID":"a","requestParameters":{"userName":"x","tags":[{"k":"v"}]},"responseElements":{"user":{"arn":"arn:aws:iam::1:user/x"}},"resources":[{"ARN":"arn:aws:iam::1:user/x","type":"AWS::IAM::User"},"arn:aws:s3:::b"],"errorCode":"AccessDenied"})",
      // Nulls and members absent.
      R"({"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","eventTime":"2024-01-01T00:00:00Z","eventID":"b","requestParameters":null,"responseElements":null})",
      R"({"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventTime":"2024-01-01T00:00:00Z","eventID":"c"})",
      // A repeated member: the last one counts, as a parser keeps it.
      R"({"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventTime":"2024-01-01T00:00:00Z","eventID":"d","requestParameters":{"a":1},"requestParameters":{"b":[1,2,{"c":"}"}]},"resources":[],"resources":null})",
      // Escapes and nested braces inside strings.
      R"({"eventSource":"iam.amazonaws.com","eventName":"PutUserPolicy","eventTime":"2024-01-01T00:00:00Z","eventID":"e","requestParameters":{"policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\"}]}","n":"\u00e9\\"}})",
      // Not compact: the places are not known, and the walk reads it.
      "{ \"eventSource\" : \"iam.amazonaws.com\", \"eventName\":\"CreateUser\", "
      "\"eventTime\":\"2024-01-01T00:00:00Z\", \"eventID\":\"f\", \"requestParameters\" : "
      "{ \"userName\" : \"y\" } , \"errorCode\" : \"X\" }",
      // Inside a CloudTrail log file and an EventBridge envelope.
      R"({"Records":[{"eventSource":"iam.amazonaws.com","eventName":"CreateRole","eventTime":"2024-01-01T00:00:00Z","eventID":"g","requestParameters":{"roleName":"r"}},{"eventSource":"iam.amazonaws.com","eventName":"DeleteRole","eventTime":"2024-01-01T00:00:00Z","eventID":"h","requestParameters":{"roleName":"r"},"errorCode":"NoSuchEntity"}]})",
      R"({"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","time":"2024-01-01T00:00:00Z","detail":{"eventSource":"iam.amazonaws.com","eventName":"CreateRole","eventTime":"2024-01-01T00:00:00Z","eventID":"i","requestParameters":{"roleName":"r2"},"resources":[{"ARN":"arn:aws:iam::1:role/r2"}]}})",
  };
  size_t known = 0;
  for (const std::string& r : records) known += ExpectSameRecords(r);
  // Every compact record above had its places known: 8 of the 9 calls (not the spaced one).
  EXPECT_EQ(known, 8u);
}

TEST(RecordMembersTest, DecoderPlacesGiveTheRecordTheWalkGivesForEveryCorpusLine) {
  const fs::path dir = fs::path(DW_SOURCE_DIR) / ".." / "shared" / "corpus";
  if (!fs::exists(dir)) GTEST_SKIP() << "corpus folder " << dir << " is absent";
  size_t lines = 0, known = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".ndjson") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      known += ExpectSameRecords(line);
      ++lines;
    }
  }
  EXPECT_GT(lines, 100u);
  // Most corpus lines are spaced (as AWS documents print them): the walk reads those. The compact
  // ones (38 calls) are read from the decoder's places, and must be too.
  EXPECT_GE(known, 30u);
}

}  // namespace
}  // namespace driftwatch
