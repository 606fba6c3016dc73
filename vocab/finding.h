#pragma once
// A finding, in the format DESIGN.md fixes. Field names are part of the output format.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vocab/event.h"

namespace driftwatch {

// Category and severity names are part of the output format and stored: do not change.
enum class Category : uint8_t {
  kIdentity = 0,
  kNetwork = 1,
  kDataProtection = 2,
  kLogging = 3,
  kInventory = 4,
  kPatching = 5,
};
enum class Severity : uint8_t { kInfo = 0, kLow = 1, kMedium = 2, kHigh = 3, kCritical = 4 };
enum class FindingStatus : uint8_t { kOpen = 0, kResolved = 1 };
// posture: a state that is drift, resolved when the state goes back. event: a point-in-time act
// with no state to go back to, resolved when its rule's expiry passes in event time or by hand.
enum class FindingKind : uint8_t { kPosture = 0, kEvent = 1 };
// Why a finding was resolved (none while open): the stream saw the state go back, an event
// finding's expiry passed, or someone closed it by hand.
enum class Resolution : uint8_t { kNone = 0, kState = 1, kExpired = 2, kClosed = 3 };

std::string_view CategoryName(Category c);  // "identity", "network", "data-protection", ...
std::string_view SeverityName(Severity s);  // "critical", "high", "medium", "low", "info"
std::string_view FindingStatusName(FindingStatus s);  // "open", "resolved"
std::string_view FindingKindName(FindingKind k);      // "posture", "event"
std::string_view ResolutionName(Resolution r);        // "", "state", "expired", "closed"
bool ParseFindingKind(std::string_view name, FindingKind* out);
bool ParseCategory(std::string_view name, Category* out);
bool ParseSeverity(std::string_view name, Severity* out);

// A resource as findings and state changes (appliers' StateDelta) name it. Event::resources
// (ResourceRef) have no account or region of their own: those are the event's.
struct FindingResource {
  std::string type, id, arn, account, region;
};

struct Finding {
  std::string finding_id;  // stable for rule + resource: see MakeFindingId
  std::string rule_id;
  std::string title;
  Category category = Category::kIdentity;
  Severity severity = Severity::kInfo;
  FindingKind kind = FindingKind::kPosture;
  FindingStatus status = FindingStatus::kOpen;
  Resolution resolution = Resolution::kNone;  // kNone while open
  // What resolved it, as a JSON object text: state {"event_id","event_name"} (the event that
  // undid the drift; {} when the resource's deletion or a deadline did), expired
  // {"expire_after_seconds"}, closed {"by","reason","event_id"}. Empty while open.
  std::string resolution_detail;
  FindingResource resource;
  Actor actor;  // who made the drift (vocab/event.h)
  std::vector<std::string> event_ids;  // in event-time order (newest last), bounded
                                       // (kMaxFindingEventIds)
  // Event time of each of event_ids. Kept in state (FindingToStoredJson), not in the output.
  std::vector<int64_t> event_times_ms;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t resolved_at_ms = 0;  // 0 while open
  // Event findings: event time at which the finding expires (last_seen + the rule's
  // expire_after); 0 = never. Kept in state, not in the output.
  int64_t expires_at_ms = 0;
  // Event time of the event the actor comes from (posture findings keep the earliest event with
  // an actor: who made the drift). Kept in state, not in the output.
  int64_t actor_time_ms = 0;
  std::string evidence;        // JSON object text: the fields that made the rule match
  std::string description;     // what a person on call should do
};

inline constexpr size_t kMaxFindingEventIds = 20;

// Stable id for rule + resource: hex of a 64-bit FNV-1a over "rule_id\0account\0region\0type\0id".
std::string MakeFindingId(std::string_view rule_id, const FindingResource& resource);
// The same with a qualifier that splits one rule's findings on one resource (the AWS Config rule
// name of a compliance finding); an empty qualifier gives MakeFindingId(rule_id, resource).
std::string MakeFindingId(std::string_view rule_id, const FindingResource& resource,
                          std::string_view qualifier);

// One JSON object, no trailing newline, in the DESIGN.md finding format (times as RFC 3339 UTC).
std::string FindingToJson(const Finding& f);
// FindingToJson plus what state keeps beside the output format (event_times_ms).
std::string FindingToStoredJson(const Finding& f);
// Inverse of FindingToJson and FindingToStoredJson; false when the text is not a finding.
bool FindingFromJson(std::string_view json, Finding* out);

}  // namespace driftwatch
