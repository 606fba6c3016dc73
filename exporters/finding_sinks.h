#pragma once
// Where findings and dead letters go besides Kafka: NDJSON on a stream or file, a table and
// readable lines for people. Threading: each sink is used by one pipeline thread.

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/finding_sink.h"
#include "engine/pipeline.h"
#include "exporters/ocsf.h"
#include "state/state_store.h"
#include "vocab/status.h"

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

// Fixed-width rows: time, status, severity, kind, category, rule, resource, actor (rule and
// resource clipped to their column).
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

// One line for people per status change (`driftwatch run` with findings.format {stdout: text}
// or --print text, `replay --format text`), after a header line before the first:
//   EVENT TIME  STATUS  SEVERITY  KIND  CATEGORY  RULE  RESOURCE  ACTOR  [what resolved it]
// Nothing is clipped; control characters (and every non-ASCII byte of invalid UTF-8) in values
// that come from events are shown as '?', so an event cannot drive the terminal.
class TextFindingSink : public FindingSink {
 public:
  explicit TextFindingSink(FILE* out) : out_(out) {}
  Status Emit(const Finding& finding) override;
  Status Flush() override;
  int lines() const { return lines_; }

 private:
  FILE* out_;
  int lines_ = 0;
};

// TextFindingSink's line for one status change, without the newline:
//   2026-11-02T09:31:10Z RESOLVED (state)   critical posture logging  logging-trail-not-logging
//   Trail org-audit  user/ci-deploy  (undone by StartLogging)
// The time is last_seen while open, resolved_at once resolved. The resource is the type's last
// part and the id; the actor is the part of its ARN after the account (the whole ARN when the
// actor's account is not the resource's), or its type when it has no ARN.
std::string FindingTextLine(const Finding& f);
// The header TextFindingSink writes before its first line.
std::string FindingTextHeader();

// What is still open among `findings` (every finding of a state, open and resolved, as
// StateStore::ScanFindings gives them), for people: one line per category and kind with open
// findings (count and rule ids), then what was resolved, by category and resolution. Ends with a
// newline. `driftwatch run` with text output prints it at exit, `replay --format text` at the end.
std::string OpenFindingsSummary(const std::vector<Finding>& findings);
// The same for every finding `store` keeps, into *out.
Status OpenFindingsSummary(StateStore& store, std::string* out);

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
