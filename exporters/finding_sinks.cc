#include "exporters/finding_sinks.h"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/time_util.h"

namespace driftwatch {
namespace {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string Base64(std::string_view in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < in.size() ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Clip(std::string_view s, size_t width) {
  if (s.size() <= width) return std::string(s);
  return std::string(s.substr(0, width - 1)) + "~";
}

}  // namespace

Status NdjsonFindingSink::OpenFile(const std::string& path, std::unique_ptr<NdjsonFindingSink>* out,
                                   FindingFormat format) {
  FILE* f = fopen(path.c_str(), "ab");
  if (f == nullptr) return Status::Error(path + ": " + std::strerror(errno));
  auto sink = std::make_unique<NdjsonFindingSink>(f, format);
  sink->owned_ = true;
  *out = std::move(sink);
  return Status::Ok();
}

NdjsonFindingSink::~NdjsonFindingSink() {
  if (owned_) fclose(out_);
}

Status NdjsonFindingSink::Emit(const Finding& finding) {
  std::string line = FindingText(finding, format_);
  line += '\n';
  if (fwrite(line.data(), 1, line.size(), out_) != line.size()) {
    return Status::Error(std::string("write failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status NdjsonFindingSink::Flush() {
  if (fflush(out_) != 0) return Status::Error(std::string("flush: ") + std::strerror(errno));
  return Status::Ok();
}

Status TableFindingSink::Emit(const Finding& f) {
  if (rows_ == 0) {
    fprintf(out_, "%-20s %-8s %-8s %-15s %-34s %-40s %s\n", "EVENT TIME", "STATUS", "SEVERITY",
            "CATEGORY", "RULE", "RESOURCE", "ACTOR");
  }
  const int64_t when = f.status == FindingStatus::kResolved ? f.resolved_at_ms : f.last_seen_ms;
  const std::string resource =
      f.resource.type.empty()
          ? f.resource.id
          : f.resource.type.substr(f.resource.type.rfind(':') + 1) + " " + f.resource.id;
  std::string actor = f.actor.arn.empty() ? f.actor.type : f.actor.arn;
  fprintf(out_, "%-20s %-8s %-8s %-15s %-34s %-40s %s\n", FormatTimestamp(when).c_str(),
          std::string(FindingStatusName(f.status)).c_str(),
          std::string(SeverityName(f.severity)).c_str(),
          std::string(CategoryName(f.category)).c_str(), Clip(f.rule_id, 34).c_str(),
          Clip(resource, 40).c_str(), actor.c_str());
  ++rows_;
  return Status::Ok();
}

Status TableFindingSink::Flush() {
  fflush(out_);
  return Status::Ok();
}

std::string DeadLetterJson(std::string_view bytes, std::string_view origin, std::string_view reason,
                           std::string_view detail) {
  nlohmann::ordered_json j;
  j["origin"] = origin;
  j["reason"] = reason;
  j["detail"] = IsValidUtf8(detail) ? std::string(detail) : Base64(detail);
  if (IsValidUtf8(bytes)) {
    j["record"] = bytes;
  } else {
    j["record_base64"] = Base64(bytes);
  }
  return j.dump();
}

Status DeadLetterFile::Open(const std::string& path, std::unique_ptr<DeadLetterFile>* out) {
  FILE* f = fopen(path.c_str(), "ab");
  if (f == nullptr) return Status::Error(path + ": " + std::strerror(errno));
  out->reset(new DeadLetterFile(f));
  return Status::Ok();
}

DeadLetterFile::~DeadLetterFile() { fclose(out_); }

Status DeadLetterFile::Write(std::string_view bytes, std::string_view origin,
                             std::string_view reason, std::string_view detail) {
  std::string line = DeadLetterJson(bytes, origin, reason, detail);
  line += '\n';
  if (fwrite(line.data(), 1, line.size(), out_) != line.size() || fflush(out_) != 0) {
    return Status::Error(std::string("dead-letter write failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace driftwatch
