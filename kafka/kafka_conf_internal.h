#pragma once
// The one place a librdkafka configuration is filled in (internal to kafka/: it exposes
// librdkafka). Property values may be secrets (SASL passwords, key passwords from the
// environment): an error names the property and librdkafka's reason with the value masked,
// never the value.

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>

namespace driftwatch {

class KafkaConf {
 public:
  // `context` prefixes error messages ("changelog reader", "kafka replay"; may be empty).
  explicit KafkaConf(std::string context = "");
  ~KafkaConf();
  KafkaConf(const KafkaConf&) = delete;
  KafkaConf& operator=(const KafkaConf&) = delete;

  // Sets one property; after the first failure it sets nothing more. Returns ok().
  bool Set(const std::string& key, const std::string& value);
  bool ok() const { return error_.empty(); }
  // "CONTEXT: Kafka property KEY: REASON", the value masked in REASON; "" when ok.
  const std::string& error() const { return error_; }

  rd_kafka_conf_t* get() { return conf_; }
  // Hands the configuration over (rd_kafka_new takes it on success).
  rd_kafka_conf_t* release();

 private:
  std::string context_;
  rd_kafka_conf_t* conf_;
  std::string error_;
};

// `text` with every occurrence of `secret` replaced by "***" (nothing when `secret` is empty).
std::string MaskSecret(std::string text, std::string_view secret);

}  // namespace driftwatch
