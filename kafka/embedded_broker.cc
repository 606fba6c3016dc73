#include "kafka/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace driftwatch {

struct EmbeddedBroker::Impl {
  rd_kafka_t* handle = nullptr;  // owns the mock cluster's bookkeeping; otherwise idle
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Impl() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (handle != nullptr) rd_kafka_destroy(handle);
  }
};

Status EmbeddedBroker::Start(int brokers, std::unique_ptr<EmbeddedBroker>* out) {
  if (brokers < 1 || brokers > 8) return Status::InvalidArgument("embedded broker: 1..8 brokers");
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; keep it quiet and never let it connect anywhere.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  std::unique_ptr<EmbeddedBroker> broker(new EmbeddedBroker());
  broker->impl_ = std::make_unique<Impl>();
  broker->impl_->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (broker->impl_->handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::Error(std::string("embedded broker: ") + err);
  }
  broker->impl_->cluster = rd_kafka_mock_cluster_new(broker->impl_->handle, brokers);
  if (broker->impl_->cluster == nullptr) {
    return Status::Error("embedded broker: the mock cluster did not start");
  }
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->impl_->cluster);
  *out = std::move(broker);
  return Status::Ok();
}

EmbeddedBroker::~EmbeddedBroker() = default;

Status EmbeddedBroker::CreateTopic(const std::string& topic, int partitions) {
  if (partitions < 1) return Status::InvalidArgument("embedded broker: a topic needs a partition");
  rd_kafka_resp_err_t e =
      rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 1);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("embedded broker: creating topic " + topic + ": " +
                               rd_kafka_err2str(e));
  }
  return Status::Ok();
}

Status EmbeddedBroker::SetDown(bool down) {
  rd_kafka_resp_err_t e = down ? rd_kafka_mock_broker_set_down(impl_->cluster, -1)
                               : rd_kafka_mock_broker_set_up(impl_->cluster, -1);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("embedded broker: ") + rd_kafka_err2str(e));
  }
  return Status::Ok();
}

}  // namespace driftwatch
