#include "vocab/status.h"

#include <gtest/gtest.h>

namespace driftwatch {
namespace {

TEST(StatusTest, OkCarriesNoCodeAndNoMessage) {
  Status s = Status::Ok();
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kOk);
  EXPECT_FALSE(s.IsNotFound());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status().ok());
}

TEST(StatusTest, EachConstructorSetsItsCodeAndOnlyItsPredicate) {
  struct Case {
    Status status;
    Status::Code code;
    const char* name;
  };
  const Case cases[] = {
      {Status::NotFound("k"), Status::Code::kNotFound, "NotFound"},
      {Status::Corruption("k"), Status::Code::kCorruption, "Corruption"},
      {Status::InvalidArgument("k"), Status::Code::kInvalidArgument, "InvalidArgument"},
      {Status::IOError("k"), Status::Code::kIOError, "IOError"},
      {Status::NotSupported("k"), Status::Code::kNotSupported, "NotSupported"},
      {Status::Unavailable("k"), Status::Code::kUnavailable, "Unavailable"},
      {Status::Error("k"), Status::Code::kError, "Error"},
  };
  for (const Case& c : cases) {
    const Status& s = c.status;
    EXPECT_FALSE(s.ok()) << c.name;
    EXPECT_EQ(s.code(), c.code) << c.name;
    EXPECT_EQ(s.IsNotFound(), c.code == Status::Code::kNotFound) << c.name;
    EXPECT_EQ(s.IsCorruption(), c.code == Status::Code::kCorruption) << c.name;
    EXPECT_EQ(s.IsInvalidArgument(), c.code == Status::Code::kInvalidArgument) << c.name;
    EXPECT_EQ(s.IsIOError(), c.code == Status::Code::kIOError) << c.name;
    EXPECT_EQ(s.IsNotSupported(), c.code == Status::Code::kNotSupported) << c.name;
    EXPECT_EQ(s.IsUnavailable(), c.code == Status::Code::kUnavailable) << c.name;
    EXPECT_EQ(Status::CodeName(s.code()), c.name);
  }
}

TEST(StatusTest, MessageIsTheTextUsersSeeAndToStringNamesTheCode) {
  Status s = Status::IOError("state get resource: disk gone");
  EXPECT_EQ(s.message(), "state get resource: disk gone");
  EXPECT_EQ(s.ToString(), "IOError: state get resource: disk gone");
  EXPECT_EQ(Status::Error("bad").ToString(), "Error: bad");
}

TEST(StatusTest, CodeOnlyNotFoundHasAnEmptyMessage) {
  Status s = Status::NotFound();
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "NotFound");
  EXPECT_EQ(Status::NotFound("finding 1a2b").ToString(), "NotFound: finding 1a2b");
}

TEST(StatusTest, CopiesAndMovesKeepCodeAndMessage) {
  Status a = Status::Corruption("unreadable history record");
  Status b = a;
  EXPECT_TRUE(b.IsCorruption());
  EXPECT_EQ(b.message(), a.message());
  Status c = std::move(b);
  EXPECT_TRUE(c.IsCorruption());
  EXPECT_EQ(c.message(), "unreadable history record");
}

}  // namespace
}  // namespace driftwatch
