#pragma once
// Real AWS API operation names per CloudTrail eventSource, generated from AWS's service models
// (scripts/gen_aws_api_names.py -> rules/aws_api_names.cc). Rule validation uses it so that a
// misspelt eventName is a load error rather than a rule that silently never matches.

#include <cstddef>
#include <string>
#include <string_view>

namespace driftwatch {

struct AwsServiceApis {
  const char* event_source;  // "iam.amazonaws.com"
  const char* names;         // sorted operation names, each followed by '\n'
};

// The generated table (rules/aws_api_names.cc).
const AwsServiceApis* AwsServiceApiTable(size_t* count);

bool IsKnownEventSource(std::string_view event_source);
bool IsKnownApiName(std::string_view event_source, std::string_view event_name);
// The closest known name of that source (edit distance), "" when none is close.
std::string SuggestApiName(std::string_view event_source, std::string_view event_name);

}  // namespace driftwatch
