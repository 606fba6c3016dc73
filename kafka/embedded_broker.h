#pragma once
// An in-process Kafka broker on loopback: librdkafka's mock cluster (rdkafka_mock.h). It speaks
// the real Kafka protocol (produce, fetch, consumer groups, offset commits, idempotent producers),
// so kcat and any other client can use it, but it keeps everything in memory and only about 5 MB
// per partition (older data is dropped silently): for trying driftwatch out and for tests, never
// for production. Size the partition count for what you feed it.
//
// Threading: the mock cluster runs on its own librdkafka threads; the methods here may be called
// from any thread.

#include <memory>
#include <string>
#include <vector>

#include "vocab/status.h"

namespace driftwatch {

class EmbeddedBroker {
 public:
  // Starts `brokers` (1..8) mock brokers, listening on 127.0.0.1 at ports the OS picks.
  static Status Start(int brokers, std::unique_ptr<EmbeddedBroker>* out);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // "127.0.0.1:PORT[,...]", for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }

  // Creates `topic` with `partitions` partitions (replication factor 1). Creating a topic that
  // already exists is an error from the mock; callers create each topic once.
  Status CreateTopic(const std::string& topic, int partitions);

  // Takes every broker down (connections dropped, new ones refused) or back up: broker outages
  // for tests. The data stays.
  Status SetDown(bool down);

 private:
  EmbeddedBroker() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace driftwatch
