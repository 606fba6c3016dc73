#pragma once
// The engine's narrow view of persistent state. Implementations: state/rocksdb_store.h (RocksDB)
// and state/memory_store.h (in-memory twin for tests). Threading: one writer (the pipeline);
// readers only through the query functions, from the same thread or after the writer stopped.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vocab/event.h"
#include "vocab/finding.h"
#include "vocab/status.h"

namespace driftwatch {

// MakeResourceKey (the key of a resource in state) is declared in vocab/event.h.

// One change to one resource, as kept in history. Ordered by (resource_key, time_ms, event_id).
struct HistoryEntry {
  std::string resource_key;
  int64_t time_ms = 0;
  std::string event_id;
  EventKind kind = EventKind::kApiCall;
  std::string action;  // eventName, or "ConfigurationItemChange"
  Actor actor;  // who made the change (empty for Config items)
  std::string change;  // JSON object: what changed (the applier's own words), or {}
  bool applied = true;  // false: older than the resource's last change, kept but not applied
  bool deleted = false;  // this change deleted the resource
  // The document after this change ("" when deleted or not applied); lets point-in-time
  // questions be answered from history alone.
  std::string document_after;
  // The call in the form the applier can apply again (Applier::ReplayText), so that a call
  // delivered late can be put in its place in event time and the later ones re-applied over
  // it. "" for Config items, unknown writes and records written before format version 2.
  std::string replay;
};

// The position key under which the pipeline keeps its event-time watermark (the newest event
// time committed), which also drives the seen-id time to live.
inline constexpr std::string_view kWatermarkPosition = "watermark";
// Position key prefix of an account's event-time clock: "clock:ACCOUNT" -> the newest event time
// of that account's events (never goes back). Time-driven checks of the account's resources fire
// against it. Do not change.
inline constexpr std::string_view kAccountClockPrefix = "clock:";
// Position keys of the retention horizons (state/retention.h): event time before which history
// entries, or indexed calls, may have been dropped. Absent: nothing was ever dropped. Never goes
// back. Do not change.
inline constexpr std::string_view kHistoryHorizonPosition = "horizon:history";
inline constexpr std::string_view kActivityHorizonPosition = "horizon:activity";

// Where a source stands: the next record to read. Kafka: "kafka:topic/partition"; files:
// "file:/abs/path".
struct SourcePosition {
  std::string source;
  int64_t next_offset = 0;
};

// One API call as the activity index keeps it (PipelineParts::record_activity): every CloudTrail
// call, read-only and failed ones too, so that `driftwatch incident` can list what a principal,
// key, source IP or session did. Layout: doc/state_format.md "Activity index".
struct ActivityRecord {
  int64_t time_ms = 0;
  std::string event_id;
  std::string event_source;
  std::string event_name;
  std::string error_code;  // empty when the call succeeded
  std::string region;
  std::string account;
  Actor actor;                // who made the call
  std::string session_name;  // AssumedRole: the role-session name
  bool read_only = false;
  std::vector<std::string> resource_keys;  // state resources the call changed, else named
  // Credentials this call handed out, so chains can be followed: sts AssumeRole* (assumed-role
  // ARN, temporary key, session name), GetSessionToken/GetFederationToken, iam CreateAccessKey
  // (new key; issued_arn is then the user name).
  std::string issued_access_key_id;
  std::string issued_arn;
  std::string issued_session_name;
  // Selected request/response fields (userName, roleName, policyArn, ...) as a JSON object, or "".
  std::string detail;
};

// What an activity scan is keyed by.
enum class ActivityIndex : uint8_t {
  kPrincipal = 'p',  // principal ARN
  kAccessKey = 'k',  // access key id
  kSourceIp = 'i',   // sourceIPAddress
  kSession = 's',    // role-session name
};

// One pipeline run's span of event times, and whether it indexed its calls. A window that no
// indexing run covers, or that a run without the index overlaps, has an incomplete call list.
struct ActivityRun {
  std::string run_id;
  bool indexed = false;
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};

// A history entry by what identifies it (its key), for deleting it.
struct HistoryRef {
  std::string resource_key;
  int64_t time_ms = 0;
  std::string event_id;
};

// An indexed call by what identifies it, for deleting it with every posting filed for it. The
// account routes the deletion (the changelog); stores ignore it. With postings_known, the index
// values it is filed under are given (ActivityRecord's actor arn, access key id and source IP,
// and session_name), so the store need not read the call to find its postings.
struct ActivityRef {
  int64_t time_ms = 0;
  std::string event_id;
  std::string account;
  bool postings_known = false;
  std::string principal_arn, access_key_id, source_ip, session_name;
};

// Everything one input batch changes, written atomically.
struct WriteSet {
  std::vector<std::pair<std::string, std::string>> put_resources;  // key -> document JSON
  std::vector<std::string> delete_resources;                      // keys
  std::vector<HistoryEntry> history;
  std::vector<std::pair<std::string, int64_t>> seen_event_ids;  // id -> event time (ms), for TTL
  std::vector<Finding> findings;                                // full finding, replaces
  std::vector<SourcePosition> positions;
  std::vector<ActivityRecord> activity;   // indexed under each of its keys
  std::vector<ActivityRun> activity_runs;  // replaces the stored run of the same id
  // Retention (state/retention.h): history entries and indexed calls to drop, after the puts
  // above. A ref to something not stored is no error.
  std::vector<HistoryRef> delete_history;
  std::vector<ActivityRef> delete_activity;
  // false: part of a batch whose last WriteSet is durable; the store may leave this one unsynced
  // (it is written in order before that one, and syncing that one syncs it).
  bool durable = true;
  // Not stored: which source (position key) the events behind these writes came from, by the
  // events' account and by remembered event id, for stores that route writes by source (the
  // changelog, kafka/changelog.h). Filled only with PipelineParts::route_sources.
  std::vector<std::pair<std::string, std::string>> account_sources;  // account -> source
  std::vector<std::pair<std::string, std::string>> event_sources;    // event id -> source
  bool empty() const {
    return put_resources.empty() && delete_resources.empty() && history.empty() &&
           seen_event_ids.empty() && findings.empty() && positions.empty() &&
           activity.empty() && activity_runs.empty() && delete_history.empty() &&
           delete_activity.empty();
  }
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Point reads return NotFound (code only, no message: a miss allocates nothing) when the key
  // is absent, and leave the output untouched then.
  virtual Status GetResource(std::string_view key, std::string* document) = 0;
  virtual Status HasSeenEvent(std::string_view event_id, bool* seen) = 0;
  virtual Status GetFinding(std::string_view finding_id, Finding* finding) = 0;
  virtual Status GetPosition(std::string_view source, int64_t* next_offset) = 0;

  // All of it or nothing; durable when it returns Ok (synced WAL).
  virtual Status Commit(const WriteSet& batch) = 0;

  // Queries. The callback returns false to stop the scan.
  virtual Status ScanResources(const std::function<bool(std::string_view key,
                                                        std::string_view document)>& fn) = 0;
  // History of one resource key (or every resource when key is empty), in time order.
  virtual Status ScanHistory(std::string_view resource_key,
                             const std::function<bool(const HistoryEntry&)>& fn) = 0;
  // History entries with time < before_ms of every resource whose key is >= from_resource_key,
  // in (resource, time) order: retention's scan, resumed where an earlier one stopped. Stores
  // with an ordered history seek from resource to resource and never read newer entries; the
  // default filters a full scan.
  virtual Status ScanHistoryBefore(std::string_view from_resource_key, int64_t before_ms,
                                   const std::function<bool(const HistoryEntry&)>& fn) {
    return ScanHistory("", [&](const HistoryEntry& e) {
      return e.resource_key < from_resource_key || e.time_ms >= before_ms ? true : fn(e);
    });
  }
  // History of one resource with from_ms <= time <= to_ms, in time order. Stores with an
  // ordered history seek to from_ms; the default filters a full scan of the resource.
  virtual Status ScanHistoryRange(std::string_view resource_key, int64_t from_ms, int64_t to_ms,
                                  const std::function<bool(const HistoryEntry&)>& fn) {
    return ScanHistory(resource_key, [&](const HistoryEntry& e) {
      if (e.time_ms < from_ms) return true;
      if (e.time_ms > to_ms) return false;
      return fn(e);
    });
  }
  // The newest history entry of one resource; NotFound when it has none.
  virtual Status LastHistory(std::string_view resource_key, HistoryEntry* entry) {
    bool found = false;
    Status s = ScanHistory(resource_key, [&](const HistoryEntry& e) {
      *entry = e;
      found = true;
      return true;
    });
    if (s.ok() && !found) return Status::NotFound();
    return s;
  }
  // History of one resource with time < before_ms, newest first. Stores with an ordered history
  // seek backwards from before_ms; the default collects a full scan of the resource.
  virtual Status ScanHistoryBackward(std::string_view resource_key, int64_t before_ms,
                                     const std::function<bool(const HistoryEntry&)>& fn) {
    std::vector<HistoryEntry> older;
    Status s = ScanHistory(resource_key, [&](const HistoryEntry& e) {
      if (e.time_ms >= before_ms) return false;
      older.push_back(e);
      return true;
    });
    if (!s.ok()) return s;
    for (auto it = older.rbegin(); it != older.rend(); ++it) {
      if (!fn(*it)) break;
    }
    return Status::Ok();
  }
  virtual Status ScanFindings(const std::function<bool(const Finding&)>& fn) = 0;

  // Calls indexed under `value` for `index` with from_ms <= time <= to_ms, in (time, event id)
  // order. Stores without an activity index report an error.
  virtual Status ScanActivity(ActivityIndex index, std::string_view value, int64_t from_ms,
                              int64_t to_ms,
                              const std::function<bool(const ActivityRecord&)>& fn) {
    (void)index, (void)value, (void)from_ms, (void)to_ms, (void)fn;
    return Status::NotSupported("this state store has no activity index");
  }
  virtual Status ScanActivityRuns(const std::function<bool(const ActivityRun&)>& fn) {
    (void)fn;
    return Status::NotSupported("this state store has no activity index");
  }
  // Indexed calls with from_ms <= time < before_ms, in (time, event id) order (for retention).
  // Stores without an activity index report an error.
  virtual Status ScanActivityCalls(int64_t from_ms, int64_t before_ms,
                                   const std::function<bool(const ActivityRecord&)>& fn) {
    (void)from_ms, (void)before_ms, (void)fn;
    return Status::NotSupported("this state store has no activity index");
  }
};

}  // namespace driftwatch
