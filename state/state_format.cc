#include "state/state_format.h"

namespace driftwatch::state_format {
namespace {

// Version 1 records end after the flags byte; version 2 adds the replayable call after it.
constexpr uint8_t kHistoryRecordV1 = 1;
constexpr uint8_t kHistoryRecordVersion = 2;
constexpr uint64_t kSignBit = 0x8000000000000000ull;

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

void PutLengthPrefixed(std::string* out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
  out->append(s);
}

bool GetLengthPrefixed(std::string_view* in, std::string* out) {
  uint32_t n = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (in->empty()) return false;
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    n |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (in->size() < n) return false;
      out->assign(in->data(), n);
      in->remove_prefix(n);
      return true;
    }
  }
  return false;
}

}  // namespace

std::string HistoryKey(std::string_view resource_key, int64_t time_ms, std::string_view event_id) {
  std::string key;
  key.reserve(resource_key.size() + 9 + event_id.size());
  key.append(resource_key);
  key.push_back('\0');
  PutBigEndian64(&key, static_cast<uint64_t>(time_ms) ^ kSignBit);
  key.append(event_id);
  return key;
}

std::string HistoryPrefix(std::string_view resource_key) {
  std::string prefix(resource_key);
  prefix.push_back('\0');
  return prefix;
}

bool ParseHistoryKey(std::string_view key, std::string* resource_key, int64_t* time_ms,
                     std::string* event_id) {
  const size_t zero = key.find('\0');
  if (zero == std::string_view::npos || key.size() < zero + 9) return false;
  resource_key->assign(key.data(), zero);
  *time_ms = static_cast<int64_t>(GetBigEndian64(key.substr(zero + 1, 8)) ^ kSignBit);
  event_id->assign(key.substr(zero + 9));
  return true;
}

std::string EncodeHistoryValue(const HistoryEntry& e) {
  std::string out;
  out.reserve(64 + e.action.size() + e.actor.arn.size() + e.change.size() +
              e.document_after.size() + e.replay.size());
  out.push_back(static_cast<char>(kHistoryRecordVersion));
  PutLengthPrefixed(&out, e.action);
  PutLengthPrefixed(&out, e.actor.arn);
  PutLengthPrefixed(&out, e.actor.type);
  PutLengthPrefixed(&out, e.actor.access_key_id);
  PutLengthPrefixed(&out, e.actor.source_ip);
  PutLengthPrefixed(&out, e.change);
  PutLengthPrefixed(&out, e.document_after);
  out.push_back(static_cast<char>(e.kind));
  out.push_back(static_cast<char>((e.applied ? 1 : 0) | (e.deleted ? 2 : 0)));
  PutLengthPrefixed(&out, e.replay);
  return out;
}

bool DecodeHistoryValue(std::string_view in, HistoryEntry* e) {
  if (in.empty()) return false;
  const uint8_t version = static_cast<uint8_t>(in.front());
  if (version != kHistoryRecordV1 && version != kHistoryRecordVersion) return false;
  in.remove_prefix(1);
  if (!GetLengthPrefixed(&in, &e->action) || !GetLengthPrefixed(&in, &e->actor.arn) ||
      !GetLengthPrefixed(&in, &e->actor.type) || !GetLengthPrefixed(&in, &e->actor.access_key_id) ||
      !GetLengthPrefixed(&in, &e->actor.source_ip) || !GetLengthPrefixed(&in, &e->change) ||
      !GetLengthPrefixed(&in, &e->document_after)) {
    return false;
  }
  if (in.size() < 2) return false;
  const uint8_t kind = static_cast<uint8_t>(in[0]);
  if (kind > static_cast<uint8_t>(EventKind::kComplianceChange)) return false;
  e->kind = static_cast<EventKind>(kind);
  const uint8_t flags = static_cast<uint8_t>(in[1]);
  e->applied = (flags & 1) != 0;
  e->deleted = (flags & 2) != 0;
  in.remove_prefix(2);
  e->replay.clear();
  if (version == kHistoryRecordV1) return in.empty();
  return GetLengthPrefixed(&in, &e->replay) && in.empty();
}

std::string EncodeInt64(int64_t v) {
  std::string out;
  PutBigEndian64(&out, static_cast<uint64_t>(v));
  return out;
}

bool DecodeInt64(std::string_view bytes, int64_t* v) {
  if (bytes.size() != 8) return false;
  *v = static_cast<int64_t>(GetBigEndian64(bytes));
  return true;
}

}  // namespace driftwatch::state_format
