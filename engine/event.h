#pragma once
// The normalized event: one shape for every AWS source the decoder understands.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace driftwatch {

// Stored in state and in history entries: do not renumber.
enum class EventKind : uint8_t {
  kApiCall = 0,           // a CloudTrail record (bare, log file, EventBridge or SNS)
  kConfigItem = 1,        // an AWS Config configuration item
  kComplianceChange = 2,  // an AWS Config rule compliance change
};

std::string_view EventKindName(EventKind kind);  // "api_call", "config_item", "compliance_change"

struct Principal {
  std::string type;           // Root, IAMUser, AssumedRole, FederatedUser, AWSService, ... or ""
  std::string arn;            // userIdentity.arn (may be empty)
  std::string account_id;     // userIdentity.accountId
  std::string access_key_id;  // userIdentity.accessKeyId
  std::string user_name;      // userIdentity.userName, else sessionIssuer.userName
  std::string session_name;   // AssumedRole: last element of the ARN (role-session name)
  std::string issuer_arn;     // sessionContext.sessionIssuer.arn for roles
  std::string invoked_by;     // userIdentity.invokedBy (AWS service acting on the user's behalf)
  bool mfa_used = false;      // sessionContext.attributes.mfaAuthenticated == "true",
                              // or additionalEventData.MFAUsed == "yes" (any case)
};

struct ResourceRef {
  std::string type;  // AWS Config resource type when known, e.g. "AWS::EC2::SecurityGroup"
  std::string id;    // resource id / name
  std::string arn;   // may be empty
};

struct Event {
  EventKind kind = EventKind::kApiCall;
  std::string id;       // CloudTrail eventID; Config: resourceType/resourceId/configurationStateId;
                        // compliance: rule/resourceType/resourceId/time
  int64_t time_ms = 0;  // event time (CloudTrail eventTime, Config configurationItemCaptureTime
                        // or notificationCreationTime), milliseconds since the Unix epoch, UTC
  std::string account;  // recipientAccountId, else userIdentity.accountId; Config: account id
  std::string region;   // awsRegion
  Principal principal;
  std::string source_ip;     // sourceIPAddress
  std::string user_agent;    // userAgent
  std::string event_source;  // "iam.amazonaws.com"; Config items: "config.amazonaws.com"
  std::string event_name;    // "CreateUser"; Config items: "ConfigurationItemChange";
                             // compliance: "ComplianceChange"
  std::string error_code;    // errorCode, empty when the call succeeded
  bool read_only = false;  // CloudTrail readOnly == true, or a name starting Describe/Get/List/Head
  std::vector<ResourceRef> resources;  // resources touched (CloudTrail resources[], Config item)

  // Config item / compliance change only.
  std::string config_status;  // configurationItemStatus: OK, ResourceDiscovered, ResourceDeleted...
  std::string compliance_type;  // newEvaluationResult.complianceType: COMPLIANT, NON_COMPLIANT...
  std::string config_rule;      // configRuleName

  // The record itself as compact JSON text: the CloudTrail record, the configuration item
  // (in whichever key spelling it arrived), or the compliance notification. Rules and appliers
  // read any field of the original from here.
  std::string document;

  // Where the record came from, for dead letters and history: "file.json:12", "topic/3@1234".
  std::string origin;
};

}  // namespace driftwatch
