#include "ingest/file_source.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace driftwatch {
namespace {

constexpr size_t kChunk = 1 << 20;
// A value still open after this many bytes is handed on as it is; the decoder rejects it as
// too large. Bounds memory on hostile input.
constexpr size_t kMaxRecordBytes = 64u << 20;

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Bytes of `w` equal to `c`, as the high bit of each byte (the SWAR "has byte" test: the lowest
// flagged byte is exact, which is all that is used).
inline uint64_t BytesEqual(uint64_t w, char c) {
  const uint64_t x = w ^ (0x0101010101010101ULL * static_cast<uint8_t>(c));
  return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

// From `from`, the first index before `end` of '"', '\\' or '\n' in `p`, 8 bytes at a time;
// `end` - 7 or later when none is found in the whole words (the caller goes on byte by byte).
// Most of a CloudTrail record's bytes are inside strings, where nothing else matters.
inline size_t SkipStringBytes(const char* p, size_t from, size_t end) {
  while (from + 8 <= end) {
    uint64_t w;
    std::memcpy(&w, p + from, 8);
    const uint64_t hit = BytesEqual(w, '"') | BytesEqual(w, '\\') | BytesEqual(w, '\n');
    if (hit != 0) return from + static_cast<size_t>(__builtin_ctzll(hit)) / 8;
    from += 8;
  }
  return from;
}

}  // namespace

struct FileSource::Reader {
  FILE* file = nullptr;
  gzFile gz = nullptr;
  bool owns_file = false;
  ~Reader() {
    if (gz != nullptr) gzclose(gz);
    if (file != nullptr && owns_file) fclose(file);
  }
  // Returns bytes read, 0 at end, -1 on error.
  long Read(char* dst, size_t n) {
    if (gz != nullptr) return gzread(gz, dst, static_cast<unsigned>(n));
    size_t got = fread(dst, 1, n, file);
    if (got == 0 && ferror(file)) return -1;
    return static_cast<long>(got);
  }
  int64_t RawOffset() const {
    if (gz != nullptr) return gzoffset(gz);
    long off = file == stdin ? -1 : ftell(file);
    return off < 0 ? 0 : off;
  }
};

FileSource::~FileSource() = default;

int64_t FileSource::raw_bytes_read() const { return reader_ ? reader_->RawOffset() : 0; }

Status FileSource::Open(const std::string& path, int64_t start_offset,
                        std::unique_ptr<FileSource>* out) {
  std::unique_ptr<FileSource> src(new FileSource());
  src->reader_ = std::make_unique<Reader>();
  Reader& r = *src->reader_;
  if (path == "-") {
    r.file = stdin;
    src->display_name_ = "<stdin>";
    src->source_key_ = "file:-";
  } else {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      return Status::IOError(path + ": " + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) return Status::IOError(path + ": is a directory");
    r.file = fopen(path.c_str(), "rb");
    if (r.file == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
    r.owns_file = true;
    src->file_size_ = st.st_size;
    src->display_name_ = std::filesystem::path(path).filename().string();
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    src->source_key_ = "file:" + (ec ? path : abs.lexically_normal().string());
    // gzip magic: 1f 8b. gzdopen reads plain files too, but is slower: only use it when needed.
    unsigned char magic[2] = {0, 0};
    size_t got = fread(magic, 1, 2, r.file);
    rewind(r.file);
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      int fd = dup(fileno(r.file));
      r.gz = gzdopen(fd, "rb");
      if (r.gz == nullptr) return Status::IOError(path + ": cannot open gzip stream");
      gzbuffer(r.gz, 1 << 18);
    }
  }
  // Skip what an earlier run already stored.
  while (start_offset > src->offset_) {
    if (src->pos_ >= src->buf_.size() && !src->Fill()) break;
    size_t avail = src->buf_.size() - src->pos_;
    size_t skip = static_cast<size_t>(
        std::min<int64_t>(static_cast<int64_t>(avail), start_offset - src->offset_));
    for (size_t i = 0; i < skip; ++i) {
      if (src->buf_[src->pos_ + i] == '\n') ++src->line_;
    }
    src->pos_ += skip;
    src->offset_ += static_cast<int64_t>(skip);
  }
  if (!src->error_.empty()) return Status::Error(src->error_);
  *out = std::move(src);
  return Status::Ok();
}

bool FileSource::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const size_t old = buf_.size();
  buf_.resize(old + kChunk);
  long n = reader_->Read(buf_.data() + old, kChunk);
  if (n < 0) {
    error_ = display_name_ + ": read error";
    n = 0;
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  return n > 0;
}

Status FileSource::Next(size_t max, std::vector<RawRecord>* out, bool* more) {
  size_t used = 0;
  while (used < max) {
    // Skip whitespace between values.
    for (;;) {
      while (pos_ < buf_.size() && IsSpace(buf_[pos_])) {
        if (buf_[pos_] == '\n') ++line_;
        ++pos_;
        ++offset_;
      }
      if (pos_ < buf_.size() || !Fill()) break;
    }
    if (!error_.empty()) {
      out->resize(used);
      return Status::Error(error_);
    }
    if (pos_ >= buf_.size()) {
      out->resize(used);
      *more = false;
      return Status::Ok();
    }
    // Scan one value from pos_. `i` is relative to pos_ and survives refills.
    size_t i = 0;
    int depth = 0;
    bool in_string = false, escaped = false, done = false;
    int64_t newlines = 0;
    const bool structured = buf_[pos_] == '{' || buf_[pos_] == '[';
    size_t end = 0;       // length of the record
    size_t consumed = 0;  // bytes consumed including a cut newline
    for (;;) {
      while (pos_ + i < buf_.size()) {
        if (in_string && !escaped) {
          const size_t limit = std::min(buf_.size(), pos_ + kMaxRecordBytes);
          i = SkipStringBytes(buf_.data(), pos_ + i, limit) - pos_;
          if (i >= kMaxRecordBytes) {
            end = consumed = i;
            done = true;
            break;
          }
          if (pos_ + i >= buf_.size()) break;
        }
        const char c = buf_[pos_ + i];
        if (!structured) {
          if (c == '\n') {
            end = i;
            consumed = i + 1;
            ++newlines;
            done = true;
            break;
          }
          ++i;
          continue;
        }
        if (c == '\n' && depth > 0 && pos_ + i + 1 >= buf_.size() && !eof_) {
          Fill();  // keeps pos_-relative indices valid; look at the next byte before deciding
          continue;
        }
        if (c == '\n') {
          // Inside a value, pretty-printed JSON indents every line but the closing one; a line
          // that starts in column 0 with anything else begins a new record.
          bool next_is_record = false;
          if (pos_ + i + 1 < buf_.size()) {
            const char n = buf_[pos_ + i + 1];
            next_is_record = !IsSpace(n) && n != '}' && n != ']';
          }
          if (depth > 0 && (in_string || next_is_record)) {
            end = i;
            consumed = i + 1;
            ++newlines;
            done = true;
            break;
          }
          ++newlines;
        }
        if (in_string) {
          if (escaped) {
            escaped = false;
          } else if (c == '\\') {
            escaped = true;
          } else if (c == '"') {
            in_string = false;
          }
        } else if (c == '"') {
          in_string = true;
        } else if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          if (--depth == 0) {
            end = consumed = i + 1;
            done = true;
            break;
          }
        }
        ++i;
        if (i >= kMaxRecordBytes) {
          end = consumed = i;
          done = true;
          break;
        }
      }
      if (done) break;
      // Need the '\n' look-ahead byte too: refill before deciding at the buffer's end.
      if (!Fill()) {
        end = consumed = buf_.size() - pos_;
        break;
      }
    }
    if (!error_.empty()) {
      out->resize(used);
      return Status::Error(error_);
    }
    // Records left in `out` by the previous call are written over: their strings keep their
    // capacity, so a steady stream allocates nothing per record.
    if (used == out->size()) out->emplace_back();
    RawRecord& rec = (*out)[used++];
    rec.bytes.assign(buf_, pos_, end);
    char line[24];
    const auto [line_end, ec] = std::to_chars(line, line + sizeof line, line_);
    rec.origin.assign(display_name_).append(1, ':').append(line, line_end);
    rec.source.assign(source_key_);
    pos_ += consumed;
    offset_ += static_cast<int64_t>(consumed);
    line_ += newlines;
    rec.next_offset = offset_;
  }
  out->resize(used);
  *more = true;
  return Status::Ok();
}

}  // namespace driftwatch
