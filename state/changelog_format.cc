#include "state/changelog_format.h"

#include "state/activity_format.h"
#include "state/state_format.h"
#include "vocab/finding.h"
#include "vocab/resource_key.h"

namespace driftwatch::changelog_format {
namespace {

std::string KeyOf(Kind kind, std::string_view rest) {
  std::string key;
  key.reserve(1 + rest.size());
  key.push_back(static_cast<char>(kind));
  key.append(rest);
  return key;
}

}  // namespace

std::string_view AccountOfResourceKey(std::string_view resource_key) {
  ResourceKeyParts parts;
  ParseResourceKey(resource_key, &parts);
  // Only a '|' ends an account: a key without one names none.
  return parts.account.size() == resource_key.size() ? std::string_view() : parts.account;
}

void RecordsOf(const WriteSet& w, std::vector<Record>* out) {
  for (const auto& [key, doc] : w.put_resources) {
    Record r;
    r.key = KeyOf(Kind::kResource, key);
    r.value = doc;
    r.account = AccountOfResourceKey(key);
    out->push_back(std::move(r));
  }
  for (const std::string& key : w.delete_resources) {
    Record r;
    r.key = KeyOf(Kind::kResource, key);
    r.tombstone = true;
    r.account = AccountOfResourceKey(key);
    out->push_back(std::move(r));
  }
  for (const HistoryEntry& e : w.history) {
    Record r;
    r.key = KeyOf(Kind::kHistory, state_format::HistoryKey(e.resource_key, e.time_ms, e.event_id));
    r.value = state_format::EncodeHistoryValue(e);
    r.account = AccountOfResourceKey(e.resource_key);
    out->push_back(std::move(r));
  }
  for (const auto& [id, time_ms] : w.seen_event_ids) {
    Record r;
    r.key = KeyOf(Kind::kSeen, id);
    r.value = state_format::EncodeInt64(time_ms);
    r.event_id = id;
    out->push_back(std::move(r));
  }
  for (const Finding& f : w.findings) {
    Record r;
    r.key = KeyOf(Kind::kFinding, f.finding_id);
    r.value = FindingToStoredJson(f);
    r.account = f.resource.account;
    out->push_back(std::move(r));
  }
  for (const ActivityRecord& a : w.activity) {
    Record r;
    r.key = KeyOf(Kind::kActivity, state_format::EncodeInt64(a.time_ms) + a.event_id);
    r.value = activity_format::EncodeRecord(a);
    r.account = a.account;
    out->push_back(std::move(r));
  }
  for (const ActivityRun& run : w.activity_runs) {
    Record r;
    r.key = KeyOf(Kind::kActivityRun, run.run_id);
    r.value = activity_format::EncodeRun(run);
    out->push_back(std::move(r));
  }
  // Retention: tombstones of the dropped keys, after the puts (a compacted topic then drops the
  // keys; a restore drops them from the state).
  for (const HistoryRef& h : w.delete_history) {
    Record r;
    r.key = KeyOf(Kind::kHistory, state_format::HistoryKey(h.resource_key, h.time_ms, h.event_id));
    r.tombstone = true;
    r.account = AccountOfResourceKey(h.resource_key);
    out->push_back(std::move(r));
  }
  for (const ActivityRef& a : w.delete_activity) {
    Record r;
    r.key = KeyOf(Kind::kActivity, state_format::EncodeInt64(a.time_ms) + a.event_id);
    r.tombstone = true;
    r.account = a.account;
    out->push_back(std::move(r));
  }
  // Positions last: a reader that has a partition's position has everything written before it.
  for (const SourcePosition& p : w.positions) {
    Record r;
    r.key = KeyOf(Kind::kPosition, p.source);
    r.value = state_format::EncodeInt64(p.next_offset);
    r.source = p.source;
    out->push_back(std::move(r));
  }
}

Status AddRecord(std::string_view key, std::string_view value, bool tombstone, WriteSet* w) {
  if (key.empty()) return Status::Corruption("changelog record without a key");
  const Kind kind = static_cast<Kind>(key.front());
  const std::string_view rest = key.substr(1);
  auto unreadable = [&](const char* what) {
    return Status::Corruption(std::string("changelog record: unreadable ") + what);
  };
  if (tombstone && kind == Kind::kHistory) {
    HistoryRef h;
    if (!state_format::ParseHistoryKey(rest, &h.resource_key, &h.time_ms, &h.event_id)) {
      return unreadable("history tombstone");
    }
    w->delete_history.push_back(std::move(h));
    return Status::Ok();
  }
  if (tombstone && kind == Kind::kActivity) {
    ActivityRef a;
    if (rest.size() < 8 || !state_format::DecodeInt64(rest.substr(0, 8), &a.time_ms)) {
      return unreadable("activity tombstone");
    }
    a.event_id.assign(rest.substr(8));
    w->delete_activity.push_back(std::move(a));
    return Status::Ok();
  }
  if (tombstone && kind != Kind::kResource) {
    // Resources are deleted, history and calls dropped by retention; a tombstone of another kind
    // is compaction's business.
    return Status::Ok();
  }
  switch (kind) {
    case Kind::kResource:
      if (tombstone) {
        w->delete_resources.emplace_back(rest);
      } else {
        w->put_resources.emplace_back(std::string(rest), std::string(value));
      }
      return Status::Ok();
    case Kind::kHistory: {
      HistoryEntry e;
      if (!state_format::ParseHistoryKey(rest, &e.resource_key, &e.time_ms, &e.event_id) ||
          !state_format::DecodeHistoryValue(value, &e)) {
        return unreadable("history entry");
      }
      w->history.push_back(std::move(e));
      return Status::Ok();
    }
    case Kind::kSeen: {
      int64_t time_ms = 0;
      if (!state_format::DecodeInt64(value, &time_ms)) return unreadable("seen event id");
      w->seen_event_ids.emplace_back(std::string(rest), time_ms);
      return Status::Ok();
    }
    case Kind::kFinding: {
      Finding f;
      if (!FindingFromJson(value, &f) || f.finding_id != rest) return unreadable("finding");
      w->findings.push_back(std::move(f));
      return Status::Ok();
    }
    case Kind::kPosition: {
      int64_t next = 0;
      if (!state_format::DecodeInt64(value, &next)) return unreadable("position");
      w->positions.push_back({std::string(rest), next});
      return Status::Ok();
    }
    case Kind::kActivity: {
      ActivityRecord a;
      if (!activity_format::DecodeRecord(value, &a)) return unreadable("activity record");
      w->activity.push_back(std::move(a));
      return Status::Ok();
    }
    case Kind::kActivityRun: {
      ActivityRun run;
      if (!activity_format::DecodeRun(activity_format::RunKey(rest), value, &run)) {
        return unreadable("activity run");
      }
      w->activity_runs.push_back(std::move(run));
      return Status::Ok();
    }
  }
  return Status::Corruption("changelog record of unknown kind 0x" +
                            std::string(1, "0123456789abcdef"[(key.front() >> 4) & 0xf]) +
                            std::string(1, "0123456789abcdef"[key.front() & 0xf]));
}

}  // namespace driftwatch::changelog_format
