#pragma once
// What each AWS write call does to which resource, derived from AWS's own service models
// (Debian's python3-botocore) by scripts/gen_aws_resource_calls.py into the committed
// appliers/aws_resource_calls.cc. The generic write path (appliers/applier.cc) resolves every
// successful call without a hand-written applier through it; doc/resource_calls.md says how the
// table is derived and regenerated.

#include <cstdint>
#include <string_view>

namespace driftwatch {

enum class ResourceCallAction : uint8_t {
  kCreate,  // makes the resource exist (CreateFunction, RunInstances, AllocateAddress)
  kUpsert,  // creates it when absent, else changes it (PutParameter)
  kUpdate,  // changes it (UpdateFunctionCode, PutSecretValue, AddPermission)
  kDelete,  // removes it (DeleteFunction, DeleteNatGateway, DeleteParameters)
  kTag,     // adds or replaces tags (TagResource, TagInstanceProfile, CreateTags)
  kUntag,   // removes tags by key (UntagResource, RemoveTagsFromResource, DeleteTags)
  kNote,    // acts on the resource without changing its configuration (objects of a bucket,
            // commands sent to an instance): history only
  kNone,    // changes no resource (sessions, sign-in, model-access agreements, cryptographic and
            // data-plane operations); `why` says so
};

struct ResourceCall {
  const char* key;     // "lambda.amazonaws.com CreateFunction" (eventSource, space, eventName)
  const char* type;    // "AWS::Lambda::Function"; "" for kNone, or when the type comes from the
                       // identifier itself (an ARN or an EC2 id prefix: TagResource, CreateTags)
  ResourceCallAction action;
  // 1: an account-level setting, the id is the account (the operation has no identifier
  // member); 2: the identifier is optional and a call without it acts on the account's own
  // (Glue's PutResourcePolicy: the account's Data Catalog); 0: otherwise.
  uint8_t account_scoped;
  bool global;          // the type lives in region "global" (IAM, CloudFront, Route 53, ...)
  // Members holding the identifier, name or ARN, most specific first, each the key CloudTrail
  // writes (lowerCamel wire name); '|'-separated. A member may hold a list.
  const char* request_members;
  const char* response_members;
  const char* why;  // kNone: why the call changes no resource
};

// The call's entry, or nullptr. Versioned CloudTrail names map to their operation:
// "CreateFunction20150331" and "UpdateFunctionCode20150331v2" are CreateFunction and
// UpdateFunctionCode. One hash lookup (two for a versioned name).
const ResourceCall* FindResourceCall(std::string_view event_source, std::string_view event_name);

// The operation name without a CloudTrail API-version suffix ("20150331", "20150331v2",
// "2020_05_31"); the name itself when it has none.
std::string_view StripApiVersion(std::string_view event_name);

// The resource type an ARN names ("arn:aws:lambda:r:a:function:f" -> "AWS::Lambda::Function"),
// from the service's resource nouns; "" when unknown.
std::string_view ResourceTypeOfArn(std::string_view arn);

// The generated tables (appliers/aws_resource_calls.cc).
const ResourceCall* ResourceCallTable(size_t* count);
struct ArnResourceType {
  const char* key;   // "lambda function": ARN service, space, the ARN's resource kind with '-'
                     // and '_' removed, lower case
  const char* type;  // "AWS::Lambda::Function"
};
const ArnResourceType* ArnResourceTypeTable(size_t* count);

}  // namespace driftwatch
