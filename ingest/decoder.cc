#include "ingest/decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "vocab/time_util.h"

namespace driftwatch {

// Key and string scans read 8-byte words and find the first match with a count of trailing zeros.
static_assert(std::endian::native == std::endian::little,
              "the decoder's word scans assume little-endian");
static_assert(Decoder::kPaddingBytes >= simdjson::SIMDJSON_PADDING,
              "Decoder::kPaddingBytes must cover simdjson's padding");

std::string_view InvalidReasonName(InvalidReason reason) {
  switch (reason) {
    case InvalidReason::kMalformedJson:
      return "malformed_json";
    case InvalidReason::kInvalidUtf8:
      return "invalid_utf8";
    case InvalidReason::kTooLarge:
      return "too_large";
    case InvalidReason::kTooDeep:
      return "too_deep";
    case InvalidReason::kUnknownEnvelope:
      return "unknown_envelope";
    case InvalidReason::kWrongType:
      return "wrong_type";
    case InvalidReason::kMissingField:
      return "missing_field";
  }
  return "unknown";
}

namespace {

namespace od = simdjson::ondemand;
using std::string_view;

// Envelopes may nest (SNS Message holding an EventBridge event, a Config rule invocation holding
// a notification); deeper nesting than this is not an AWS shape.
constexpr int kMaxEnvelopeNesting = 4;
// Objects scanned in place at once: root, detail / Message, configurationItem, an array element.
constexpr int kMaxScanDepth = 6;

// ---- Keys ------------------------------------------------------------------------------------

enum class Key : uint8_t {
  kOther,
  // Envelopes.
  kRecords,
  kDetailType,
  kDetail,
  kType,
  kMessage,
  kTimestamp,
  kMessageType,
  kConfigurationItem,
  kConfigurationItemSummary,
  kConfigurationItems,
  kInvokingEvent,
  kNotificationCreationTime,
  kNotificationCreateTime,
  kTime,
  kAccount,
  kRegion,
  // CloudTrail.
  kEventId,
  kEventTime,
  kEventSource,
  kEventName,
  kAwsRegion,
  kSourceIp,
  kUserAgent,
  kErrorCode,
  kRecipientAccountId,
  kReadOnly,
  kUserIdentity,
  kAdditionalEventData,
  kResources,
  kRequestParameters,
  kResponseElements,
  // Configuration items (both spellings) and compliance changes.
  kCiVersion,
  kAccountId,
  kArn,
  kCaptureTime,
  kCiStatus,
  kStateId,
  kResourceType,
  kResourceId,
  kConfigRuleName,
  kNewEvaluationResult,
  kConfigSnapshotId,
  kS3ObjectKey,
  // Inside userIdentity.
  kTypeLower,
  kAccessKeyId,
  kUserName,
  kInvokedBy,
  kSessionContext,
  kAttributes,
  kSessionIssuer,
  kMfaAuthenticated,
};

struct KeyEntry {
  string_view name;
  Key key;
};

constexpr KeyEntry kKeys[] = {
    {"Records", Key::kRecords},
    {"detail-type", Key::kDetailType},
    {"detail", Key::kDetail},
    {"Type", Key::kType},
    {"Message", Key::kMessage},
    {"Timestamp", Key::kTimestamp},
    {"messageType", Key::kMessageType},
    {"configurationItem", Key::kConfigurationItem},
    {"configurationItemSummary", Key::kConfigurationItemSummary},
    {"configurationItems", Key::kConfigurationItems},
    {"invokingEvent", Key::kInvokingEvent},
    {"notificationCreationTime", Key::kNotificationCreationTime},
    {"NotificationCreateTime", Key::kNotificationCreateTime},
    {"time", Key::kTime},
    {"account", Key::kAccount},
    {"region", Key::kRegion},
    {"eventID", Key::kEventId},
    {"eventId", Key::kEventId},
    {"eventTime", Key::kEventTime},
    {"eventSource", Key::kEventSource},
    {"eventName", Key::kEventName},
    {"awsRegion", Key::kAwsRegion},
    {"sourceIPAddress", Key::kSourceIp},
    {"userAgent", Key::kUserAgent},
    {"errorCode", Key::kErrorCode},
    {"recipientAccountId", Key::kRecipientAccountId},
    {"readOnly", Key::kReadOnly},
    {"userIdentity", Key::kUserIdentity},
    {"additionalEventData", Key::kAdditionalEventData},
    {"resources", Key::kResources},
    {"requestParameters", Key::kRequestParameters},
    {"responseElements", Key::kResponseElements},
    {"configurationItemVersion", Key::kCiVersion},
    {"version", Key::kCiVersion},
    {"awsAccountId", Key::kAccountId},
    {"accountId", Key::kAccountId},
    {"ARN", Key::kArn},
    {"arn", Key::kArn},
    {"configurationItemCaptureTime", Key::kCaptureTime},
    {"configurationItemStatus", Key::kCiStatus},
    {"configurationStateId", Key::kStateId},
    {"configurationStateID", Key::kStateId},
    {"resourceType", Key::kResourceType},
    {"resourceId", Key::kResourceId},
    {"configRuleName", Key::kConfigRuleName},
    {"newEvaluationResult", Key::kNewEvaluationResult},
    {"configSnapshotId", Key::kConfigSnapshotId},
    {"s3ObjectKey", Key::kS3ObjectKey},
    {"type", Key::kTypeLower},
    {"accessKeyId", Key::kAccessKeyId},
    {"userName", Key::kUserName},
    {"invokedBy", Key::kInvokedBy},
    {"sessionContext", Key::kSessionContext},
    {"attributes", Key::kAttributes},
    {"sessionIssuer", Key::kSessionIssuer},
    {"mfaAuthenticated", Key::kMfaAuthenticated},
};

// Keys are found by hashing their first eight bytes into an open-addressing table and comparing
// whole 8-byte words: a key costs a few word operations instead of a string compare per
// candidate. Reading whole words past a key is safe: a key is followed by at least `":x}` and
// the buffer by SIMDJSON_PADDING bytes.
constexpr size_t kMaxKeyWords = 4;  // longer keys are never ours

struct KeyWords {
  uint64_t w[kMaxKeyWords] = {};
  size_t len = 0;
};

inline uint64_t LoadWord(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

inline size_t KeyHash(uint64_t first_word, size_t len) {
  return static_cast<size_t>(((first_word ^ len) * 0x9E3779B97F4A7C15ULL) >> 55);  // 9 bits
}

class KeyTable {
 public:
  static constexpr size_t kSlots = 512;
  KeyTable() {
    for (const KeyEntry& e : kKeys) {
      KeyWords k;
      k.len = e.name.size();
      std::memcpy(k.w, e.name.data(), e.name.size());
      size_t slot = KeyHash(k.w[0], k.len);
      while (slots_[slot].len != 0) slot = (slot + 1) % kSlots;
      slots_[slot].words = k;
      slots_[slot].len = k.len;
      slots_[slot].key = e.key;
    }
  }
  Key Find(const KeyWords& k) const {
    if (k.len == 0 || k.len > 8 * kMaxKeyWords) return Key::kOther;
    size_t slot = KeyHash(k.w[0], k.len);
    const size_t words = (k.len + 7) / 8;
    while (slots_[slot].len != 0) {
      const Slot& s = slots_[slot];
      if (s.len == k.len) {
        bool same = true;
        for (size_t i = 0; i < words; ++i) same &= s.words.w[i] == k.w[i];
        if (same) return s.key;
      }
      slot = (slot + 1) % kSlots;
    }
    return Key::kOther;
  }

 private:
  struct Slot {
    KeyWords words;
    size_t len = 0;
    Key key = Key::kOther;
  };
  std::array<Slot, kSlots> slots_{};
};

const KeyTable& Keys() {
  static const KeyTable table;
  return table;
}

// Bytes of `w` equal to `c`, as the high bit of each byte (the SWAR "has byte" test; exact for
// the lowest match, which is all that is used).
inline uint64_t BytesEqual(uint64_t w, char c) {
  const uint64_t x = w ^ (0x0101010101010101ULL * static_cast<uint8_t>(c));
  return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

// The key as written in the JSON text, in words (escapes not decoded: no AWS key contains one,
// and an escaped key simply matches nothing). Stage 1 has validated that the closing quote
// exists.
inline __attribute__((always_inline)) KeyWords RawKey(od::field& field) {
  const char* p = field.key().raw();
  KeyWords k;
  for (size_t i = 0;; ++i) {
    const uint64_t w = LoadWord(p + 8 * i);
    const uint64_t quote = BytesEqual(w, '"');
    if (quote != 0) {
      const size_t at = static_cast<size_t>(__builtin_ctzll(quote)) / 8;
      k.len = 8 * i + at;
      if (i < kMaxKeyWords) k.w[i] = at == 0 ? 0 : w & (~0ULL >> (64 - 8 * at));
      return k;
    }
    if (i < kMaxKeyWords) k.w[i] = w;
  }
}

inline Key KeyOf(od::field& field) { return Keys().Find(RawKey(field)); }

inline string_view KeyText(od::field& field) {
  return string_view(field.key().raw(), RawKey(field).len);
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// A token's or value's text without the white space simdjson leaves after it.
std::string_view TokenText(std::string_view text) {
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoreCase(string_view a, string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool StartsWith(string_view s, string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool IsReadOnlyName(string_view name) {
  return StartsWith(name, "Describe") || StartsWith(name, "Get") || StartsWith(name, "List") ||
         StartsWith(name, "Head") || StartsWith(name, "Lookup");
}

InvalidReason ReasonFor(simdjson::error_code error) {
  switch (error) {
    case simdjson::UTF8_ERROR:
      return InvalidReason::kInvalidUtf8;
    case simdjson::DEPTH_ERROR:
      return InvalidReason::kTooDeep;
    case simdjson::CAPACITY:
      return InvalidReason::kTooLarge;
    case simdjson::INCORRECT_TYPE:
      return InvalidReason::kWrongType;
    default:
      return InvalidReason::kMalformedJson;
  }
}

const char* JsonTypeName(od::json_type type) {
  switch (type) {
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::null:
      return "null";
  }
  return "something else";
}

// What one cheap vectorised pass over a record tells before parsing it.
struct PreScan {
  size_t openers = 0;    // '{' and '[' bytes, inside strings or not: a bound on the depth
  bool compact = false;  // no whitespace next to a structural character (see below)
};

// Whitespace outside strings always touches one of {}[],: (two JSON tokens are never adjacent
// without one), so text with no whitespace byte next to any of those bytes — looked at without
// regard to strings — is already compact and its documents can be copied instead of minified.
// Strings holding ": " or ", " only cost a minify.
PreScan ScanBytesPortable(string_view text) {
  PreScan result;
  const char* p = text.data();
  size_t n = text.size();
#if defined(__SSE2__)
  // Per-byte opener counters (flushed before they can wrap) and an "any whitespace next to a
  // structural byte" accumulator; no per-block mask extraction.
  const __m128i zero = _mm_setzero_si128();
  const __m128i lower = _mm_set1_epi8(0x20);
  const __m128i open_brace = _mm_set1_epi8('{');   // '{' | 0x20 and '[' | 0x20
  const __m128i close_brace = _mm_set1_epi8('}');  // '}' | 0x20 and ']' | 0x20
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i colon = _mm_set1_epi8(':');
  __m128i counts = zero, spaced = zero, prev_ws = zero, prev_st = zero;
  uint64_t openers = 0;
  int pending = 0;
  auto step = [&](__m128i v) {
    const __m128i folded = _mm_or_si128(v, lower);
    const __m128i opens = _mm_cmpeq_epi8(folded, open_brace);
    const __m128i structural =
        _mm_or_si128(_mm_or_si128(opens, _mm_cmpeq_epi8(folded, close_brace)),
                     _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, colon)));
    // JSON text holds no control bytes but whitespace, so "<= 0x20" is whitespace.
    const __m128i ws = _mm_cmpeq_epi8(_mm_min_epu8(v, lower), v);
    const __m128i ws_before = _mm_or_si128(_mm_slli_si128(ws, 1), _mm_srli_si128(prev_ws, 15));
    const __m128i st_before =
        _mm_or_si128(_mm_slli_si128(structural, 1), _mm_srli_si128(prev_st, 15));
    spaced = _mm_or_si128(
        spaced, _mm_or_si128(_mm_and_si128(ws, st_before), _mm_and_si128(structural, ws_before)));
    counts = _mm_sub_epi8(counts, opens);
    prev_ws = ws;
    prev_st = structural;
    if (++pending == 255) {
      const __m128i sums = _mm_sad_epu8(counts, zero);
      openers += static_cast<uint64_t>(_mm_cvtsi128_si64(sums)) +
                 static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
      counts = zero;
      pending = 0;
    }
  };
  while (n >= 16) {
    step(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    p += 16;
    n -= 16;
  }
  if (n > 0) {
    alignas(16) char tail[16];
    std::memset(tail, 'x', sizeof tail);
    std::memcpy(tail, p, n);
    step(_mm_load_si128(reinterpret_cast<const __m128i*>(tail)));
  }
  const __m128i sums = _mm_sad_epu8(counts, zero);
  openers += static_cast<uint64_t>(_mm_cvtsi128_si64(sums)) +
             static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  result.openers = static_cast<size_t>(openers);
  result.compact = _mm_movemask_epi8(_mm_cmpeq_epi8(spaced, zero)) == 0xFFFF;
#else
  bool spaced = false;
  char prev = 'x';
  auto is_structural = [](char c) {
    return c == '{' || c == '[' || c == '}' || c == ']' || c == ',' || c == ':';
  };
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    result.openers += (c == '{') | (c == '[');
    if ((IsSpace(c) && is_structural(prev)) || (is_structural(c) && IsSpace(prev))) spaced = true;
    prev = c;
  }
  result.compact = !spaced;
#endif
  return result;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// The same pass, 32 bytes at a time, for CPUs with AVX2 (chosen at run time; the rest of the
// build stays baseline x86-64).
__attribute__((target("avx2"))) PreScan ScanBytesAvx2(string_view text) {
  PreScan result;
  const char* p = text.data();
  size_t n = text.size();
  const __m256i zero = _mm256_setzero_si256();
  const __m256i lower = _mm256_set1_epi8(0x20);
  const __m256i open_brace = _mm256_set1_epi8('{');
  const __m256i close_brace = _mm256_set1_epi8('}');
  const __m256i comma = _mm256_set1_epi8(',');
  const __m256i colon = _mm256_set1_epi8(':');
  __m256i counts = zero, spaced = zero, prev_ws = zero, prev_st = zero;
  uint64_t openers = 0;
  int pending = 0;
  char tail[32];
  while (n > 0) {
    __m256i v;
    if (n >= 32) {
      v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      p += 32;
      n -= 32;
    } else {
      std::memset(tail, 'x', sizeof tail);
      std::memcpy(tail, p, n);
      v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tail));
      n = 0;
    }
    const __m256i folded = _mm256_or_si256(v, lower);
    const __m256i opens = _mm256_cmpeq_epi8(folded, open_brace);
    const __m256i structural =
        _mm256_or_si256(_mm256_or_si256(opens, _mm256_cmpeq_epi8(folded, close_brace)),
                        _mm256_or_si256(_mm256_cmpeq_epi8(v, comma), _mm256_cmpeq_epi8(v, colon)));
    const __m256i ws = _mm256_cmpeq_epi8(_mm256_min_epu8(v, lower), v);
    // Each byte's predecessor, across the 128-bit lanes and from the previous block.
    const __m256i ws_before =
        _mm256_alignr_epi8(ws, _mm256_permute2x128_si256(prev_ws, ws, 0x21), 15);
    const __m256i st_before =
        _mm256_alignr_epi8(structural, _mm256_permute2x128_si256(prev_st, structural, 0x21), 15);
    spaced = _mm256_or_si256(spaced, _mm256_or_si256(_mm256_and_si256(ws, st_before),
                                                     _mm256_and_si256(structural, ws_before)));
    counts = _mm256_sub_epi8(counts, opens);
    prev_ws = ws;
    prev_st = structural;
    if (++pending == 255 || n == 0) {
      const __m256i sums = _mm256_sad_epu8(counts, zero);
      openers += static_cast<uint64_t>(_mm256_extract_epi64(sums, 0)) +
                 static_cast<uint64_t>(_mm256_extract_epi64(sums, 1)) +
                 static_cast<uint64_t>(_mm256_extract_epi64(sums, 2)) +
                 static_cast<uint64_t>(_mm256_extract_epi64(sums, 3));
      counts = zero;
      pending = 0;
    }
  }
  result.openers = static_cast<size_t>(openers);
  result.compact = _mm256_testz_si256(spaced, spaced) != 0;
  return result;
}

PreScan ScanBytes(string_view text) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2 ? ScanBytesAvx2(text) : ScanBytesPortable(text);
}
#else
PreScan ScanBytes(string_view text) { return ScanBytesPortable(text); }
#endif

// Whether `text` nests objects and arrays deeper than max_depth, ignoring brackets inside
// strings. `openers` (from ScanBytes) bounds the depth, so the exact walk is rarely needed.
bool DeeperThan(string_view text, size_t openers, size_t max_depth) {
  if (openers <= max_depth) return false;
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (++depth > max_depth) return true;
        break;
      case '}':
      case ']':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

// ---- Scanning --------------------------------------------------------------------------------

struct ResourceView {
  string_view type;
  string_view arn;
};

// What one JSON object held, for any shape the decoder knows. All views point into the input
// buffer or into the parser's string buffer: valid until the parser iterates another document.
struct Scan {
  const char* begin = nullptr;  // the object's JSON text
  const char* end = nullptr;

  // CloudTrail record.
  string_view event_id, event_time, event_source, event_name, aws_region, source_ip, user_agent,
      error_code, recipient_account;
  int read_only = -1;  // -1 absent
  string_view ui_type, ui_arn, ui_account, ui_access_key, ui_user_name, ui_invoked_by;
  string_view issuer_arn, issuer_user_name;
  bool mfa = false;
  size_t resources_begin = 0, resources_end = 0;  // into Impl::resources_
  // The JSON text of requestParameters, responseElements, resources and errorCode (indexed by
  // Event::RecordMember), for Event::members.
  string_view member[Event::kRecordMemberCount];

  // Envelopes.
  bool has_records = false, has_config_items = false, has_detail_type = false;
  bool has_message = false, has_config_item = false, has_summary = false;
  string_view detail_type, sns_type, message_type, env_time, env_account, env_region;
  string_view message_text, invoking_event;                       // JSON held in a string
  int detail = -1, message = -1, config_item = -1, summary = -1;  // child scans
  bool config_item_list = false;  // configurationItem was an array (emitted while scanning)

  // Configuration item / compliance change / Config notice.
  bool has_ci_version = false;
  string_view account_id, arn, capture_time, ci_status, state_id, resource_type, resource_id;
  string_view notification_time, config_rule, compliance_type, result_time, ordering_time;
  string_view snapshot_id, s3_object_key, qualifier_rule, qualifier_type, qualifier_id;

  // First problem found in this object (the record it belongs to is then invalid).
  bool bad = false;
  InvalidReason reason = InvalidReason::kMalformedJson;
  std::string problem;

  void Reset() {
    std::string keep = std::move(problem);
    *this = Scan();
    keep.clear();
    problem = std::move(keep);
  }
  void Fail(InvalidReason r, std::string what) {
    if (bad) return;
    bad = true;
    reason = r;
    problem = std::move(what);
  }
  bool LooksLikeCloudTrail() const { return !event_source.empty() && !event_name.empty(); }
  bool LooksLikeConfigItem() const {
    return !resource_type.empty() && !resource_id.empty() &&
           (!capture_time.empty() || !ci_status.empty() || has_ci_version);
  }
};

// Values shared down a chain of envelopes, used when the record itself lacks them.
struct EnvContext {
  std::string time;
  std::string account;
  std::string region;
};

}  // namespace

struct Decoder::Impl {
  explicit Impl(DecoderOptions o)
      : options(o), parser(o.max_record_bytes + simdjson::SIMDJSON_PADDING) {}

  DecoderOptions options;
  od::parser parser;
  // Reusable padded copy of the input (only used when the caller cannot promise padding).
  std::unique_ptr<char[]> buffer;
  size_t buffer_capacity = 0;
  // JSON held inside strings (SNS Message, invokingEvent), one padded buffer per nesting level.
  std::array<std::string, kMaxEnvelopeNesting + 1> nested;
  std::array<Scan, kMaxScanDepth> scans;
  int scan_top = 0;
  std::vector<ResourceView> resources;

  // Per-call state.
  od::document* doc = nullptr;
  simdjson::error_code fatal = simdjson::SUCCESS;
  const char* fatal_context = "";  // names the nested JSON a fatal error was found in
  bool compact = false;            // the text being decoded has no whitespace to minify away
  string_view origin;
  std::vector<Event>* out = nullptr;
  size_t* used = nullptr;
  DecodeResult* result = nullptr;
  int element = -1;  // index inside the container being decoded, for invalid records
  const EnvContext* ctx = nullptr;

  DecodeResult Run(string_view bytes, string_view origin_in, std::vector<Event>* out_in,
                   size_t* used_in, size_t padding);
  void DecodeText(const char* data, size_t len, size_t capacity, int nesting,
                  const EnvContext& ctx_in);

  // Scanning.
  int PushScan();
  void PopScan(int index) { scan_top = index; }
  bool ScanObject(od::value& value, int index, int depth);
  bool ScanObjectBody(od::object& object, int index, int depth);
  void ScanField(Key key, string_view name, od::value& value, int index, int depth);
  // How a field that should hold text is read. kString: a string (or null), anything else is
  // wrong_type. kId: a string or a number kept as its text (ids and account numbers arrive both
  // ways). kLenient: string or number, other types ignored (fields only used as fall-backs).
  enum Mode { kString, kId, kLenient };
  bool ReadText(od::value& value, string_view name, Scan& scan, string_view* out_text,
                Mode mode = kString);
  void ScanUserIdentity(od::value& value, Scan& scan);
  void ScanSessionContext(od::object& object, Scan& scan);
  void ScanAdditionalEventData(od::value& value, Scan& scan);
  void ScanResources(od::value& value, Scan& scan);
  void ScanEvaluationResult(od::value& value, Scan& scan);
  void ScanRecordList(od::value& value, Scan& parent, int depth, bool config_items);
  bool CheckFatal(simdjson::error_code error) {
    if (error == simdjson::SUCCESS) return false;
    if (fatal == simdjson::SUCCESS) fatal = error;
    return true;
  }

  // Interpretation.
  void Interpret(Scan& root, int nesting, const char* data);
  void InterpretNotification(Scan& scan, const char* what);
  void InterpretEventBridge(Scan& root);
  bool EmitApiCall(Scan& scan);
  bool EmitConfigItem(Scan& item, bool oversized);
  bool EmitCompliance(Scan& scan);
  bool EmitNotice(Scan& scan);
  Event& NextEvent();
  void Invalid(InvalidReason reason, std::string detail);
  void InvalidFromScan(const Scan& scan, const char* what);
  void SetDocument(const Scan& scan, Event* event);
};

namespace {

void ResetEvent(Event* e) {
  e->kind = EventKind::kApiCall;
  e->id.clear();
  e->time_ms = 0;
  e->account.clear();
  e->region.clear();
  Principal& p = e->principal;
  p.type.clear();
  p.arn.clear();
  p.account_id.clear();
  p.access_key_id.clear();
  p.user_name.clear();
  p.session_name.clear();
  p.issuer_arn.clear();
  p.invoked_by.clear();
  p.mfa_used = false;
  e->source_ip.clear();
  e->user_agent.clear();
  e->event_source.clear();
  e->event_name.clear();
  e->error_code.clear();
  e->read_only = false;
  e->resources.clear();
  e->config_status.clear();
  e->compliance_type.clear();
  e->config_rule.clear();
  e->document.clear();
  e->members_known = false;
  e->origin.clear();
}

void SetTime(string_view primary, string_view fallback1, string_view fallback2, Event* e) {
  int64_t ms = 0;
  if ((!primary.empty() && ParseTimestamp(primary, &ms)) ||
      (!fallback1.empty() && ParseTimestamp(fallback1, &ms)) ||
      (!fallback2.empty() && ParseTimestamp(fallback2, &ms))) {
    e->time_ms = ms;
  }
}

}  // namespace

Event& Decoder::Impl::NextEvent() {
  if (*used < out->size()) {
    Event& e = (*out)[*used];
    ResetEvent(&e);
    ++*used;
    return e;
  }
  out->emplace_back();
  ++*used;
  return out->back();
}

void Decoder::Impl::Invalid(InvalidReason reason, std::string detail) {
  result->invalid.push_back(InvalidRecord{reason, std::move(detail), element});
}

void Decoder::Impl::InvalidFromScan(const Scan& scan, const char* what) {
  std::string detail(what);
  detail += ": ";
  detail += scan.problem;
  Invalid(scan.reason, std::move(detail));
}

void Decoder::Impl::SetDocument(const Scan& scan, Event* event) {
  const char* begin = scan.begin;
  const char* end = scan.end;
  if (begin == nullptr || end == nullptr || end < begin) return;
  const size_t len = static_cast<size_t>(end - begin);
  std::string& doc = event->document;
  if (compact) {
    doc.assign(begin, len);
    // The document is the record's bytes: the members found in them keep their places.
    event->members_known = true;
    for (int m = 0; m < Event::kRecordMemberCount; ++m) {
      const string_view text = scan.member[m];
      Event::MemberSpan& span = event->members[m];
      span = Event::MemberSpan();
      if (text.data() == nullptr || text.empty()) continue;
      if (text.data() < begin || text.data() + text.size() > end || len > UINT32_MAX) {
        event->members_known = false;  // not where the document is: readers walk it instead
        continue;
      }
      span.offset = static_cast<uint32_t>(text.data() - begin);
      span.size = static_cast<uint32_t>(text.size());
    }
    return;
  }
  doc.resize(len);
  size_t written = 0;
  if (simdjson::minify(begin, len, doc.data(), written) == simdjson::SUCCESS) {
    doc.resize(written);
  } else {
    doc.assign(begin, len);
  }
}

// ---- Entry --------------------------------------------------------------------------------------

DecodeResult Decoder::Impl::Run(string_view bytes, string_view origin_in,
                                std::vector<Event>* out_in, size_t* used_in, size_t padding) {
  DecodeResult res;
  result = &res;
  out = out_in;
  used = used_in;
  origin = origin_in;
  element = -1;
  fatal = simdjson::SUCCESS;
  fatal_context = "";
  resources.clear();
  const size_t first = *used;

  if (bytes.size() > options.max_record_bytes) {
    Invalid(InvalidReason::kTooLarge, "record of " + std::to_string(bytes.size()) +
                                          " bytes is over the limit of " +
                                          std::to_string(options.max_record_bytes));
    return res;
  }
  const PreScan pre = ScanBytes(bytes);
  if (DeeperThan(bytes, pre.openers, options.max_depth)) {
    Invalid(InvalidReason::kTooDeep,
            "nesting deeper than " + std::to_string(options.max_depth) + " levels");
    return res;
  }
  const char* data = bytes.data();
  size_t capacity = bytes.size() + padding;
  if (padding < simdjson::SIMDJSON_PADDING) {
    const size_t need = bytes.size() + simdjson::SIMDJSON_PADDING;
    if (buffer_capacity < need) {
      buffer_capacity = std::max(need, buffer_capacity * 2);
      buffer.reset(new char[buffer_capacity]);
    }
    if (!bytes.empty()) std::memcpy(buffer.get(), bytes.data(), bytes.size());
    std::memset(buffer.get() + bytes.size(), 0, simdjson::SIMDJSON_PADDING);
    data = buffer.get();
    capacity = buffer_capacity;
  }
  static const EnvContext kNoContext;
  compact = pre.compact;
  DecodeText(data, bytes.size(), capacity, 0, kNoContext);

  if (fatal != simdjson::SUCCESS) {
    // A record whose JSON breaks part-way is rejected whole: events already taken from it are
    // withdrawn so that the dead letter holds everything the record carried.
    *used = first;
    res.events = 0;
    res.empty_containers = 0;
    InvalidRecord bad{ReasonFor(fatal),
                      std::string(fatal_context) + "JSON error: " + simdjson::error_message(fatal),
                      -1};
    res.invalid.clear();
    res.invalid.push_back(std::move(bad));
    return res;
  }
  for (size_t i = first; i < *used; ++i) (*out)[i].origin.assign(origin.data(), origin.size());
  res.events = *used - first;
  return res;
}

void Decoder::Impl::DecodeText(const char* data, size_t len, size_t capacity, int nesting,
                               const EnvContext& ctx_in) {
  ctx = &ctx_in;
  // Whole-document problems surface here: UTF-8, unclosed strings, empty input.
  auto doc_result = parser.iterate(data, len, capacity);
  od::document document;
  if (CheckFatal(std::move(doc_result).get(document))) return;
  doc = &document;

  od::json_type type;
  if (CheckFatal(document.type().get(type))) return;
  if (type != od::json_type::object) {
    // type() only peeks at the first byte: read the value through to tell "not JSON" apart
    // from "JSON, but not an event".
    simdjson::error_code error = simdjson::SUCCESS;
    switch (type) {
      case od::json_type::array: {
        od::array array;
        error = document.get_array().get(array);
        if (!error) {
          for (auto item : array) {
            if (item.error()) {
              error = item.error();
              break;
            }
          }
        }
        break;
      }
      case od::json_type::string:
        error = document.get_string().error();
        break;
      case od::json_type::number:
        error = document.get_double().error();
        break;
      case od::json_type::boolean:
        error = document.get_bool().error();
        break;
      case od::json_type::null:
        error = document.is_null().error();
        if (!error && !document.is_null().value_unsafe()) error = simdjson::N_ATOM_ERROR;
        break;
      default:
        break;
    }
    if (CheckFatal(error)) return;
    if (type == od::json_type::array && document.current_location().error() == simdjson::SUCCESS) {
      CheckFatal(simdjson::TRAILING_CONTENT);
      return;
    }
    Invalid(InvalidReason::kUnknownEnvelope,
            std::string("top level is ") + JsonTypeName(type) + ", not an AWS event object");
    return;
  }
  od::object object;
  if (CheckFatal(document.get_object().get(object))) return;

  scan_top = 0;
  const int root = PushScan();
  Scan& scan = scans[root];
  const char* begin = data;
  while (begin < data + len && IsSpace(*begin)) ++begin;
  scan.begin = begin;
  if (!ScanObjectBody(object, root, 0)) return;
  // The root must be the whole text: anything after it is malformed.
  const char* end = data + len;
  while (end > begin && IsSpace(end[-1])) --end;
  auto location = document.current_location();
  if (location.error() == simdjson::SUCCESS) {
    CheckFatal(simdjson::TRAILING_CONTENT);
    return;
  }
  scan.end = end;
  doc = nullptr;
  Interpret(scan, nesting, data);
}

int Decoder::Impl::PushScan() {
  const int index = scan_top++;
  scans[index].Reset();
  return index;
}

bool Decoder::Impl::ScanObject(od::value& value, int index, int depth) {
  Scan& scan = scans[index];
  scan.begin = value.raw_json_token().data();
  od::object object;
  if (CheckFatal(value.get_object().get(object))) return false;
  return ScanObjectBody(object, index, depth);
}

bool Decoder::Impl::ScanObjectBody(od::object& object, int index, int depth) {
  for (auto field_result : object) {
    if (CheckFatal(field_result.error())) return false;
    od::field& field = field_result.value_unsafe();
    const KeyWords words = RawKey(field);
    const Key key = Keys().Find(words);
    if (key == Key::kOther) continue;  // skipped unparsed by the iterator
    ScanField(key, string_view(field.key().raw(), words.len), field.value(), index, depth);
    if (fatal != simdjson::SUCCESS) return false;
  }
  if (depth > 0) {
    // The iterator now stands on the token after the closing brace.
    const char* next = nullptr;
    if (CheckFatal(doc->current_location().get(next))) return false;
    const char* end = next;
    while (end > scans[index].begin && IsSpace(end[-1])) --end;
    scans[index].end = end;
  }
  return true;
}

bool Decoder::Impl::ReadText(od::value& value, string_view name, Scan& scan, string_view* out_text,
                             Mode mode) {
  // The token's first byte tells its type without consuming it.
  const string_view token = value.raw_json_token();
  if (!token.empty() && token[0] == '"') {
    // Fast path: a string without escapes is its own text in the input (which outlives the
    // decode), so neither unescaping nor a copy into the parser's string buffer is needed.
    const char* p = token.data() + 1;
    for (size_t i = 0;; i += 8) {
      const uint64_t w = LoadWord(p + i);
      const uint64_t quote = BytesEqual(w, '"');
      const uint64_t escape = BytesEqual(w, '\\');
      if ((quote | escape) == 0) continue;
      if (quote != 0 && (escape == 0 || __builtin_ctzll(quote) < __builtin_ctzll(escape))) {
        *out_text = string_view(p, i + static_cast<size_t>(__builtin_ctzll(quote)) / 8);
        return true;
      }
      break;  // escaped: let simdjson unescape it
    }
    string_view s;
    if (CheckFatal(value.get_string().get(s))) return false;
    *out_text = s;
    return true;
  }
  od::json_type type;
  if (CheckFatal(value.type().get(type))) return false;
  switch (type) {
    case od::json_type::number: {
      if (mode == kString) break;
      string_view raw = token;
      while (!raw.empty() && IsSpace(raw.back())) raw.remove_suffix(1);
      *out_text = raw;
      return true;
    }
    case od::json_type::null:
      return true;
    default:
      break;
  }
  if (mode != kLenient) {
    scan.Fail(InvalidReason::kWrongType,
              std::string(name) + " is " + JsonTypeName(type) + ", expected a string");
  }
  return false;
}

void Decoder::Impl::ScanField(Key key, string_view name, od::value& value, int index, int depth) {
  Scan& s = scans[index];
  const bool envelope_level = depth < 3 && scan_top < kMaxScanDepth;
  switch (key) {
    case Key::kOther:
      return;
    case Key::kRecords:
      if (!envelope_level) return;
      s.has_records = true;
      ScanRecordList(value, s, depth, /*config_items=*/false);
      return;
    case Key::kConfigurationItems:
      if (!envelope_level) return;
      s.has_config_items = true;
      ScanRecordList(value, s, depth, /*config_items=*/true);
      return;
    case Key::kDetailType:
      s.has_detail_type = true;
      ReadText(value, name, s, &s.detail_type);
      return;
    case Key::kDetail:
    case Key::kMessage:
    case Key::kConfigurationItem:
    case Key::kConfigurationItemSummary: {
      if (!envelope_level) return;
      od::json_type type;
      if (CheckFatal(value.type().get(type))) return;
      if (key == Key::kMessage) s.has_message = true;
      if (key == Key::kConfigurationItem) s.has_config_item = true;
      if (key == Key::kConfigurationItemSummary) s.has_summary = true;
      if (type == od::json_type::null) return;
      if (key == Key::kMessage && type == od::json_type::string) {
        ReadText(value, name, s, &s.message_text);
        return;
      }
      if (key == Key::kConfigurationItem && type == od::json_type::array) {
        // Early notifications carried a list of items.
        s.config_item_list = true;
        ScanRecordList(value, s, depth, /*config_items=*/true);
        return;
      }
      if (type != od::json_type::object) {
        s.Fail(InvalidReason::kWrongType,
               std::string(name) + " is " + JsonTypeName(type) + ", expected an object");
        return;
      }
      const int child = PushScan();
      if (!ScanObject(value, child, depth + 1)) return;
      Scan& parent = scans[index];
      if (key == Key::kDetail) parent.detail = child;
      if (key == Key::kMessage) parent.message = child;
      if (key == Key::kConfigurationItem) parent.config_item = child;
      if (key == Key::kConfigurationItemSummary) parent.summary = child;
      return;
    }
    case Key::kType:
      ReadText(value, name, s, &s.sns_type, kLenient);
      return;
    case Key::kTimestamp:
    case Key::kTime:
      ReadText(value, name, s, &s.env_time, kLenient);
      return;
    case Key::kAccount:
      ReadText(value, name, s, &s.env_account, kLenient);
      return;
    case Key::kRegion:
      ReadText(value, name, s, &s.env_region, kLenient);
      return;
    case Key::kMessageType:
      ReadText(value, name, s, &s.message_type);
      return;
    case Key::kInvokingEvent:
      ReadText(value, name, s, &s.invoking_event);
      return;
    case Key::kNotificationCreationTime:
    case Key::kNotificationCreateTime:
      ReadText(value, name, s, &s.notification_time, kLenient);
      return;
    case Key::kEventId:
      ReadText(value, name, s, &s.event_id, kId);
      return;
    case Key::kEventTime:
      ReadText(value, name, s, &s.event_time);
      return;
    case Key::kEventSource:
      ReadText(value, name, s, &s.event_source);
      return;
    case Key::kEventName:
      ReadText(value, name, s, &s.event_name);
      return;
    case Key::kAwsRegion:
      ReadText(value, name, s, &s.aws_region);
      return;
    case Key::kSourceIp:
      ReadText(value, name, s, &s.source_ip, kLenient);
      return;
    case Key::kUserAgent:
      ReadText(value, name, s, &s.user_agent, kLenient);
      return;
    case Key::kErrorCode:
      s.member[Event::kErrorCode] = TokenText(value.raw_json_token());
      ReadText(value, name, s, &s.error_code);
      return;
    case Key::kRecipientAccountId:
      ReadText(value, name, s, &s.recipient_account, kId);
      return;
    case Key::kReadOnly: {
      od::json_type type;
      if (CheckFatal(value.type().get(type))) return;
      if (type == od::json_type::boolean) {
        bool b = false;
        if (CheckFatal(value.get_bool().get(b))) return;
        s.read_only = b ? 1 : 0;
      } else if (type == od::json_type::string) {
        string_view text;
        if (CheckFatal(value.get_string().get(text))) return;
        if (EqualsIgnoreCase(text, "true")) s.read_only = 1;
        if (EqualsIgnoreCase(text, "false")) s.read_only = 0;
      }
      return;
    }
    case Key::kUserIdentity:
      ScanUserIdentity(value, s);
      return;
    case Key::kAdditionalEventData:
      ScanAdditionalEventData(value, s);
      return;
    case Key::kResources:
      ScanResources(value, s);
      return;
    case Key::kRequestParameters:
    case Key::kResponseElements: {
      // Not read here (rules read them from the document), but they must be objects or null.
      od::json_type type;
      if (CheckFatal(value.type().get(type))) return;
      if (type != od::json_type::object && type != od::json_type::null) {
        s.Fail(InvalidReason::kWrongType,
               std::string(name) + " is " + JsonTypeName(type) + ", expected an object or null");
        return;
      }
      const int m = key == Key::kRequestParameters ? Event::kRequestParameters
                                                   : Event::kResponseElements;
      if (type == od::json_type::null) {
        s.member[m] = TokenText(value.raw_json_token());
        return;
      }
      // Its text, as the iterator passes over it (it would skip it otherwise).
      od::object object;
      if (CheckFatal(value.get_object().get(object))) return;
      string_view text;
      if (CheckFatal(object.raw_json().get(text))) return;
      s.member[m] = TokenText(text);
      return;
    }
    case Key::kCiVersion:
      s.has_ci_version = true;
      return;
    case Key::kAccountId:
      ReadText(value, name, s, &s.account_id, kLenient);
      return;
    case Key::kArn:
      ReadText(value, name, s, &s.arn, kLenient);
      return;
    case Key::kCaptureTime:
      ReadText(value, name, s, &s.capture_time, kLenient);
      return;
    case Key::kCiStatus:
      ReadText(value, name, s, &s.ci_status);
      return;
    case Key::kStateId:
      ReadText(value, name, s, &s.state_id, kLenient);
      return;
    case Key::kResourceType:
      ReadText(value, name, s, &s.resource_type);
      return;
    case Key::kResourceId:
      ReadText(value, name, s, &s.resource_id, kId);
      return;
    case Key::kConfigRuleName:
      ReadText(value, name, s, &s.config_rule);
      return;
    case Key::kNewEvaluationResult:
      ScanEvaluationResult(value, s);
      return;
    case Key::kConfigSnapshotId:
      ReadText(value, name, s, &s.snapshot_id, kLenient);
      return;
    case Key::kS3ObjectKey:
      ReadText(value, name, s, &s.s3_object_key, kLenient);
      return;
    case Key::kTypeLower:
    case Key::kAccessKeyId:
    case Key::kUserName:
    case Key::kInvokedBy:
    case Key::kSessionContext:
    case Key::kAttributes:
    case Key::kSessionIssuer:
    case Key::kMfaAuthenticated:
      return;  // only meaningful inside userIdentity
  }
}

void Decoder::Impl::ScanUserIdentity(od::value& value, Scan& s) {
  od::json_type type;
  if (CheckFatal(value.type().get(type))) return;
  if (type == od::json_type::null) return;
  if (type != od::json_type::object) {
    s.Fail(InvalidReason::kWrongType,
           std::string("userIdentity is ") + JsonTypeName(type) + ", expected an object");
    return;
  }
  od::object object;
  if (CheckFatal(value.get_object().get(object))) return;
  for (auto field_result : object) {
    if (CheckFatal(field_result.error())) return;
    od::field& field = field_result.value_unsafe();
    const Key key = KeyOf(field);
    if (key == Key::kOther) continue;
    od::value v = field.value();
    switch (key) {
      case Key::kTypeLower:
        ReadText(v, "type", s, &s.ui_type, kLenient);
        break;
      case Key::kArn:
        ReadText(v, "arn", s, &s.ui_arn, kLenient);
        break;
      case Key::kAccountId:
        ReadText(v, "accountId", s, &s.ui_account, kLenient);
        break;
      case Key::kAccessKeyId:
        ReadText(v, "accessKeyId", s, &s.ui_access_key, kLenient);
        break;
      case Key::kUserName:
        ReadText(v, "userName", s, &s.ui_user_name, kLenient);
        break;
      case Key::kInvokedBy:
        ReadText(v, "invokedBy", s, &s.ui_invoked_by, kLenient);
        break;
      case Key::kSessionContext: {
        od::json_type t;
        if (CheckFatal(v.type().get(t))) return;
        if (t == od::json_type::object) {
          od::object context;
          if (CheckFatal(v.get_object().get(context))) return;
          ScanSessionContext(context, s);
        }
        break;
      }
      default:
        break;
    }
    if (fatal != simdjson::SUCCESS) return;
  }
}

void Decoder::Impl::ScanSessionContext(od::object& object, Scan& s) {
  for (auto field_result : object) {
    if (CheckFatal(field_result.error())) return;
    od::field& field = field_result.value_unsafe();
    const Key k = KeyOf(field);
    if (k != Key::kAttributes && k != Key::kSessionIssuer) continue;
    od::value v = field.value();
    od::json_type t;
    if (CheckFatal(v.type().get(t))) return;
    if (t != od::json_type::object) continue;
    od::object inner;
    if (CheckFatal(v.get_object().get(inner))) return;
    const bool attributes = k == Key::kAttributes;
    for (auto inner_result : inner) {
      if (CheckFatal(inner_result.error())) return;
      od::field& f = inner_result.value_unsafe();
      const Key ik = KeyOf(f);
      if (ik == Key::kOther) continue;
      od::value iv = f.value();
      if (attributes && ik == Key::kMfaAuthenticated) {
        string_view text;
        if (ReadText(iv, "mfaAuthenticated", s, &text, kLenient) && text == "true") s.mfa = true;
      } else if (!attributes && ik == Key::kArn) {
        ReadText(iv, "arn", s, &s.issuer_arn, kLenient);
      } else if (!attributes && ik == Key::kUserName) {
        ReadText(iv, "userName", s, &s.issuer_user_name, kLenient);
      }
      if (fatal != simdjson::SUCCESS) return;
    }
  }
}

void Decoder::Impl::ScanAdditionalEventData(od::value& value, Scan& s) {
  od::json_type type;
  if (CheckFatal(value.type().get(type))) return;
  if (type != od::json_type::object) return;  // sometimes a string; nothing to read then
  od::object object;
  if (CheckFatal(value.get_object().get(object))) return;
  for (auto field_result : object) {
    if (CheckFatal(field_result.error())) return;
    od::field& field = field_result.value_unsafe();
    if (!field.key().unsafe_is_equal("MFAUsed")) continue;
    string_view text;
    if (ReadText(field.value(), "MFAUsed", s, &text, kLenient) && EqualsIgnoreCase(text, "yes")) {
      s.mfa = true;
    }
    if (fatal != simdjson::SUCCESS) return;
  }
}

void Decoder::Impl::ScanResources(od::value& value, Scan& s) {
  od::json_type type;
  if (CheckFatal(value.type().get(type))) return;
  if (type == od::json_type::null) {
    s.member[Event::kResources] = TokenText(value.raw_json_token());
    return;
  }
  if (type != od::json_type::array) {
    s.Fail(InvalidReason::kWrongType,
           std::string("resources is ") + JsonTypeName(type) + ", expected an array");
    return;
  }
  const char* text_begin = value.raw_json_token().data();
  od::array array;
  if (CheckFatal(value.get_array().get(array))) return;
  s.resources_begin = resources.size();
  for (auto element_result : array) {
    od::value element;
    if (CheckFatal(std::move(element_result).get(element))) return;
    od::json_type t;
    if (CheckFatal(element.type().get(t))) return;
    if (t != od::json_type::object) continue;  // EventBridge lists ARNs as strings
    od::object object;
    if (CheckFatal(element.get_object().get(object))) return;
    ResourceView r;
    for (auto field_result : object) {
      if (CheckFatal(field_result.error())) return;
      od::field& field = field_result.value_unsafe();
      const string_view k = KeyText(field);
      if (k == "ARN" || k == "arn") {
        ReadText(field.value(), k, s, &r.arn, kLenient);
      } else if (k == "type") {
        ReadText(field.value(), k, s, &r.type, kLenient);
      }
      if (fatal != simdjson::SUCCESS) return;
    }
    resources.push_back(r);
  }
  s.resources_end = resources.size();
  // The iterator now stands on the token after the closing bracket.
  const char* next = nullptr;
  if (CheckFatal(doc->current_location().get(next))) return;
  if (text_begin != nullptr && next > text_begin) {
    s.member[Event::kResources] =
        TokenText(string_view(text_begin, static_cast<size_t>(next - text_begin)));
  }
}

void Decoder::Impl::ScanEvaluationResult(od::value& value, Scan& s) {
  od::json_type type;
  if (CheckFatal(value.type().get(type))) return;
  if (type == od::json_type::null) return;
  if (type != od::json_type::object) {
    s.Fail(InvalidReason::kWrongType,
           std::string("newEvaluationResult is ") + JsonTypeName(type) + ", expected an object");
    return;
  }
  od::object object;
  if (CheckFatal(value.get_object().get(object))) return;
  for (auto field_result : object) {
    if (CheckFatal(field_result.error())) return;
    od::field& field = field_result.value_unsafe();
    const string_view k = KeyText(field);
    od::value v = field.value();
    if (k == "complianceType") {
      ReadText(v, k, s, &s.compliance_type);
    } else if (k == "resultRecordedTime") {
      ReadText(v, k, s, &s.result_time, kLenient);
    } else if (k == "evaluationResultIdentifier") {
      od::json_type t;
      if (CheckFatal(v.type().get(t))) return;
      if (t != od::json_type::object) continue;
      od::object identifier;
      if (CheckFatal(v.get_object().get(identifier))) return;
      for (auto id_result : identifier) {
        if (CheckFatal(id_result.error())) return;
        od::field& f = id_result.value_unsafe();
        const string_view ik = KeyText(f);
        od::value iv = f.value();
        if (ik == "orderingTimestamp") {
          ReadText(iv, ik, s, &s.ordering_time, kLenient);
        } else if (ik == "evaluationResultQualifier") {
          od::json_type qt;
          if (CheckFatal(iv.type().get(qt))) return;
          if (qt != od::json_type::object) continue;
          od::object qualifier;
          if (CheckFatal(iv.get_object().get(qualifier))) return;
          for (auto q_result : qualifier) {
            if (CheckFatal(q_result.error())) return;
            od::field& qf = q_result.value_unsafe();
            const string_view qk = KeyText(qf);
            if (qk == "configRuleName") {
              ReadText(qf.value(), qk, s, &s.qualifier_rule, kLenient);
            } else if (qk == "resourceType") {
              ReadText(qf.value(), qk, s, &s.qualifier_type, kLenient);
            } else if (qk == "resourceId") {
              ReadText(qf.value(), qk, s, &s.qualifier_id, kLenient);
            }
            if (fatal != simdjson::SUCCESS) return;
          }
        }
        if (fatal != simdjson::SUCCESS) return;
      }
    }
    if (fatal != simdjson::SUCCESS) return;
  }
}

// Records[] of a CloudTrail log file, or the configuration items of a snapshot / notification.
// Each element becomes an event as soon as it is scanned; a bad element is reported on its own
// and the others are kept.
void Decoder::Impl::ScanRecordList(od::value& value, Scan& parent, int depth, bool config_items) {
  const char* name = config_items ? "configurationItems" : "Records";
  od::json_type type;
  if (CheckFatal(value.type().get(type))) return;
  if (type != od::json_type::array) {
    parent.Fail(InvalidReason::kWrongType,
                std::string(name) + " is " + JsonTypeName(type) + ", expected an array");
    return;
  }
  od::array array;
  if (CheckFatal(value.get_array().get(array))) return;
  const int saved_element = element;
  int index = 0;
  for (auto element_result : array) {
    od::value item;
    if (CheckFatal(std::move(element_result).get(item))) return;
    element = index++;
    od::json_type t;
    if (CheckFatal(item.type().get(t))) return;
    if (t != od::json_type::object) {
      Invalid(InvalidReason::kWrongType,
              std::string(name) + " element is " + JsonTypeName(t) + ", expected an object");
      continue;
    }
    const int child = PushScan();
    if (!ScanObject(item, child, depth + 1)) return;
    Scan& scan = scans[child];
    if (config_items) {
      if (scan.bad) {
        InvalidFromScan(scan, "configuration item");
      } else if (scan.resource_type.empty() || scan.resource_id.empty()) {
        Invalid(InvalidReason::kMissingField, "configuration item without resourceType/resourceId");
      } else {
        EmitConfigItem(scan, false);
      }
    } else {
      if (scan.bad) {
        InvalidFromScan(scan, "CloudTrail record");
      } else if (!scan.LooksLikeCloudTrail()) {
        Invalid(InvalidReason::kMissingField, "CloudTrail record without eventSource/eventName");
      } else {
        EmitApiCall(scan);
      }
    }
    PopScan(child);
    resources.clear();
  }
  if (index == 0) ++result->empty_containers;
  element = saved_element;
}

// ---- Interpretation --------------------------------------------------------------------------

void Decoder::Impl::Interpret(Scan& root, int nesting, const char* data) {
  if (root.has_records || root.has_config_items) {
    // Elements were turned into events while scanning; only the container itself can be bad.
    if (root.bad) InvalidFromScan(root, root.has_records ? "CloudTrail log file" : "snapshot");
    return;
  }
  if (root.has_detail_type) {
    InterpretEventBridge(root);
    return;
  }
  if (root.has_message && (root.sns_type == "Notification" || root.message >= 0)) {
    if (root.bad) {
      InvalidFromScan(root, "SNS envelope");
      return;
    }
    if (root.message >= 0) {
      // Message carried as an object rather than a string: read it the same way.
      Scan& inner = scans[root.message];
      if (inner.env_time.empty()) inner.env_time = root.env_time;
      Interpret(inner, nesting, data);
      return;
    }
    if (root.message_text.empty()) {
      Invalid(InvalidReason::kMissingField, "SNS envelope without a Message");
      return;
    }
    if (nesting >= kMaxEnvelopeNesting) {
      Invalid(InvalidReason::kTooDeep,
              "envelopes nested more than " + std::to_string(kMaxEnvelopeNesting) + " deep");
      return;
    }
    EnvContext context{std::string(root.env_time), std::string(root.env_account),
                       std::string(root.env_region)};
    if (context.time.empty()) context.time = ctx->time;
    std::string& buf = nested[nesting + 1];
    const size_t len = root.message_text.size();
    buf.assign(root.message_text.data(), len);
    buf.append(simdjson::SIMDJSON_PADDING, '\0');
    const PreScan nested_pre = ScanBytes(string_view(buf.data(), len));
    if (DeeperThan(string_view(buf.data(), len), nested_pre.openers, options.max_depth)) {
      Invalid(InvalidReason::kTooDeep, "SNS Message nests deeper than the limit");
      return;
    }
    fatal_context = "SNS Message: ";
    compact = nested_pre.compact;
    DecodeText(buf.data(), len, buf.size(), nesting + 1, context);
    return;
  }
  if (!root.message_type.empty() || (root.has_config_item && !root.LooksLikeCloudTrail())) {
    InterpretNotification(root, "Config notification");
    return;
  }
  if (!root.invoking_event.empty()) {
    // A Config rule invocation (the Lambda event): the notification is a JSON string.
    if (root.bad) {
      InvalidFromScan(root, "Config rule invocation");
      return;
    }
    if (nesting >= kMaxEnvelopeNesting) {
      Invalid(InvalidReason::kTooDeep, "envelopes nested too deep");
      return;
    }
    EnvContext context{std::string(ctx->time), std::string(root.account_id), ""};
    std::string& buf = nested[nesting + 1];
    const size_t len = root.invoking_event.size();
    buf.assign(root.invoking_event.data(), len);
    buf.append(simdjson::SIMDJSON_PADDING, '\0');
    const PreScan nested_pre = ScanBytes(string_view(buf.data(), len));
    if (DeeperThan(string_view(buf.data(), len), nested_pre.openers, options.max_depth)) {
      Invalid(InvalidReason::kTooDeep, "invokingEvent nests deeper than the limit");
      return;
    }
    fatal_context = "invokingEvent: ";
    compact = nested_pre.compact;
    DecodeText(buf.data(), len, buf.size(), nesting + 1, context);
    return;
  }
  if (root.LooksLikeCloudTrail()) {
    if (root.bad) {
      InvalidFromScan(root, "CloudTrail record");
      return;
    }
    EmitApiCall(root);
    return;
  }
  if (root.LooksLikeConfigItem()) {
    if (root.bad) {
      InvalidFromScan(root, "configuration item");
      return;
    }
    EmitConfigItem(root, false);
    return;
  }
  if (root.bad) {
    InvalidFromScan(root, "record");
    return;
  }
  if (!root.event_source.empty() || !root.event_name.empty()) {
    Invalid(InvalidReason::kMissingField, root.event_name.empty()
                                              ? "CloudTrail record without eventName"
                                              : "CloudTrail record without eventSource");
    return;
  }
  Invalid(InvalidReason::kUnknownEnvelope,
          "no known AWS event shape (CloudTrail record or log "
          "file, EventBridge, SNS or AWS Config)");
}

void Decoder::Impl::InterpretEventBridge(Scan& root) {
  if (root.bad) {
    InvalidFromScan(root, "EventBridge envelope");
    return;
  }
  if (root.detail < 0) {
    Invalid(InvalidReason::kMissingField, "EventBridge envelope without a detail object");
    return;
  }
  Scan& detail = scans[root.detail];
  if (detail.bad) {
    InvalidFromScan(detail, "EventBridge detail");
    return;
  }
  // Fall-backs from the envelope.
  if (detail.env_time.empty()) detail.env_time = root.env_time;
  if (detail.env_account.empty()) detail.env_account = root.env_account;
  if (detail.env_region.empty()) detail.env_region = root.env_region;
  const string_view dt = root.detail_type;
  if (dt == "AWS API Call via CloudTrail" || dt == "AWS Console Sign In via CloudTrail") {
    if (!detail.LooksLikeCloudTrail()) {
      Invalid(InvalidReason::kMissingField,
              "EventBridge CloudTrail detail without eventSource/eventName");
      return;
    }
    EmitApiCall(detail);
    return;
  }
  if (dt == "Config Configuration Item Change" || dt == "Config Rules Compliance Change") {
    InterpretNotification(detail, "EventBridge Config detail");
    return;
  }
  // Other or placeholder detail-types: go by what the detail holds.
  if (detail.LooksLikeCloudTrail()) {
    EmitApiCall(detail);
  } else if (!detail.message_type.empty() || detail.has_config_item || detail.has_summary) {
    InterpretNotification(detail, "EventBridge detail");
  } else {
    Invalid(InvalidReason::kUnknownEnvelope,
            "EventBridge detail-type '" + std::string(dt.substr(0, 80)) + "' is not understood");
  }
}

void Decoder::Impl::InterpretNotification(Scan& s, const char* what) {
  if (s.bad) {
    InvalidFromScan(s, what);
    return;
  }
  const string_view type = s.message_type;
  if (type == "ConfigurationItemChangeNotification" ||
      (type.empty() && (s.has_config_item || s.has_summary))) {
    if (s.config_item_list) return;  // items emitted while scanning
    if (s.config_item >= 0) {
      Scan& item = scans[s.config_item];
      if (item.bad) {
        InvalidFromScan(item, "configuration item");
      } else if (item.resource_type.empty() || item.resource_id.empty()) {
        Invalid(InvalidReason::kMissingField, "configuration item without resourceType/resourceId");
      } else {
        if (item.notification_time.empty()) item.notification_time = s.notification_time;
        EmitConfigItem(item, false);
      }
      return;
    }
    if (s.summary >= 0 && type.empty()) {
      Scan& item = scans[s.summary];
      if (item.notification_time.empty()) item.notification_time = s.notification_time;
      EmitConfigItem(item, true);
      return;
    }
    Invalid(InvalidReason::kMissingField,
            "ConfigurationItemChangeNotification without a configurationItem");
    return;
  }
  if (type == "OversizedConfigurationItemChangeNotification") {
    if (s.summary < 0) {
      Invalid(InvalidReason::kMissingField,
              "OversizedConfigurationItemChangeNotification without configurationItemSummary");
      return;
    }
    Scan& item = scans[s.summary];
    if (item.bad) {
      InvalidFromScan(item, "configurationItemSummary");
      return;
    }
    if (item.resource_type.empty() || item.resource_id.empty()) {
      Invalid(InvalidReason::kMissingField,
              "configurationItemSummary without resourceType/resourceId");
      return;
    }
    if (item.notification_time.empty()) item.notification_time = s.notification_time;
    EmitConfigItem(item, true);
    return;
  }
  if (type == "ComplianceChangeNotification") {
    EmitCompliance(s);
    return;
  }
  // Delivery notices and rule-evaluation notices carry no resource change; they are kept as
  // read-only Config events so that nothing is dropped and rules may still count them.
  EmitNotice(s);
}

bool Decoder::Impl::EmitApiCall(Scan& s) {
  Event& e = NextEvent();
  e.kind = EventKind::kApiCall;
  e.id.assign(s.event_id);
  SetTime(s.event_time, s.env_time, ctx->time, &e);
  if (!s.recipient_account.empty()) {
    e.account.assign(s.recipient_account);
  } else if (!s.ui_account.empty()) {
    e.account.assign(s.ui_account);
  } else if (!s.env_account.empty()) {
    e.account.assign(s.env_account);
  } else {
    e.account.assign(ctx->account);
  }
  if (!s.aws_region.empty()) {
    e.region.assign(s.aws_region);
  } else if (!s.env_region.empty()) {
    e.region.assign(s.env_region);
  } else {
    e.region.assign(ctx->region);
  }
  Principal& p = e.principal;
  p.type.assign(s.ui_type);
  p.arn.assign(s.ui_arn);
  p.account_id.assign(s.ui_account);
  p.access_key_id.assign(s.ui_access_key);
  p.user_name.assign(s.ui_user_name.empty() ? s.issuer_user_name : s.ui_user_name);
  if (s.ui_type == "AssumedRole" || s.ui_arn.find(":assumed-role/") != string_view::npos) {
    const size_t slash = s.ui_arn.rfind('/');
    if (slash != string_view::npos) p.session_name.assign(s.ui_arn.substr(slash + 1));
  }
  p.issuer_arn.assign(s.issuer_arn);
  p.invoked_by.assign(s.ui_invoked_by);
  p.mfa_used = s.mfa;
  e.source_ip.assign(s.source_ip);
  e.user_agent.assign(s.user_agent);
  e.event_source.assign(s.event_source);
  e.event_name.assign(s.event_name);
  e.error_code.assign(s.error_code);
  e.read_only = s.read_only >= 0 ? s.read_only == 1 : IsReadOnlyName(s.event_name);
  if (s.event_source == kControlEventSource) e.kind = EventKind::kControl;
  for (size_t i = s.resources_begin; i < s.resources_end && i < resources.size(); ++i) {
    ResourceRef& r = e.resources.emplace_back();
    r.type.assign(resources[i].type);
    r.arn.assign(resources[i].arn);
  }
  SetDocument(s, &e);
  return true;
}

bool Decoder::Impl::EmitConfigItem(Scan& item, bool oversized) {
  Event& e = NextEvent();
  e.kind = EventKind::kConfigItem;
  e.id.reserve(item.resource_type.size() + item.resource_id.size() + 40);
  e.id.assign(item.resource_type).append(1, '/').append(item.resource_id).append(1, '/');
  e.id.append(!item.state_id.empty() ? item.state_id : item.capture_time);
  SetTime(item.capture_time, item.notification_time,
          item.env_time.empty() ? ctx->time : item.env_time, &e);
  e.account.assign(!item.account_id.empty() ? item.account_id : string_view(ctx->account));
  e.region.assign(!item.aws_region.empty() ? item.aws_region : string_view(ctx->region));
  e.event_source.assign("config.amazonaws.com");
  e.event_name.assign("ConfigurationItemChange");
  e.config_status.assign(item.ci_status);
  ResourceRef& r = e.resources.emplace_back();
  r.type.assign(item.resource_type);
  r.id.assign(item.resource_id);
  r.arn.assign(item.arn);
  (void)oversized;  // the summary has no configuration; the document says so by itself
  SetDocument(item, &e);
  return true;
}

bool Decoder::Impl::EmitCompliance(Scan& s) {
  const string_view rule = !s.config_rule.empty() ? s.config_rule : s.qualifier_rule;
  const string_view type = !s.resource_type.empty() ? s.resource_type : s.qualifier_type;
  const string_view id = !s.resource_id.empty() ? s.resource_id : s.qualifier_id;
  if (rule.empty() || type.empty() || id.empty()) {
    Invalid(InvalidReason::kMissingField,
            "ComplianceChangeNotification without configRuleName/resourceType/resourceId");
    return false;
  }
  if (s.compliance_type.empty()) {
    Invalid(InvalidReason::kMissingField,
            "ComplianceChangeNotification without newEvaluationResult.complianceType");
    return false;
  }
  string_view time = s.notification_time;
  if (time.empty()) time = s.result_time;
  if (time.empty()) time = s.ordering_time;
  if (time.empty()) time = s.env_time;
  if (time.empty()) time = ctx->time;
  Event& e = NextEvent();
  e.kind = EventKind::kComplianceChange;
  e.id.assign(rule).append(1, '/').append(type).append(1, '/').append(id).append(1, '/');
  e.id.append(time);
  SetTime(time, {}, {}, &e);
  e.account.assign(!s.account_id.empty() ? s.account_id : string_view(ctx->account));
  e.region.assign(!s.aws_region.empty() ? s.aws_region : string_view(ctx->region));
  e.event_source.assign("config.amazonaws.com");
  e.event_name.assign("ComplianceChange");
  e.compliance_type.assign(s.compliance_type);
  e.config_rule.assign(rule);
  ResourceRef& r = e.resources.emplace_back();
  r.type.assign(type);
  r.id.assign(id);
  SetDocument(s, &e);
  return true;
}

bool Decoder::Impl::EmitNotice(Scan& s) {
  Event& e = NextEvent();
  e.kind = EventKind::kApiCall;
  const string_view time =
      !s.notification_time.empty() ? s.notification_time : string_view(ctx->time);
  string_view what = s.snapshot_id;
  if (what.empty()) what = s.s3_object_key;
  if (what.empty()) what = time;
  e.id.assign(s.message_type).append(1, '/').append(s.account_id).append(1, '/').append(what);
  SetTime(time, s.env_time, {}, &e);
  e.account.assign(!s.account_id.empty() ? s.account_id : string_view(ctx->account));
  e.region.assign(!s.aws_region.empty() ? s.aws_region : string_view(ctx->region));
  e.event_source.assign("config.amazonaws.com");
  e.event_name.assign(s.message_type);
  e.read_only = true;
  SetDocument(s, &e);
  return true;
}

// ---- Decoder ------------------------------------------------------------------------------------

Decoder::Decoder(DecoderOptions options) : impl_(std::make_unique<Impl>(options)) {}
Decoder::~Decoder() = default;

DecodeResult Decoder::Decode(std::string_view bytes, std::string_view origin,
                             std::vector<Event>* out) {
  size_t used = out->size();
  DecodeResult result = impl_->Run(bytes, origin, out, &used, 0);
  out->resize(used);
  return result;
}

DecodeResult Decoder::DecodeInto(std::string_view bytes, std::string_view origin,
                                 std::vector<Event>* out, size_t* used, size_t padding) {
  if (*used > out->size()) *used = out->size();
  return impl_->Run(bytes, origin, out, used, padding);
}

}  // namespace driftwatch
