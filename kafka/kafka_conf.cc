#include "kafka/kafka_conf_internal.h"

namespace driftwatch {

std::string MaskSecret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

KafkaConf::KafkaConf(std::string context)
    : context_(std::move(context)), conf_(rd_kafka_conf_new()) {}

KafkaConf::~KafkaConf() {
  if (conf_ != nullptr) rd_kafka_conf_destroy(conf_);
}

bool KafkaConf::Set(const std::string& key, const std::string& value) {
  if (!ok() || conf_ == nullptr) return false;
  char err[512];
  if (rd_kafka_conf_set(conf_, key.c_str(), value.c_str(), err, sizeof(err)) !=
      RD_KAFKA_CONF_OK) {
    // librdkafka's reason may quote the value (an invalid value of an enumerated property).
    error_ = (context_.empty() ? "" : context_ + ": ") + "Kafka property " + key + ": " +
             MaskSecret(err, value);
    return false;
  }
  return true;
}

rd_kafka_conf_t* KafkaConf::release() {
  rd_kafka_conf_t* c = conf_;
  conf_ = nullptr;
  return c;
}

}  // namespace driftwatch
