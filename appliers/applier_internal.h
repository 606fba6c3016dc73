#pragma once
// Private to appliers/: the per-event operation the action appliers work through, and
// small JSON helpers. Documents and their fields are described in doc/state_format.md.
//
// Every helper here tolerates any JSON shape (missing keys, wrong types, null
// requestParameters) without throwing: AWS records vary and a bad record must not stop the
// stream.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "appliers/applier.h"
#include "state/batch_context.h"
#include "vocab/event.h"

namespace driftwatch::applier {

using json = nlohmann::json;

// Key prefix of tombstones in the resources family (doc/state_format.md): do not change.
inline constexpr std::string_view kTombstonePrefix{"\0tomb|", 6};

// --- JSON helpers --------------------------------------------------------------------------

// The member `key` of an object, or a shared null when `j` is not an object or has no such key.
const json& At(const json& j, std::string_view key);
// Like At, matching the key without regard to case (CloudTrail spells some keys both ways).
const json& AtNoCase(const json& j, std::string_view key);
// The string member `key`, or "" when it is missing or not a string.
std::string Str(const json& j, std::string_view key);
// A scalar as text: strings as they are, numbers and booleans printed, else "".
std::string ScalarText(const json& v);
// true/false from a boolean or a "true"/"false" string (any case).
bool BoolOf(const json& v, bool* out);
// The list behind EC2's `{"items": [...]}` wrapper, a bare array, or a single object: always an
// array (possibly empty).
json Items(const json& j);
// `parent[key]` made an object (or array) when it is anything else; `parent` must be an object.
json& ObjectAt(json& parent, const char* key);
json& ArrayAt(json& parent, const char* key);
// Never throws: invalid UTF-8 is replaced.
std::string Dump(const json& j);
// "arn:aws:iam::1:user/path/name" -> "name"; "arn:...:key/UUID" -> "UUID"; other text as is.
std::string ArnLastSegment(std::string_view arn);
// A policy document as JSON text: URL-decoded when AWS sent it encoded; objects dumped; a
// one-element array (seen in Config samples) unwrapped.
std::string PolicyText(const json& v);
// CloudTrail and Config times ("Jul 30, 2024 9:53:13 PM", RFC 3339, epoch ms numbers) as
// RFC 3339 UTC; `fallback_ms` when unreadable.
std::string NormalizeTime(const json& v, int64_t fallback_ms);
// "CidrIpv4" -> "cidrIpv4".
std::string LowerFirstKey(std::string_view k);
// Removes array elements for which pred is true; returns how many.
size_t EraseIf(json& array, const std::function<bool(const json&)>& pred);

// --- The operation -------------------------------------------------------------------------

// A resource an applier writes. Not a FindingResource: the id in its key, its document's
// resourceId and its name can differ (and the ARN may be derived), all three are written.
struct Target {
  std::string type;
  std::string key_id;       // the id in the resource key (name for IAM users/roles, see doc)
  std::string resource_id;  // the document's resourceId ("" -> key_id)
  std::string name;         // resourceName ("" -> none)
  std::string account;
  std::string region;  // "global" for IAM
  std::string arn;     // "" -> derived when the type's ARN form is known
};

// Mutates a document: fills `change` with what it did, returns false when the call had no
// effect on the document.
using MutateFn = std::function<bool(json& doc, json& change)>;

class Op;
using Handler = void (*)(Op& op);
using HandlerMap = std::unordered_map<std::string_view, Handler>;

// One resource's document being rebuilt in memory while calls are applied again in event-time
// order (a call delivered late). An Op in rebuild mode changes only this resource, here, and
// writes nothing to the batch.
struct Rebuild {
  std::string key;
  bool exists = false;
  json doc;
  // The call that last deleted the resource while rebuilding (for its tombstone).
  int64_t deleted_at_ms = 0;
  std::string deleted_by_event;
};

class Op {
 public:
  // `record_text` is the compact text of `record` (the members appliers read), kept in history so
  // that the call can be applied again; `handlers` dispatches such calls. Both may be empty/null:
  // the call is then not replayable and a late call is kept in history without being applied.
  Op(const Event& event, const json& record, BatchContext& ctx, std::vector<StateDelta>* deltas,
     std::string_view record_text = {}, const HandlerMap* handlers = nullptr);

  const Event& event() const { return event_; }
  const json& record() const { return record_; }
  const json& req() const { return At(record_, "requestParameters"); }
  const json& resp() const { return At(record_, "responseElements"); }

  Target Regional(std::string type, std::string id) const;
  Target Global(std::string type, std::string id) const;

  // Applies `fn` to the resource's document; a resource never seen gets a partial document.
  void Update(const Target& t, const MutateFn& fn);
  // The call created the resource: a fresh document (`fn` fills configuration) with the creator.
  void Create(const Target& t, const MutateFn& fn);
  void Delete(const Target& t);
  // A write call without an applier: history only, against this resource.
  void RecordUnknown(const Target& t);
  // No applier and no resource named by the applier's own means: resolve resources the generic
  // way (resources[], ids in requestParameters) and record history against each.
  void RecordUnknownWrite();
  // Generic Create*/Run*/Delete*: true when a resource could be resolved and was recorded.
  bool ApplyGeneric();

  // A Config item replaces the document (or deletes it).
  void ApplyConfigItem();

  // Runs the call's applier (by event name, else the generic resolution).
  void Dispatch();
  // Applies this call to `rebuild` only (see Rebuild).
  void set_rebuild(Rebuild* rebuild) { rebuild_ = rebuild; }

  // Reads another resource's current document (defined in applier_compute.cc); false when the
  // resource is unknown or its document unreadable.
  bool Peek(const Target& t, json* doc) const;

 private:
  enum class Mode { kUpdate, kCreate, kDelete };
  void Apply(const Target& t, Mode mode, const MutateFn& fn);
  HistoryEntry NewHistory(const std::string& key) const;
  json NewDocument(const Target& t) const;
  void StampCreator(json& doc) const;
  StateDelta NewDelta(const Target& t, const std::string& key) const;
  // The call as of this event: `*doc` (when `*exists`) becomes the document after it.
  void Transform(const Target& t, Mode mode, const MutateFn& fn, bool* exists, json* doc,
                 json* change) const;
  // A change older than the resource's last change: rebuilds the document from history with
  // this change (`apply`, recorded as `h`, placed by h's time and event id) in its event-time
  // place and the later changes applied again. False when history cannot (a later change
  // without a replayable call): the caller then keeps the change in history only.
  using StepFn = std::function<void(bool* exists, json* doc, json* change)>;
  bool ApplyLate(const Target& t, const std::string& key, bool have, bool tombstoned,
                 HistoryEntry h, const StepFn& apply);
  // The replayable form of this call (HistoryEntry::replay), built on first use.
  const std::string& ReplayText() const;

  const Event& event_;
  const json& record_;
  BatchContext& ctx_;
  std::vector<StateDelta>* deltas_;
  std::string_view record_text_;
  const HandlerMap* handlers_;
  Rebuild* rebuild_ = nullptr;
  mutable std::string replay_;
  mutable bool replay_built_ = false;
  // Some resource's document or history was written (or found already written) for this call:
  // a hand-written applier that resolved nothing leaves the call to the generic path.
  bool touched_ = false;
};

// The Event and record a history entry's replayable call stands for; false when unreadable.
bool ParseReplay(const HistoryEntry& entry, Event* event, json* record);

// The key of a deleted resource's tombstone (kTombstonePrefix + key).
std::string TombstoneKey(const std::string& key);
// Who a principal is, for createdBy: its ARN, else user name, else invoking service, else type.
std::string PrincipalLabel(const Principal& p);

// The table-driven resolution of a write call (unknown_writes.cc): what it does to the resources
// it names, or with `history_only` only their history. False when the table has no entry for the
// call or the record carries none of the entry's members.
bool ApplyResourceCall(Op& op, bool history_only);

// The record as appliers see it (record_skim.cc). API calls: only the members appliers read,
// each parsed on its own, and their compact text in `text` (for history's replayable call).
// Config items are kept whole. An unreadable record reads as an empty object.
json ParseRecord(const Event& event, std::string* text);

void RegisterIamAppliers(HandlerMap* map);
void RegisterNetworkAppliers(HandlerMap* map);
void RegisterDataAppliers(HandlerMap* map);
void RegisterLoggingAppliers(HandlerMap* map);
void RegisterComputeAppliers(HandlerMap* map);
void RegisterTransitAppliers(HandlerMap* map);    // applier_transit.cc
void RegisterDetectionAppliers(HandlerMap* map);  // applier_detection.cc
void RegisterUsageAppliers(HandlerMap* map);      // applier_usage.cc

// Encryption in transit of a bucket (defined in applier_transit.cc): from the document's
// BucketPolicy, sets configuration.tlsRequired (the policy denies requests without TLS) and,
// once it has, configuration.tlsWasRequired; leaves both as they are when the policy is unknown.
void NoteBucketTls(json& doc);
// A Config item of a load balancer listener: configuration.loadBalancerScheme from the load
// balancer's document when driftwatch holds it and the item does not say (applier_transit.cc).
void NoteListenerScheme(const Op& op, json& doc);

// Credential use (applier_usage.cc). The name under which a use is recorded in history and
// replayed: no AWS API has it.
inline constexpr std::string_view kCredentialUsed = "driftwatch.CredentialUsed";
// Per applier: the day already stored as each access key's lastUsedDate (days only move forward,
// so a use on that day or before needs no read of the user's document).
struct UsageMemo {
  std::unordered_map<std::string, int64_t> key_day;
  std::string key_buffer;  // the user's resource key, built without allocating per call
};
// After a call is applied: stamps the day its IAM user's access key (or console password, for a
// successful ConsoleLogin) was used on the user's document, when that moves the stored day.
void NoteCredentialUse(const Event& event, BatchContext& ctx, std::vector<StateDelta>* deltas,
                       const HandlerMap* handlers, UsageMemo* memo);

// Instance configuration `cfg` (with imageId) of an instance in `account`/`region`: sets
// imageOwnerId (and imageOwnerAlias) from the image's document when driftwatch knows the image,
// else keeps what `previous` (the instance's former configuration, may be null) had for the
// same image. Defined in applier_compute.cc.
void StampImageOwner(const Op& op, const std::string& account, const std::string& region,
                     const json& previous, json& cfg);

// ARN of a resource whose ARN form is known, else "".
std::string MakeArn(const Target& t);
// Id in the resource key for a Config item: the name for types addressed by name (see doc).
bool KeyedByName(std::string_view type);
// Normalises a permission list in place to the one stored shape (see doc).
void NormalizeSecurityGroupPermissions(json& permissions);

}  // namespace driftwatch::applier
