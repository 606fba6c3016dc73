#pragma once
// Reads records from a file (.json, .ndjson, .json.gz, a CloudTrail log file, pretty-printed or
// not) or from stdin ("-"). The file is split into top-level JSON values by a bracket scan, so
// NDJSON, one whole document and concatenated documents all work; a line that is not JSON
// becomes one record of its own (the decoder rejects it, nothing is dropped). A value left
// open at a newline followed by a line starting in column 0 with anything but whitespace, '}' or
// ']' is cut there, so one truncated NDJSON line does not swallow the next. Gzip is detected by its
// magic bytes, not by the name.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/source.h"
#include "vocab/status.h"

namespace driftwatch {

class FileSource : public RecordSource {
 public:
  // `path` "-" reads stdin. `start_offset` skips that many bytes of the (decompressed) stream,
  // as stored in a source position by an earlier run.
  static Status Open(const std::string& path, int64_t start_offset,
                     std::unique_ptr<FileSource>* out);
  ~FileSource() override;

  Status Next(size_t max, std::vector<RawRecord>* out, bool* more) override;

  // Position key of this file: "file:<absolute path>" ("file:-" for stdin).
  const std::string& source_key() const { return source_key_; }
  // Bytes of the (decompressed) stream consumed so far.
  int64_t offset() const { return offset_; }
  // Size of the file on disk (compressed size for gzip), 0 for stdin: for progress lines.
  int64_t file_size() const { return file_size_; }
  // Bytes read from the file on disk so far (compressed for gzip).
  int64_t raw_bytes_read() const;

 private:
  FileSource() = default;
  bool Fill();  // reads more into buf_; false at end of input
  struct Reader;
  std::unique_ptr<Reader> reader_;
  std::string display_name_;
  std::string source_key_;
  std::string buf_;  // unconsumed bytes start at pos_
  size_t pos_ = 0;
  bool eof_ = false;
  int64_t offset_ = 0;  // stream offset of buf_[pos_]
  int64_t line_ = 1;    // line number of buf_[pos_]
  int64_t file_size_ = 0;
  std::string error_;
};

}  // namespace driftwatch
