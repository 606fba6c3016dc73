#pragma once
// The normalized event: one shape for every AWS source the decoder understands.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vocab/resource_key.h"  // MakeResourceKey, the key of a resource in state

namespace driftwatch {

// Stored in state and in history entries: do not renumber.
enum class EventKind : uint8_t {
  kApiCall = 0,           // a CloudTrail record (bare, log file, EventBridge or SNS)
  kConfigItem = 1,        // an AWS Config configuration item
  kComplianceChange = 2,  // an AWS Config rule compliance change
  kControl = 3,           // a record of driftwatch's own (closing a finding by hand)
};

// Control records travel in the input topics in CloudTrail's shape with this eventSource, which
// no AWS service uses, so that replaying a topic applies them again in order.
//   {"eventSource": "driftwatch.control", "eventName": "CloseFinding", "eventID": ...,
//    "eventTime": ..., "recipientAccountId": ..., "userIdentity": {"type": "driftwatch",
//    "arn": WHO}, "requestParameters": {"findingId": ID, "reason": TEXT}}
inline constexpr std::string_view kControlEventSource = "driftwatch.control";
inline constexpr std::string_view kCloseFindingEventName = "CloseFinding";

std::string_view EventKindName(EventKind kind);  // "api_call", "config_item", "compliance_change"

// The id a resource of `type` is keyed by in state, findings and history, whether a call named it
// by ARN or by name: for types keyed by name or last ARN segment (trails, buckets, IAM users,
// roles and groups, KMS keys, Lambda functions, SNS topics... see event.cc), an ARN becomes that
// segment ("arn:aws:cloudtrail:us-east-1:1:trail/org-audit" -> "org-audit"); other ids and
// other types are returned as they are. One resource, one key.
std::string CanonicalResourceId(std::string_view type, std::string_view id);

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

// A resource an event names. Account and region are the event's, so unlike FindingResource it
// carries none.
// Who acted: the call's principal as findings, history and the activity index name it (what of
// Principal the outputs show) and the address the call came from.
struct Actor {
  std::string type, arn, access_key_id, source_ip;
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

  // Where an API call's requestParameters, responseElements, resources and errorCode values lie
  // in `document` (indexed by RecordMember), found by the decoder's one pass so that readers do
  // not walk the document again. Known only when the document is the record's bytes as they
  // arrived (compact input); a member absent from the record has size 0.
  struct MemberSpan {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  enum RecordMember : int {
    kRequestParameters = 0,
    kResponseElements,
    kResources,
    kErrorCode,
    kRecordMemberCount
  };
  // Their names, in RecordMember's order.
  static constexpr std::string_view kRecordMemberNames[kRecordMemberCount] = {
      "requestParameters", "responseElements", "resources", "errorCode"};
  MemberSpan members[kRecordMemberCount];
  bool members_known = false;
  // The member's JSON text; empty when absent (or when members_known is false).
  std::string_view Member(RecordMember m) const {
    if (!members_known || members[m].size == 0) return {};
    return std::string_view(document).substr(members[m].offset, members[m].size);
  }

  // Where the record came from, for dead letters and history: "file.json:12", "topic/3@1234".
  std::string origin;
};

// The actor of an API call; empty for Config items, compliance changes and control records.
Actor ActorOf(const Event& e);

}  // namespace driftwatch
