#pragma once
// The account a raw record belongs to, read without decoding the record into events: the key
// under which records are produced to Kafka (kafka/kafka_producer.h). Any thread.

#include <string>
#include <string_view>

namespace driftwatch {

// The AWS account a record belongs to, for keying produced records so that all events of an
// account land on one partition: recipientAccountId, userIdentity.accountId, the EventBridge
// `account`, a configuration item's awsAccountId/accountId (also inside an SNS Message or a
// Config notification). "" when none is found.
std::string AccountKeyOf(std::string_view record);

}  // namespace driftwatch
