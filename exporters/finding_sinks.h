#pragma once
// Where findings and dead letters go besides Kafka: NDJSON on a stream or file, and a readable
// table for people. Threading: each sink is used by one pipeline thread.

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "engine/finding_sink.h"
#include "engine/pipeline.h"
#include "engine/status.h"
#include "exporters/ocsf.h"

namespace driftwatch {

// One finding object per line: FindingToJson, or with FindingFormat::kOcsf one OCSF object
// (exporters/ocsf.h). Does not own a FILE* it was given; owns one it opened.
class NdjsonFindingSink : public FindingSink {
 public:
  explicit NdjsonFindingSink(FILE* out, FindingFormat format = FindingFormat::kDriftwatch)
      : out_(out), format_(format) {}
  // Appends to `path` (created if missing).
  static Status OpenFile(const std::string& path, std::unique_ptr<NdjsonFindingSink>* out,
                         FindingFormat format = FindingFormat::kDriftwatch);
  ~NdjsonFindingSink() override;
  Status Emit(const Finding& finding) override;
  Status Flush() override;

 private:
  FILE* out_;
  FindingFormat format_;
  bool owned_ = false;
};

// Fixed-width rows: time, status, severity, category, rule, resource, actor.
class TableFindingSink : public FindingSink {
 public:
  explicit TableFindingSink(FILE* out) : out_(out) {}
  Status Emit(const Finding& finding) override;
  Status Flush() override;
  int rows() const { return rows_; }

 private:
  FILE* out_;
  int rows_ = 0;
};

// Dead letters as NDJSON: {"origin","reason","detail","record"} — the record verbatim as a JSON
// string, or as "record_base64" when it is not valid UTF-8, so no byte is lost.
class DeadLetterFile : public DeadLetterSink {
 public:
  static Status Open(const std::string& path, std::unique_ptr<DeadLetterFile>* out);
  ~DeadLetterFile() override;
  Status Write(std::string_view bytes, std::string_view origin, std::string_view reason,
               std::string_view detail) override;

 private:
  explicit DeadLetterFile(FILE* f) : out_(f) {}
  FILE* out_;
};

// Builds one dead-letter line (no newline); shared with the Kafka dead-letter sink.
std::string DeadLetterJson(std::string_view bytes, std::string_view origin, std::string_view reason,
                           std::string_view detail);

}  // namespace driftwatch
