#pragma once
// Compiled form of the rule language (see config/rules/README.md for the language itself).
// Produced by rule_compiler, evaluated by rule_eval, indexed by rule_index. Immutable after
// compilation; evaluation state lives in RuleEvalContext.

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "rules/finding_tracker.h"
#include "vocab/event.h"
#include "vocab/finding.h"

namespace driftwatch {

// Fields of the normalized Event (vocab/event.h) that rules read without parsing the document.
enum class NormField : int8_t {
  kNone = -1,
  kEventSource,
  kEventName,
  kErrorCode,
  kRegion,
  kAccount,
  kSourceIp,
  kUserAgent,
  kReadOnly,
  kEventId,
  kKind,
  kPrincipalType,
  kPrincipalArn,
  kPrincipalAccount,
  kPrincipalAccessKey,
  kPrincipalUserName,
  kPrincipalSessionName,
  kPrincipalIssuerArn,
  kPrincipalInvokedBy,
  kPrincipalMfaUsed,
  kConfigStatus,
  kComplianceType,
  kConfigRule,
  kResourceType,
  kResourceId,
  kResourceArn,
};

struct PathSegment {
  enum class Kind : uint8_t {
    kKey,      // object member
    kEach,     // every element of an array ("name[]"): the path has many values
    kJson,     // "@json": a string holding JSON (URL-encoded or not) parsed as a document
    kAccount,  // "@account": the 12-digit account id in an ARN or id string
  };
  Kind kind = Kind::kKey;
  std::string key;
};

struct FieldPath {
  std::string text;  // as written, for evidence and messages
  NormField norm = NormField::kNone;
  std::vector<PathSegment> segments;
  int cache_slot = -1;  // >= 0: single-valued path from the root, cached per event
};

// Whether `path` starts at one of an API call's members the appliers parse (requestParameters,
// responseElements, resources, errorCode), which the event rules then read from there.
inline bool IsCallMemberPath(const FieldPath& path) {
  if (path.segments.empty() || path.segments[0].kind != PathSegment::Kind::kKey) return false;
  const std::string& first = path.segments[0].key;
  for (std::string_view name : Event::kRecordMemberNames) {
    if (first == name) return true;
  }
  return false;
}

// A field reference: one path, or alternatives where the first that exists is used (both key
// spellings of Config items, old and new security-group range shapes).
struct FieldRef {
  std::vector<FieldPath> paths;
  const std::string& text() const { return paths.front().text; }
};

struct Cidr {
  bool v6 = false;
  uint8_t addr[16] = {};
  int prefix = 0;
};

struct PortRange {
  int from = 0, to = 65535;
};

// The right-hand side of an operator: literals, a named list, or a policy value.
struct Operand {
  std::vector<std::string> strings;
  std::vector<double> numbers;          // numeric literals (and numeric strings)
  std::unordered_set<std::string> set;  // for in / not_in
  std::vector<std::string> prefixes;    // in-list entries written with a trailing '*'
  bool own_account = false;  // policy.trusted_accounts: the resource's own account is trusted
  std::vector<Cidr> cidrs;
  std::vector<PortRange> ports;
  std::unique_ptr<RE2> regex;
  double number = 0;
  bool boolean = true;
};

enum class Op : uint8_t {
  kTrue,
  kFalse,
  kAll,
  kAny,
  kNot,
  kAnyOf,  // any element of an array satisfies `children[0]`, fields relative to the element
  kEquals,
  kNotEquals,
  kIn,
  kNotIn,
  kPrefix,
  kSuffix,
  kContains,
  kRegex,
  kExists,
  kLt,
  kLe,
  kGt,
  kGe,
  kCidrContains,
  kOpenToWorld,
  kPortRangeOverlaps,
  kPortRangeOutside,
  kOlderThanDays,
};

struct Condition {
  Op op = Op::kTrue;
  std::vector<Condition> children;
  FieldRef field;           // leaf operators and any_of (the array)
  FieldRef from_port, to_port;  // port_range_*
  std::shared_ptr<const Operand> operand;
};

struct ResourceSpec {
  std::string type;       // literal resource type; "" = from the event's resources
  FieldRef id;            // empty paths = from the event's resources
  // `type` given as a list, one type per `id` path: the first id path that yields a value
  // decides the type (AttachUserPolicy -> user, AttachRolePolicy -> role). Empty otherwise.
  std::vector<std::string> types;
  std::vector<FieldRef> typed_ids;  // one single-path FieldRef per entry of `types`
  FieldRef arn;
  bool global = false;    // region "global" (IAM and other global resources)
};

struct CompiledRule {
  FindingTemplate meta;  // id, title, description, category, severity
  std::string file;
  int line = 0;
  bool is_state = false;
  // Event rules: index keys. Empty names = unindexed (checked against every event).
  std::vector<std::string> event_sources;
  std::vector<std::string> event_names;
  // State rules: resource types. Empty = every type (unindexed).
  std::vector<std::string> resource_types;
  Condition condition;
  std::vector<Condition> exceptions;
  bool has_resolve = false;  // event rules: an event matching `resolve` resolves the finding
  Condition resolve;
  ResourceSpec resource;
  std::vector<FieldRef> evidence;  // extra fields copied into evidence
  bool time_dependent = false;     // uses older_than_days: re-checked as the watermark moves
  // Event rules: the posture (state) rule whose finding this rule's matches give their actor,
  // event and evidence to instead of opening a finding of their own ("" = none), and its index
  // in CompiledRuleSet::rules (-1 when none). One drift, one finding.
  std::string evidence_for;
  int evidence_for_index = -1;
  // The event names whose matches give evidence (empty: all of the rule's names); the rule's
  // other names, and resources of types the posture rule does not watch, open event findings.
  std::vector<std::string> evidence_for_names;
  bool kind_declared = false;  // `kind:` written in the file (acknowledges an unpaired rule)
  bool enabled = true;
  std::string disabled_reason;
};

}  // namespace driftwatch
