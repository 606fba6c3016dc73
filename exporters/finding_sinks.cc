#include "exporters/finding_sinks.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "vocab/json_parse.h"
#include "vocab/time_util.h"

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

// Values that come from events, made safe to print on a terminal: control characters (C0, DEL
// and, in UTF-8, C1) become '?'; so does every non-ASCII byte of a string that is not valid
// UTF-8.
std::string Printable(std::string_view s) {
  const bool utf8 = IsValidUtf8(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80)) {
      out += '?';
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      out += '?';  // U+0080..U+009F: C1 controls (0x9B is CSI on some terminals)
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// `s` left-aligned in `width` columns and one space; a longer `s` is kept whole.
void Column(std::string* line, std::string_view s, size_t width) {
  *line += s;
  if (s.size() < width) line->append(width - s.size(), ' ');
  *line += ' ';
}

// "User backup-admin": the resource type's last part and the id.
std::string ShortResource(const Finding& f) {
  if (f.resource.type.empty()) return Printable(f.resource.id);
  const std::string type = f.resource.type.substr(f.resource.type.rfind(':') + 1);
  return f.resource.id.empty() ? type : type + " " + Printable(f.resource.id);
}

// "user/ci-deploy": the ARN's resource part when the actor is of the resource's account, the
// whole ARN otherwise; the actor's type when there is no ARN.
std::string ShortActor(const Finding& f) {
  const std::string& arn = f.actor.arn;
  if (arn.empty()) return f.actor.type.empty() ? "-" : Printable(f.actor.type);
  // arn:partition:service:region:account:resource
  size_t pos = 0;
  size_t colons[5] = {};
  for (int k = 0; k < 5; ++k) {
    pos = arn.find(':', k == 0 ? 0 : pos + 1);
    if (pos == std::string::npos) return Printable(arn);
    colons[k] = pos;
  }
  const std::string account = arn.substr(colons[3] + 1, colons[4] - colons[3] - 1);
  if (arn.compare(0, 4, "arn:") != 0 || colons[4] + 1 >= arn.size() ||
      (!f.resource.account.empty() && account != f.resource.account)) {
    return Printable(arn);
  }
  return Printable(std::string_view(arn).substr(colons[4] + 1));
}

// "OPEN", "RESOLVED (state)".
std::string StatusText(const Finding& f) {
  if (f.status == FindingStatus::kOpen) return "OPEN";
  if (f.resolution == Resolution::kNone) return "RESOLVED";
  return "RESOLVED (" + std::string(ResolutionName(f.resolution)) + ")";
}

// What resolved it, from resolution_detail: "undone by StartLogging", "expired 24 h after its
// last event", "closed by carol: break-glass test"; "" when there is nothing to say.
std::string ResolutionText(const Finding& f) {
  if (f.status != FindingStatus::kResolved || f.resolution_detail.empty()) return "";
  const nlohmann::json d = ParseJson(f.resolution_detail);
  if (!d.is_object()) return "";
  auto text = [&d](const char* key) {
    const auto it = d.find(key);
    return it != d.end() && it->is_string() ? Printable(it->get<std::string>()) : std::string();
  };
  switch (f.resolution) {
    case Resolution::kState: {
      const std::string name = text("event_name");
      return name.empty() ? "" : "undone by " + name;
    }
    case Resolution::kExpired: {
      const auto it = d.find("expire_after_seconds");
      if (it == d.end() || !it->is_number_integer()) return "expired";
      const int64_t s = it->get<int64_t>();
      return "expired " +
             (s % 3600 == 0 ? std::to_string(s / 3600) + " h" : std::to_string(s) + " s") +
             " after its last event";
    }
    case Resolution::kClosed: {
      const std::string by = text("by");
      const std::string reason = text("reason");
      return "closed by " + (by.empty() ? std::string("hand") : by) +
             (reason.empty() ? "" : ": " + reason);
    }
    case Resolution::kNone:
      break;
  }
  return "";
}

constexpr size_t kTimeWidth = 20, kStatusWidth = 18, kSeverityWidth = 8, kKindWidth = 7,
                 kCategoryWidth = 15, kRuleWidth = 39, kResourceWidth = 36, kActorWidth = 30;

}  // namespace

std::string FindingTextHeader() {
  std::string line;
  Column(&line, "EVENT TIME", kTimeWidth);
  Column(&line, "STATUS", kStatusWidth);
  Column(&line, "SEVERITY", kSeverityWidth);
  Column(&line, "KIND", kKindWidth);
  Column(&line, "CATEGORY", kCategoryWidth);
  Column(&line, "RULE", kRuleWidth);
  Column(&line, "RESOURCE", kResourceWidth);
  line += "ACTOR";
  return line;
}

std::string FindingTextLine(const Finding& f) {
  const int64_t when = f.status == FindingStatus::kResolved ? f.resolved_at_ms : f.last_seen_ms;
  std::string line;
  Column(&line, when == 0 ? "-" : FormatTimestamp(when), kTimeWidth);
  Column(&line, StatusText(f), kStatusWidth);
  Column(&line, SeverityName(f.severity), kSeverityWidth);
  Column(&line, FindingKindName(f.kind), kKindWidth);
  Column(&line, CategoryName(f.category), kCategoryWidth);
  Column(&line, Printable(f.rule_id), kRuleWidth);
  Column(&line, ShortResource(f), kResourceWidth);
  const std::string detail = ResolutionText(f);
  if (detail.empty()) {
    line += ShortActor(f);
  } else {
    Column(&line, ShortActor(f), kActorWidth);
    line += "(" + detail + ")";
  }
  return line;
}

Status TextFindingSink::Emit(const Finding& f) {
  std::string text;
  if (lines_ == 0) text = FindingTextHeader() + "\n";
  text += FindingTextLine(f);
  text += '\n';
  if (fwrite(text.data(), 1, text.size(), out_) != text.size()) {
    return Status::IOError(std::string("write failed: ") + std::strerror(errno));
  }
  ++lines_;
  return Status::Ok();
}

Status TextFindingSink::Flush() {
  if (fflush(out_) != 0) return Status::IOError(std::string("flush: ") + std::strerror(errno));
  return Status::Ok();
}

std::string OpenFindingsSummary(const std::vector<Finding>& findings) {
  struct Group {
    int count = 0;
    std::map<std::string, int> rules;
  };
  std::map<std::pair<Category, FindingKind>, Group> open;
  std::map<Category, int> resolved_by_category;
  std::map<Resolution, int> resolved_by_resolution;
  int open_total = 0, open_posture = 0, open_event = 0, resolved = 0;
  for (const Finding& f : findings) {
    if (f.status == FindingStatus::kOpen) {
      Group& g = open[{f.category, f.kind}];
      ++g.count;
      ++g.rules[Printable(f.rule_id)];
      ++open_total;
      ++(f.kind == FindingKind::kEvent ? open_event : open_posture);
    } else {
      ++resolved;
      ++resolved_by_category[f.category];
      ++resolved_by_resolution[f.resolution];
    }
  }
  const std::string total = std::to_string(findings.size()) + " finding(s)";
  std::string out;
  if (findings.empty()) return "still open: nothing (no findings)\n";
  if (open_total == 0) {
    out = "still open: nothing (" + total + ", all resolved)\n";
  } else {
    out = "still open: " + std::to_string(open_total) + " of " + total + " (" +
          std::to_string(open_posture) + " posture, " + std::to_string(open_event) +
          " event), by category and kind:\n";
    for (const auto& [key, g] : open) {
      std::string line = "  ";
      Column(&line, CategoryName(key.first), kCategoryWidth);
      Column(&line, FindingKindName(key.second), kKindWidth);
      const std::string count = std::to_string(g.count);
      line += std::string(count.size() < 3 ? 3 - count.size() : 0, ' ') + count + "  ";
      bool first = true;
      for (const auto& [rule, n] : g.rules) {
        line += (first ? "" : ", ") + rule + (n > 1 ? " (" + std::to_string(n) + ")" : "");
        first = false;
      }
      out += line + "\n";
    }
  }
  if (resolved > 0) {
    out += "resolved: " + std::to_string(resolved) + " (";
    bool first = true;
    for (const auto& [category, n] : resolved_by_category) {
      out += (first ? "" : ", ") + std::string(CategoryName(category)) + " " + std::to_string(n);
      first = false;
    }
    out += "); resolution: ";
    first = true;
    for (const auto& [resolution, n] : resolved_by_resolution) {
      const std::string_view name = ResolutionName(resolution);
      out += (first ? "" : ", ") + std::string(name.empty() ? "unknown" : name) + " " +
             std::to_string(n);
      first = false;
    }
    out += "\n";
  }
  if (open_posture > 0) out += "posture findings resolve when the state goes back\n";
  if (open_event > 0) {
    out +=
        "event findings resolve when they expire (24 h of event time unless the rule sets "
        "expire_after) or are closed by hand: driftwatch findings close ID --reason TEXT\n";
  }
  return out;
}

Status NdjsonFindingSink::OpenFile(const std::string& path, std::unique_ptr<NdjsonFindingSink>* out,
                                   FindingFormat format) {
  FILE* f = fopen(path.c_str(), "ab");
  if (f == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
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
    return Status::IOError(std::string("write failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status NdjsonFindingSink::Flush() {
  if (fflush(out_) != 0) return Status::IOError(std::string("flush: ") + std::strerror(errno));
  return Status::Ok();
}

Status TableFindingSink::Emit(const Finding& f) {
  if (rows_ == 0) {
    fprintf(out_, "%-20s %-8s %-8s %-7s %-15s %-34s %-40s %s\n", "EVENT TIME", "STATUS", "SEVERITY",
            "KIND", "CATEGORY", "RULE", "RESOURCE", "ACTOR");
  }
  const int64_t when = f.status == FindingStatus::kResolved ? f.resolved_at_ms : f.last_seen_ms;
  const std::string actor = Printable(f.actor.arn.empty() ? f.actor.type : f.actor.arn);
  fprintf(out_, "%-20s %-8s %-8s %-7s %-15s %-34s %-40s %s\n", FormatTimestamp(when).c_str(),
          std::string(FindingStatusName(f.status)).c_str(),
          std::string(SeverityName(f.severity)).c_str(),
          std::string(FindingKindName(f.kind)).c_str(),
          std::string(CategoryName(f.category)).c_str(), Clip(Printable(f.rule_id), 34).c_str(),
          Clip(ShortResource(f), 40).c_str(), actor.c_str());
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
  if (f == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
  out->reset(new DeadLetterFile(f));
  return Status::Ok();
}

DeadLetterFile::~DeadLetterFile() { fclose(out_); }

Status DeadLetterFile::Write(std::string_view bytes, std::string_view origin,
                             std::string_view reason, std::string_view detail) {
  std::string line = DeadLetterJson(bytes, origin, reason, detail);
  line += '\n';
  if (fwrite(line.data(), 1, line.size(), out_) != line.size() || fflush(out_) != 0) {
    return Status::IOError(std::string("dead-letter write failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace driftwatch

namespace driftwatch {

Status OpenFindingsSummary(StateStore& store, std::string* out) {
  std::vector<Finding> findings;
  Status s = store.ScanFindings([&findings](const Finding& f) {
    findings.push_back(f);
    return true;
  });
  if (s.ok()) *out = OpenFindingsSummary(findings);
  return s;
}

}  // namespace driftwatch
