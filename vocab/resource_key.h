#pragma once
// The key of a resource in state, findings, history and the changelog:
//   "account|region|type|id", e.g. "111122223333|us-east-1|AWS::EC2::SecurityGroup|sg-0abc".
// IAM and other global resources use region "global", as AWS Config does. Account, region and
// type hold no '|'; the id may. Persisted (doc/state_format.md): do not change.
// Every key is made and taken apart here, nowhere else.

#include <string>
#include <string_view>

namespace driftwatch {

// A key's four parts, as views into the key they were parsed from.
struct ResourceKeyParts {
  std::string_view account, region, type, id;
};

std::string MakeResourceKey(std::string_view account, std::string_view region,
                            std::string_view type, std::string_view id);
// MakeResourceKey appended to `out` (for callers that reuse one buffer).
void AppendResourceKey(std::string* out, std::string_view account, std::string_view region,
                       std::string_view type, std::string_view id);

// Splits `key` at its first three '|' (the id keeps any further ones) and returns true. A
// malformed key, with fewer than three '|', returns false with the parts it has set left to right,
// the last of them running to the end of the key, and the others empty: "a|b" gives account "a"
// and region "b", "abc" account "abc".
bool ParseResourceKey(std::string_view key, ResourceKeyParts* out);

}  // namespace driftwatch
