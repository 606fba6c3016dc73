#pragma once
// Helpers for tests against the real librdkafka mock cluster: producing keyed records and
// reading a topic back with keys, bounded in time.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "kafka/kafka_producer.h"

namespace driftwatch::testing_kafka {

struct ReadMessage {
  std::string key, value;
  int32_t partition = 0;
  int64_t offset = 0;
  bool tombstone = false;  // no value at all (a compacted topic then drops the key)
};

// Reads every partition of `topic` from the beginning until `want` messages arrived or
// `timeout_ms` passed.
inline std::vector<ReadMessage> ReadTopic(const std::string& brokers, const std::string& topic,
                                          size_t want, int timeout_ms = 15000) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "test-reader", err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  std::vector<ReadMessage> out;
  if (rk == nullptr) return out;
  rd_kafka_poll_set_consumer(rk);
  const struct rd_kafka_metadata* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  int partitions = 0;
  if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1) partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ReadMessage r;
      if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      r.tombstone = m->payload == nullptr;
      if (!r.tombstone) r.value.assign(static_cast<const char*>(m->payload), m->len);
      r.partition = m->partition;
      r.offset = m->offset;
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_assign(rk, nullptr);
  rd_kafka_destroy(rk);
  return out;
}

// Polls `condition` every 50 ms for up to `timeout_ms`.
template <typename F>
bool WaitFor(F condition, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

}  // namespace driftwatch::testing_kafka
