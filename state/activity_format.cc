#include "state/activity_format.h"

#include <climits>

namespace driftwatch::activity_format {
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr uint8_t kCallVersion = 2;
constexpr uint8_t kRunVersion = 1;
constexpr uint64_t kSignBit = 0x8000000000000000ull;

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

void PutVarint(std::string* out, uint32_t n) {
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
}

bool GetVarint(std::string_view* in, uint32_t* out) {
  uint32_t n = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (in->empty()) return false;
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    n |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = n;
      return true;
    }
  }
  return false;
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

bool GetString(std::string_view* in, std::string* out) {
  uint32_t n = 0;
  if (!GetVarint(in, &n) || in->size() < n) return false;
  out->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

bool GetInt64(std::string_view* in, int64_t* out) {
  if (in->size() < 8) return false;
  *out = static_cast<int64_t>(GetBigEndian64(*in));
  in->remove_prefix(8);
  return true;
}

// The string fields both encodings hold after their header, in order (a record holds event_id
// first; a call's event id is in its key). Persisted order: do not change.
template <typename Record, typename Fn>
void ForEachField(Record& r, bool with_event_id, Fn&& fn) {
  if (with_event_id) fn(r.event_id);
  for (auto* s : {&r.event_source, &r.event_name, &r.error_code, &r.region, &r.account,
                  &r.actor.source_ip, &r.actor.access_key_id, &r.actor.arn, &r.actor.type,
                  &r.session_name, &r.issued_access_key_id, &r.issued_arn,
                  &r.issued_session_name, &r.detail}) {
    fn(*s);
  }
}

void PutFields(std::string* out, const ActivityRecord& r, bool with_event_id) {
  ForEachField(r, with_event_id, [&](const std::string& s) { PutString(out, s); });
  PutVarint(out, static_cast<uint32_t>(r.resource_keys.size()));
  for (const std::string& k : r.resource_keys) PutString(out, k);
}

// The fields and resource keys; true when `in` held exactly them.
bool GetFields(std::string_view in, ActivityRecord* r, bool with_event_id) {
  bool ok = true;
  ForEachField(*r, with_event_id, [&](std::string& s) { ok = ok && GetString(&in, &s); });
  uint32_t n = 0;
  if (!ok || !GetVarint(&in, &n) || n > in.size()) return false;
  r->resource_keys.resize(n);
  for (std::string& k : r->resource_keys) {
    if (!GetString(&in, &k)) return false;
  }
  return in.empty();
}

}  // namespace

std::string EntryPrefix(ActivityIndex index, std::string_view value) {
  std::string key;
  key.reserve(value.size() + 2);
  key.push_back(static_cast<char>(index));
  key.append(value);
  key.push_back('\0');
  return key;
}

std::string EntrySeek(ActivityIndex index, std::string_view value, int64_t time_ms) {
  std::string key = EntryPrefix(index, value);
  PutBigEndian64(&key, static_cast<uint64_t>(time_ms) ^ kSignBit);
  return key;
}

std::string EntryKey(ActivityIndex index, std::string_view value, int64_t time_ms,
                     std::string_view event_id) {
  std::string key = EntrySeek(index, value, time_ms);
  key.append(event_id);
  return key;
}

bool EntryTime(std::string_view key, size_t prefix_size, int64_t* time_ms) {
  if (key.size() < prefix_size + 8) return false;
  *time_ms = static_cast<int64_t>(GetBigEndian64(key.substr(prefix_size, 8)) ^ kSignBit);
  return true;
}

std::string EncodeRecord(const ActivityRecord& r) {
  std::string out;
  out.reserve(160 + r.detail.size());
  out.push_back(static_cast<char>(kRecordVersion));
  PutBigEndian64(&out, static_cast<uint64_t>(r.time_ms));
  out.push_back(static_cast<char>(r.read_only ? 1 : 0));
  PutFields(&out, r, /*with_event_id=*/true);
  return out;
}

bool DecodeRecord(std::string_view in, ActivityRecord* r) {
  if (in.empty() || static_cast<uint8_t>(in.front()) != kRecordVersion) return false;
  in.remove_prefix(1);
  if (!GetInt64(&in, &r->time_ms) || in.empty()) return false;
  r->read_only = in.front() != 0;
  in.remove_prefix(1);
  return GetFields(in, r, /*with_event_id=*/true);
}

std::string CallKey(int64_t time_ms, std::string_view event_id) {
  std::string key(1, kCallPrefix);
  PutBigEndian64(&key, static_cast<uint64_t>(time_ms) ^ kSignBit);
  key.append(event_id);
  return key;
}

std::string CallKeyOfEntry(std::string_view entry_key, size_t prefix_size) {
  std::string key(1, kCallPrefix);
  if (entry_key.size() >= prefix_size) key.append(entry_key.substr(prefix_size));
  return key;
}

std::string EncodeCall(const ActivityRecord& r) {
  std::string out;
  out.reserve(120 + r.detail.size());
  out.push_back(static_cast<char>(kCallVersion));
  out.push_back(static_cast<char>(r.read_only ? 1 : 0));
  PutFields(&out, r, /*with_event_id=*/false);
  return out;
}

bool DecodeCall(std::string_view key, std::string_view in, ActivityRecord* r) {
  if (key.size() < 9 || key.front() != kCallPrefix) return false;
  r->time_ms = static_cast<int64_t>(GetBigEndian64(key.substr(1, 8)) ^ kSignBit);
  r->event_id.assign(key.substr(9));
  if (in.size() < 2 || static_cast<uint8_t>(in[0]) != kCallVersion) return false;
  r->read_only = in[1] != 0;
  in.remove_prefix(2);
  return GetFields(in, r, /*with_event_id=*/false);
}

int64_t PostingBucket(int64_t time_ms) {
  // Open windows start at INT64_MIN: the floor below would overflow.
  if (time_ms < INT64_MIN + kPostingSpanMs) return INT64_MIN;
  int64_t q = time_ms / kPostingSpanMs;
  if (time_ms % kPostingSpanMs < 0) --q;  // floor, for times before 1970
  return q * kPostingSpanMs;
}

void AppendPostingPrefix(std::string* out, ActivityIndex index, std::string_view value) {
  out->push_back(static_cast<char>(static_cast<char>(index) - 'a' + 'A'));
  out->append(value);
  out->push_back('\0');
}

std::string PostingPrefix(ActivityIndex index, std::string_view value) {
  std::string key;
  key.reserve(value.size() + 2);
  AppendPostingPrefix(&key, index, value);
  return key;
}

void AppendPostingSeek(std::string* out, ActivityIndex index, std::string_view value,
                       int64_t bucket_ms) {
  AppendPostingPrefix(out, index, value);
  PutBigEndian64(out, static_cast<uint64_t>(bucket_ms) ^ kSignBit);
}

std::string PostingSeek(ActivityIndex index, std::string_view value, int64_t bucket_ms) {
  std::string key;
  AppendPostingSeek(&key, index, value, bucket_ms);
  return key;
}

void AppendPostingListId(std::string* key, uint64_t list_id) { PutBigEndian64(key, list_id); }

bool PostingBucketOf(std::string_view key, size_t prefix_size, int64_t* bucket_ms) {
  if (key.size() != prefix_size + 16) return false;
  *bucket_ms = static_cast<int64_t>(GetBigEndian64(key.substr(prefix_size, 8)) ^ kSignBit);
  return true;
}

void AppendCallRef(std::string* list, int64_t time_ms, std::string_view event_id) {
  PutBigEndian64(list, static_cast<uint64_t>(time_ms));
  PutString(list, event_id);
}

std::string FinishPostingList(uint32_t count, const std::string& refs) {
  std::string out;
  out.reserve(refs.size() + 5);
  PutVarint(&out, count);
  out.append(refs);
  return out;
}

namespace {
constexpr char kListWithCallsMark = '\0';
constexpr char kListWithCallsKind = '\1';
}  // namespace

void AppendCallWithRef(std::string* list, int64_t time_ms, std::string_view event_id,
                       std::string_view call) {
  AppendCallRef(list, time_ms, event_id);
  PutString(list, call);
}

std::string FinishPostingListWithCalls(uint32_t count, const std::string& entries) {
  std::string out;
  out.reserve(entries.size() + 7);
  out.push_back(kListWithCallsMark);
  out.push_back(kListWithCallsKind);
  PutVarint(&out, count);
  out.append(entries);
  return out;
}

bool DecodePostingList(std::string_view in, std::vector<CallRef>* refs) {
  bool with_calls = false;
  if (!in.empty() && in.front() == kListWithCallsMark) {
    if (in.size() < 2 || in[1] != kListWithCallsKind) return false;
    in.remove_prefix(2);
    with_calls = true;
  }
  uint32_t n = 0;
  if (!GetVarint(&in, &n) || n > in.size()) return false;
  refs->resize(n);
  for (CallRef& r : *refs) {
    uint32_t len = 0;
    if (!GetInt64(&in, &r.time_ms) || !GetVarint(&in, &len) || in.size() < len) return false;
    r.event_id = in.substr(0, len);
    in.remove_prefix(len);
    r.has_call = with_calls;
    r.call = std::string_view();
    if (with_calls) {
      if (!GetVarint(&in, &len) || in.size() < len) return false;
      r.call = in.substr(0, len);
      in.remove_prefix(len);
    }
  }
  return in.empty();
}

std::string RunKey(std::string_view run_id) {
  std::string key(1, kRunPrefix);
  key.append(run_id);
  return key;
}

std::string EncodeRun(const ActivityRun& run) {
  std::string out;
  out.push_back(static_cast<char>(kRunVersion));
  out.push_back(static_cast<char>(run.indexed ? 1 : 0));
  PutBigEndian64(&out, static_cast<uint64_t>(run.from_ms));
  PutBigEndian64(&out, static_cast<uint64_t>(run.to_ms));
  return out;
}

bool DecodeRun(std::string_view key, std::string_view in, ActivityRun* run) {
  if (key.empty() || key.front() != kRunPrefix) return false;
  if (in.size() != 18 || static_cast<uint8_t>(in[0]) != kRunVersion) return false;
  run->run_id.assign(key.substr(1));
  run->indexed = in[1] != 0;
  in.remove_prefix(2);
  return GetInt64(&in, &run->from_ms) && GetInt64(&in, &run->to_ms);
}

}  // namespace driftwatch::activity_format
