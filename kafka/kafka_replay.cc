#include "kafka/kafka_replay.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "kafka/kafka_conf_internal.h"
#include "kafka/kafka_source.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

constexpr int kRequestTimeoutMs = 10000;
constexpr auto kNoProgressLimit = std::chrono::seconds(30);

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

bool ParseTime(const std::string& text, int64_t* out) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    *out = std::strtoll(text.c_str(), nullptr, 10);
    return true;
  }
  return ParseTimestamp(text, out);
}

}  // namespace

bool IsKafkaReplayUrl(std::string_view input) { return input.rfind("kafka://", 0) == 0; }

Status ParseKafkaReplayUrl(std::string_view url, KafkaReplayUrl* out) {
  const std::string whole(url);
  if (!IsKafkaReplayUrl(url)) return Status::InvalidArgument(whole + ": not a kafka:// URL");
  std::string_view rest = url.substr(8);
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size()) {
    return Status::InvalidArgument(whole + ": expected kafka://BROKERS/TOPIC?from=TIME&to=TIME");
  }
  KafkaReplayUrl u;
  u.brokers = std::string(rest.substr(0, slash));
  u.topic = PercentDecode(rest.substr(slash + 1));
  if (u.topic.find('/') != std::string::npos) {
    return Status::InvalidArgument(whole + ": one topic per URL");
  }
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string name = PercentDecode(pair.substr(0, eq));
    const std::string value =
        eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    if (name == "from" || name == "to") {
      int64_t ms = 0;
      if (!ParseTime(value, &ms)) {
        return Status::Error(whole + ": " + name + "='" + value +
                             "' is not a time (RFC 3339, e.g. 2024-05-01T03:00:00Z, or epoch ms)");
      }
      (name == "from" ? u.from_ms : u.to_ms) = ms;
    } else {
      u.properties.emplace_back(name, value);
    }
  }
  if (u.from_ms >= 0 && u.to_ms >= 0 && u.to_ms < u.from_ms) {
    return Status::InvalidArgument(whole + ": 'to' is before 'from'");
  }
  *out = std::move(u);
  return Status::Ok();
}

struct KafkaReplaySource::Impl {
  KafkaReplayUrl url;
  rd_kafka_t* rk = nullptr;
  std::vector<int64_t> end;   // per partition: first offset not to read
  std::vector<bool> done;     // per partition
  size_t remaining = 0;
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  ~Impl() {
    if (rk != nullptr) {
      rd_kafka_assign(rk, nullptr);
      rd_kafka_destroy(rk);
    }
  }
};

Status KafkaReplaySource::Open(const KafkaReplayUrl& url,
                               std::unique_ptr<KafkaReplaySource>* out) {
  KafkaConf kc("kafka replay");
  for (const auto& [k, v] : url.properties) kc.Set(k, v);
  // A group id is required by the consumer API; the group is never joined (assign, not
  // subscribe) and nothing is committed.
  kc.Set("bootstrap.servers", url.brokers);
  kc.Set("group.id", "driftwatch-replay-" + std::to_string(getpid()));
  kc.Set("enable.auto.commit", "false");
  kc.Set("enable.partition.eof", "false");
  if (!kc.ok()) return Status::Error(kc.error());
  char err[512];
  std::unique_ptr<KafkaReplaySource> src(new KafkaReplaySource());
  src->impl_ = std::make_unique<Impl>();
  Impl* impl = src->impl_.get();
  impl->url = url;
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc.get(), err, sizeof(err));
  if (impl->rk == nullptr) return Status::Error(std::string("kafka replay: ") + err);
  kc.release();  // the consumer owns it now
  rd_kafka_poll_set_consumer(impl->rk);

  rd_kafka_topic_t* rkt = rd_kafka_topic_new(impl->rk, url.topic.c_str(), nullptr);
  const struct rd_kafka_metadata* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(impl->rk, 0, rkt, &md, kRequestTimeoutMs);
  rd_kafka_topic_destroy(rkt);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("kafka replay: metadata from " + url.brokers + ": " +
                               rd_kafka_err2str(e));
  }
  int partitions = 0;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  if (md->topic_cnt == 1) {
    partitions = md->topics[0].partition_cnt;
    topic_err = md->topics[0].err;
  }
  rd_kafka_metadata_destroy(md);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || partitions == 0) {
    return Status::Unavailable("kafka replay: topic " + url.topic + ": " +
                               rd_kafka_err2str(topic_err));
  }
  src->stats_.partitions = partitions;

  std::vector<int64_t> start(partitions, 0);
  impl->end.assign(partitions, 0);
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    e = rd_kafka_query_watermark_offsets(impl->rk, url.topic.c_str(), p, &lo, &hi,
                                         kRequestTimeoutMs);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("kafka replay: watermarks of " + url.topic + "/" +
                                 std::to_string(p) + ": " + rd_kafka_err2str(e));
    }
    start[p] = lo;
    impl->end[p] = hi;
  }
  // offsetsForTimes: for each bound, the first offset whose timestamp is >= the time.
  auto lookup = [&](int64_t time_ms, std::vector<int64_t>* result) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list, url.topic.c_str(), p)->offset = time_ms;
    }
    rd_kafka_resp_err_t le = rd_kafka_offsets_for_times(impl->rk, list, kRequestTimeoutMs);
    bool ok = le == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; ok && i < list->cnt; ++i) {
      if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) ok = false;
      (*result)[list->elems[i].partition] = list->elems[i].offset;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return ok;
  };
  // -1 from offsetsForTimes means "no record at or after that time" on a real broker, and is
  // also what brokers without timestamp lookups (the mock cluster) answer for everything. Either
  // way reading from the low watermark and filtering by timestamp is right, so -1 never narrows.
  std::vector<int64_t> found(partitions, -1);
  if (url.from_ms >= 0 && lookup(url.from_ms, &found)) {
    for (int p = 0; p < partitions; ++p) {
      if (found[p] >= 0) {
        start[p] = std::max(start[p], found[p]);
        src->stats_.offsets_for_times = true;
      }
    }
  }
  if (url.to_ms >= 0) {
    std::fill(found.begin(), found.end(), -1);
    if (lookup(url.to_ms + 1, &found)) {
      for (int p = 0; p < partitions; ++p) {
        if (found[p] >= 0) {
          impl->end[p] = std::min(impl->end[p], found[p]);
          src->stats_.offsets_for_times = true;
        }
      }
    }
  }

  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  impl->done.assign(partitions, true);
  for (int p = 0; p < partitions; ++p) {
    if (start[p] >= impl->end[p]) continue;
    rd_kafka_topic_partition_list_add(assignment, url.topic.c_str(), p)->offset = start[p];
    impl->done[p] = false;
    ++impl->remaining;
  }
  e = rd_kafka_assign(impl->rk, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("kafka replay: assign: ") + rd_kafka_err2str(e));
  }
  *out = std::move(src);
  return Status::Ok();
}

KafkaReplaySource::~KafkaReplaySource() = default;

Status KafkaReplaySource::Next(size_t max, std::vector<RawRecord>* out, bool* more) {
  out->clear();
  Impl* impl = impl_.get();
  while (impl->remaining > 0 && out->size() < max) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(impl->rk, out->empty() ? 200 : 0);
    if (msg == nullptr) {
      if (!out->empty()) break;
      if (std::chrono::steady_clock::now() - impl->last_progress > kNoProgressLimit) {
        return Status::Unavailable("kafka replay: no record from " + impl->url.brokers +
                                   " for 30 s");
      }
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR || msg->partition < 0 ||
        msg->partition >= static_cast<int32_t>(impl->done.size())) {
      const std::string error = rd_kafka_message_errstr(msg);
      const bool fatal = msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                         msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      rd_kafka_message_destroy(msg);
      if (fatal) return Status::Error("kafka replay: " + error);
      continue;
    }
    impl->last_progress = std::chrono::steady_clock::now();
    const int32_t p = msg->partition;
    if (impl->done[p] || msg->offset >= impl->end[p]) {
      if (!impl->done[p]) {
        impl->done[p] = true;
        --impl->remaining;
      }
      rd_kafka_message_destroy(msg);
      continue;
    }
    rd_kafka_timestamp_type_t ts_type;
    const int64_t ts = rd_kafka_message_timestamp(msg, &ts_type);
    const bool in_range = ts < 0 || ((impl->url.from_ms < 0 || ts >= impl->url.from_ms) &&
                                     (impl->url.to_ms < 0 || ts <= impl->url.to_ms));
    if (in_range) {
      RawRecord r;
      r.bytes.assign(static_cast<const char*>(msg->payload), msg->len);
      r.origin = impl->url.topic + "/" + std::to_string(p) + "@" + std::to_string(msg->offset);
      r.source = KafkaPositionKey(impl->url.topic, p);
      r.next_offset = msg->offset + 1;
      out->push_back(std::move(r));
      ++stats_.records;
    } else {
      ++stats_.skipped;
    }
    if (msg->offset + 1 >= impl->end[p]) {
      impl->done[p] = true;
      --impl->remaining;
    }
    rd_kafka_message_destroy(msg);
  }
  *more = impl->remaining > 0 || !out->empty();
  return Status::Ok();
}

Status OpenKafkaReplaySource(std::string_view url, std::unique_ptr<RecordSource>* out) {
  KafkaReplayUrl parsed;
  Status s = ParseKafkaReplayUrl(url, &parsed);
  if (!s.ok()) return s;
  std::unique_ptr<KafkaReplaySource> src;
  s = KafkaReplaySource::Open(parsed, &src);
  if (!s.ok()) return s;
  *out = std::move(src);
  return Status::Ok();
}

}  // namespace driftwatch
