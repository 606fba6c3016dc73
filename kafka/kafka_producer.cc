#include "kafka/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "ingest/account_key.h"
#include "ingest/file_source.h"
#include "kafka/kafka_conf_internal.h"
#include "vocab/finding.h"

namespace driftwatch {

struct KafkaProducer::Impl {
  rd_kafka_t* rk = nullptr;
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> failed{0};
  mutable std::mutex mu;
  std::string first_failure;  // guarded by mu
  // Highest delivered offset per topic and partition; guarded by mu. Looked up by the topic's
  // name without building a string: delivery reports come for every message.
  std::map<std::string, std::map<int32_t, int64_t>, std::less<>> delivered_offsets;

  // Queues one message (partition RD_KAFKA_PARTITION_UA: the partitioner's choice; a null
  // `value`: a tombstone), serving delivery reports while the local queue is full.
  Status Produce(const std::string& topic, int32_t partition, std::string_view key,
                 const std::string_view* value, int64_t timestamp_ms,
                 const std::vector<std::pair<std::string, std::string>>& headers);

  ~Impl() {
    if (rk == nullptr) return;
    rd_kafka_flush(rk, 5000);
    const int left = rd_kafka_outq_len(rk);
    if (left > 0) {
      std::fprintf(stderr, "driftwatch: %d Kafka message(s) not delivered at shutdown\n", left);
    }
    rd_kafka_destroy(rk);
  }
};

Status KafkaProducer::Open(const KafkaProducerOptions& options,
                           std::unique_ptr<KafkaProducer>* out) {
  KafkaConf kc;
  kc.Set("bootstrap.servers", options.brokers);
  for (const auto& [k, v] : options.properties) kc.Set(k, v);
  kc.Set("enable.idempotence", options.idempotent ? "true" : "false");
  kc.Set("linger.ms", std::to_string(options.linger_ms));
  kc.Set("message.timeout.ms", "0");
  kc.Set("sticky.partitioning.linger.ms", "0");
  if (!kc.ok()) return Status::Error(kc.error());
  rd_kafka_conf_t* conf = kc.get();
  std::unique_ptr<KafkaProducer> p(new KafkaProducer());
  p->impl_ = std::make_unique<Impl>();
  rd_kafka_conf_set_opaque(conf, p->impl_.get());
  rd_kafka_conf_set_dr_msg_cb(
      conf, [](rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
        auto* impl = static_cast<Impl*>(opaque);
        if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          impl->delivered.fetch_add(1, std::memory_order_relaxed);
          const std::string_view topic = rd_kafka_topic_name(msg->rkt);
          std::lock_guard<std::mutex> lock(impl->mu);
          auto it = impl->delivered_offsets.find(topic);
          if (it == impl->delivered_offsets.end()) {
            it = impl->delivered_offsets.emplace(std::string(topic), std::map<int32_t, int64_t>())
                     .first;
          }
          int64_t& top = it->second[msg->partition];
          if (msg->offset > top) top = msg->offset;
          return;
        }
        impl->failed.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard<std::mutex> lock(impl->mu);
        if (impl->first_failure.empty()) {
          impl->first_failure = std::string("delivery to ") + rd_kafka_topic_name(msg->rkt) +
                                " failed: " + rd_kafka_err2str(msg->err);
        }
      });
  char err[512];
  p->impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (p->impl_->rk == nullptr) return Status::Unavailable(std::string("Kafka producer: ") + err);
  kc.release();  // the producer owns it now
  *out = std::move(p);
  return Status::Ok();
}

KafkaProducer::~KafkaProducer() = default;

Status KafkaProducer::Produce(std::string_view topic, std::string_view key,
                              std::string_view value, int64_t timestamp_ms,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
  return impl_->Produce(std::string(topic), RD_KAFKA_PARTITION_UA, key, &value, timestamp_ms,
                        headers);
}

Status KafkaProducer::ProduceToPartition(std::string_view topic, int32_t partition,
                                         std::string_view key, const std::string* value) {
  std::string_view v = value != nullptr ? std::string_view(*value) : std::string_view();
  return impl_->Produce(std::string(topic), partition, key, value != nullptr ? &v : nullptr, 0,
                        {});
}

std::vector<std::pair<int32_t, int64_t>> KafkaProducer::DeliveredOffsets(
    std::string_view topic) const {
  std::vector<std::pair<int32_t, int64_t>> out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->delivered_offsets.find(topic);
  if (it == impl_->delivered_offsets.end()) return out;
  out.assign(it->second.begin(), it->second.end());
  return out;
}

int64_t KafkaProducer::queued() const { return rd_kafka_outq_len(impl_->rk); }

Status KafkaProducer::Impl::Produce(
    const std::string& topic_name, int32_t partition, std::string_view key,
    const std::string_view* value, int64_t timestamp_ms,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  char* payload = value != nullptr ? const_cast<char*>(value->data()) : nullptr;
  const size_t payload_size = value != nullptr ? value->size() : 0;
  for (;;) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
      hdrs = rd_kafka_headers_new(headers.size());
      for (const auto& [k, v] : headers) {
        rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                            static_cast<ssize_t>(v.size()));
      }
    }
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic_name.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(payload, payload_size),
        RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);  // not taken over on failure
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk, 50);
      continue;
    }
    return Status::Unavailable("producing to " + topic_name + ": " + rd_kafka_err2str(e));
  }
}

Status KafkaProducer::Poll() {
  rd_kafka_poll(impl_->rk, 0);
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->first_failure.empty()) return Status::Ok();
  std::string message;
  message.swap(impl_->first_failure);
  return Status::Error(message);
}

Status KafkaProducer::Flush(int timeout_ms) {
  rd_kafka_resp_err_t e = rd_kafka_flush(impl_->rk, timeout_ms);
  Status polled = Poll();
  if (!polled.ok()) return polled;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Error(std::to_string(rd_kafka_outq_len(impl_->rk)) +
                         " message(s) still queued after " + std::to_string(timeout_ms) + " ms");
  }
  return Status::Ok();
}

int64_t KafkaProducer::delivered() const { return impl_->delivered.load(); }
int64_t KafkaProducer::failed() const { return impl_->failed.load(); }

Status KafkaFindingSink::Emit(const Finding& finding) {
  return producer_->Produce(topic_, finding.finding_id,
                            format_ ? format_(finding) : FindingToJson(finding));
}

Status KafkaFindingSink::Flush() { return producer_->Poll(); }

Status KafkaDeadLetterSink::Write(std::string_view bytes, std::string_view origin,
                                  std::string_view reason, std::string_view detail) {
  const std::string formatted =
      format_ ? format_(bytes, origin, reason, detail) : std::string();
  return producer_->Produce(topic_, origin, format_ ? std::string_view(formatted) : bytes, 0,
                            {{"dw-origin", std::string(origin)},
                             {"dw-reason", std::string(reason)},
                             {"dw-detail", std::string(detail)}});
}

Status ProduceFile(KafkaProducer* producer, const std::string& topic, const std::string& path,
                   int64_t* count) {
  std::unique_ptr<FileSource> file;
  Status s = FileSource::Open(path, 0, &file);
  if (!s.ok()) return s;
  int64_t n = 0;
  std::vector<RawRecord> records;
  bool more = true;
  while (more) {
    s = file->Next(1000, &records, &more);
    if (!s.ok()) return s;
    for (const RawRecord& r : records) {
      s = producer->Produce(topic, AccountKeyOf(r.bytes), r.bytes);
      if (!s.ok()) return s;
      ++n;
    }
  }
  s = producer->Flush(30000);
  if (!s.ok()) return Status::Error("feeding " + path + ": " + s.message());
  if (count != nullptr) *count = n;
  return Status::Ok();
}

}  // namespace driftwatch
