// The one librdkafka configuration setter: errors name the property and never its value.

#include "kafka/kafka_conf_internal.h"

#include <gtest/gtest.h>

#include <string>

namespace driftwatch {
namespace {

TEST(KafkaConfTest, AnErrorNamesThePropertyButNeverItsValue) {
  const std::string secret = "hunter2-Secret-Value";
  KafkaConf conf("changelog reader");
  EXPECT_TRUE(conf.Set("bootstrap.servers", "127.0.0.1:9"));
  // An enumerated property: librdkafka's own reason quotes the value it refused.
  EXPECT_FALSE(conf.Set("security.protocol", secret));
  EXPECT_FALSE(conf.ok());
  EXPECT_EQ(conf.error().find(secret), std::string::npos) << conf.error();
  EXPECT_EQ(conf.error().rfind("changelog reader: Kafka property security.protocol: ", 0), 0u)
      << conf.error();
  EXPECT_NE(conf.error().find("***"), std::string::npos) << conf.error();
  // After a failure nothing more is set, and the first error stays.
  const std::string first = conf.error();
  EXPECT_FALSE(conf.Set("no.such.property", secret));
  EXPECT_EQ(conf.error(), first);
}

TEST(KafkaConfTest, AnUnknownPropertyIsRefusedWithoutItsValue) {
  KafkaConf conf;
  EXPECT_FALSE(conf.Set("sasl.pasword", "p@ss-123"));  // misspelt
  EXPECT_EQ(conf.error().find("p@ss-123"), std::string::npos) << conf.error();
  EXPECT_EQ(conf.error().rfind("Kafka property sasl.pasword: ", 0), 0u) << conf.error();
}

TEST(KafkaConfTest, MaskSecretReplacesEveryOccurrence) {
  EXPECT_EQ(MaskSecret("a pw b pw", "pw"), "a *** b ***");
  EXPECT_EQ(MaskSecret("nothing", ""), "nothing");
  EXPECT_EQ(MaskSecret("xx", "x"), "******");
}

TEST(KafkaConfTest, ReleasedConfigurationIsNotDestroyedTwice) {
  KafkaConf conf;
  ASSERT_TRUE(conf.Set("client.id", "driftwatch-test"));
  rd_kafka_conf_t* c = conf.release();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(conf.get(), nullptr);
  EXPECT_FALSE(conf.Set("client.id", "again"));
  rd_kafka_conf_destroy(c);
}

}  // namespace
}  // namespace driftwatch
