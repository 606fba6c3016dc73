// The Applier and the operation every action applier works through: ordering by event time,
// tombstones, history entries and deltas live here, once, so that the per-action files only say
// what a call does to a document. Beside it: json_helpers.cc (reading any JSON shape),
// late_rebuild.cc (a call older than its resource's last change), unknown_writes.cc (write calls
// without an applier) and record_skim.cc (the record members appliers read).

#include "appliers/applier.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>

#include "appliers/applier_internal.h"
#include "appliers/aws_resource_calls.h"
#include "vocab/json_parse.h"
#include "vocab/json_text.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace applier {

// --- Op ------------------------------------------------------------------------------------

namespace {

int64_t LastChangeMs(const json& doc) {
  const json& ms = At(At(doc, "driftwatch"), "lastChangeMs");
  if (ms.is_number_integer()) return ms.get<int64_t>();
  int64_t t = 0;
  const json& capture = At(doc, "configurationItemCaptureTime");
  if (capture.is_string() && ParseTimestamp(capture.get_ref<const std::string&>(), &t)) return t;
  return INT64_MIN;
}

}  // namespace

std::string TombstoneKey(const std::string& key) {
  std::string k(kTombstonePrefix);
  k.append(key);
  return k;
}

std::string PrincipalLabel(const Principal& p) {
  if (!p.arn.empty()) return p.arn;
  if (!p.user_name.empty()) return p.user_name;
  if (!p.invoked_by.empty()) return p.invoked_by;
  return p.type;
}

Op::Op(const Event& event, const json& record, BatchContext& ctx, std::vector<StateDelta>* deltas,
       std::string_view record_text, const HandlerMap* handlers)
    : event_(event),
      record_(record),
      ctx_(ctx),
      deltas_(deltas),
      record_text_(record_text),
      handlers_(handlers) {}

Target Op::Regional(std::string type, std::string id) const {
  Target t;
  t.key_id = CanonicalResourceId(type, id);
  t.type = std::move(type);
  t.account = event_.account;
  t.region = event_.region;
  return t;
}

Target Op::Global(std::string type, std::string id) const {
  Target t = Regional(std::move(type), std::move(id));
  t.region = "global";
  return t;
}

json Op::NewDocument(const Target& t) const {
  json doc = json::object();
  doc["resourceType"] = t.type;
  doc["resourceId"] = t.resource_id.empty() ? t.key_id : t.resource_id;
  if (!t.name.empty()) doc["resourceName"] = t.name;
  doc["ARN"] = t.arn.empty() ? MakeArn(t) : t.arn;
  doc["awsRegion"] = t.region;
  doc["awsAccountId"] = t.account;
  doc["configuration"] = json::object();
  doc["supplementaryConfiguration"] = json::object();
  doc["tags"] = json::object();
  doc["relationships"] = json::array();
  doc["driftwatch"] = json::object();
  return doc;
}

void Op::StampCreator(json& doc) const {
  json& dw = ObjectAt(doc, "driftwatch");
  dw["createdBy"] = PrincipalLabel(event_.principal);
  dw["createdByType"] = event_.principal.type;
  dw["createdByAccessKey"] = event_.principal.access_key_id;
  dw["createdAt"] = FormatTimestamp(event_.time_ms);
  dw["createdByEvent"] = event_.id;
}

HistoryEntry Op::NewHistory(const std::string& key) const {
  HistoryEntry h;
  h.resource_key = key;
  h.time_ms = event_.time_ms;
  h.event_id = event_.id;
  h.kind = event_.kind;
  h.action = event_.event_name;
  h.actor = {event_.principal.type, event_.principal.arn, event_.principal.access_key_id,
             event_.source_ip};
  if (event_.kind == EventKind::kApiCall) h.replay = ReplayText();
  return h;
}

StateDelta Op::NewDelta(const Target& t, const std::string& key) const {
  StateDelta d;
  d.resource_key = key;
  d.type = t.type;
  d.id = t.key_id;
  d.arn = t.arn.empty() ? MakeArn(t) : t.arn;
  d.account = t.account;
  d.region = t.region;
  return d;
}

void Op::Update(const Target& t, const MutateFn& fn) { Apply(t, Mode::kUpdate, fn); }
void Op::Create(const Target& t, const MutateFn& fn) { Apply(t, Mode::kCreate, fn); }
void Op::Delete(const Target& t) { Apply(t, Mode::kDelete, nullptr); }

void Op::Transform(const Target& t, Mode mode, const MutateFn& fn, bool* exists, json* doc,
                   json* change) const {
  if (mode == Mode::kDelete) {
    (*change)["deleted"] = true;
    *exists = false;
    *doc = json();
    return;
  }
  const bool have = *exists;
  json work = (mode == Mode::kCreate || !have) ? NewDocument(t) : std::move(*doc);
  if (mode == Mode::kCreate) {
    StampCreator(work);
    (*change)["created"] = true;
  } else if (!have) {
    ObjectAt(work, "driftwatch")["partial"] = true;
  }
  if (!t.arn.empty()) work["ARN"] = t.arn;
  if (!t.resource_id.empty()) work["resourceId"] = t.resource_id;
  if (!t.name.empty()) work["resourceName"] = t.name;
  // A call with no effect on the fields still tells the state as of its time: it is stamped
  // like any change, so that an older call arriving later is put before it.
  if (fn && !fn(work, *change)) (*change)["noEffect"] = true;
  work["configurationItemCaptureTime"] = FormatTimestamp(event_.time_ms);
  work["configurationItemStatus"] = have ? "OK" : "ResourceDiscovered";
  json& dw = ObjectAt(work, "driftwatch");
  dw["lastChangeMs"] = event_.time_ms;
  dw["lastEventId"] = event_.id;
  dw["lastChangedBy"] = event_.principal.arn;
  dw["source"] = "cloudtrail";
  // Recreated (or created twice): nothing of the old document is kept but what Config can't know.
  if (mode == Mode::kCreate && have) (*change)["replacedExisting"] = true;
  *doc = std::move(work);
  *exists = true;
}

void Op::Apply(const Target& t, Mode mode, const MutateFn& fn) {
  touched_ = true;
  if (t.key_id.empty() || t.type.empty()) {
    RecordUnknownWrite();
    return;
  }
  const std::string key = MakeResourceKey(t.account, t.region, t.type, t.key_id);
  if (rebuild_ != nullptr) {
    if (key != rebuild_->key) return;  // another resource: not the one being rebuilt
    json change = json::object();
    bool exists = rebuild_->exists;
    Transform(t, mode, fn, &exists, &rebuild_->doc, &change);
    if (rebuild_->exists && !exists) {
      rebuild_->deleted_at_ms = event_.time_ms;
      rebuild_->deleted_by_event = event_.id;
    }
    rebuild_->exists = exists;
    return;
  }
  const std::string* before = nullptr;  // valid until the next call on ctx_
  std::shared_ptr<const json> parsed;
  const bool have = ctx_.ReadResource(key, &before, &parsed);
  json doc;
  int64_t last_ms = INT64_MIN;
  std::string last_event;
  bool tombstoned = false;
  if (have) {
    // A document the batch or the cache holds parsed: copying it is cheaper than parsing.
    doc = parsed != nullptr ? *parsed : ParseJson(*before);
    if (!doc.is_object()) doc = NewDocument(t);  // unreadable: start again rather than stop
    last_ms = LastChangeMs(doc);
    last_event = Str(At(doc, "driftwatch"), "lastEventId");
    // A redelivery that outlived the seen-id TTL: already applied, nothing to do.
    if (!event_.id.empty() && last_event == event_.id) return;
  } else {
    std::string tomb_text;
    if (ctx_.GetResource(TombstoneKey(key), &tomb_text)) {
      json tomb = ParseJson(tomb_text);
      const json& ms = At(tomb, "deletedAtMs");
      if (ms.is_number_integer()) {
        last_ms = ms.get<int64_t>();
        last_event = Str(tomb, "eventId");
        tombstoned = true;
        if (last_event == event_.id && !event_.id.empty()) return;
      }
    }
  }
  // Event time decides, and the event id breaks ties, so that any arrival order ends alike.
  const bool older = event_.time_ms < last_ms ||
                     (event_.time_ms == last_ms && !last_event.empty() && event_.id < last_event);
  // The document as it is, kept by an older call's delta (read before ApplyLate reads more).
  std::string unchanged;
  if (older && have) unchanged = *before;
  if (older && ApplyLate(t, key, have, tombstoned, NewHistory(key),
                         [&](bool* exists, json* d, json* change) {
                           Transform(t, mode, fn, exists, d, change);
                         })) {
    return;
  }

  HistoryEntry h = NewHistory(key);
  StateDelta d = NewDelta(t, key);
  json change = json::object();

  if (older) {
    // History cannot place it (a later change was kept without its call): kept, not applied.
    if (mode == Mode::kDelete) {
      change["deleted"] = true;
      h.deleted = true;
    }
    change["notApplied"] = "older than current document";
    h.applied = false;
    d.applied = false;
    d.after = std::move(unchanged);
    // The creator is news even when the configuration is not: Config does not know it.
    if (mode == Mode::kCreate && have && !At(At(doc, "driftwatch"), "createdBy").is_string()) {
      StampCreator(doc);
      change["creatorRecorded"] = true;
      d.after = Dump(doc);
      d.applied = true;
      ctx_.PutResource(key, d.after, std::make_shared<const json>(std::move(doc)));
    }
    h.change = Dump(change);
    ctx_.AddHistory(std::move(h));
    deltas_->push_back(std::move(d));
    return;
  }

  bool exists = have;
  Transform(t, mode, fn, &exists, &doc, &change);
  if (!exists) {
    h.deleted = true;
    if (have) ctx_.DeleteResource(key);
    json tomb = {{"deletedAtMs", event_.time_ms}, {"eventId", event_.id}};
    ctx_.PutResource(TombstoneKey(key), Dump(tomb));
    d.deleted = true;
  } else {
    std::string after = Dump(doc);
    if (tombstoned) ctx_.DeleteResource(TombstoneKey(key));
    ctx_.PutResource(key, after, std::make_shared<const json>(std::move(doc)));
    h.document_after = after;
    d.after = std::move(after);
  }
  h.change = Dump(change);
  ctx_.AddHistory(std::move(h));
  deltas_->push_back(std::move(d));
}

namespace {

// One member of the replay text, its strings written as every stored JSON string is.
void AppendMember(std::string* out, std::string_view name, std::string_view value) {
  if (out->back() != '{') out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

}  // namespace

const std::string& Op::ReplayText() const {
  if (replay_built_) return replay_;
  replay_built_ = true;
  if (record_text_.empty() || event_.kind != EventKind::kApiCall) return replay_;
  const Principal& p = event_.principal;
  std::string& r = replay_;
  r.reserve(256 + record_text_.size());
  r = "{\"v\":1";
  AppendMember(&r, "source", event_.event_source);
  AppendMember(&r, "name", event_.event_name);
  AppendMember(&r, "account", event_.account);
  AppendMember(&r, "region", event_.region);
  AppendMember(&r, "ip", event_.source_ip);
  r.append(",\"p\":{");
  AppendMember(&r, "type", p.type);
  AppendMember(&r, "arn", p.arn);
  AppendMember(&r, "account", p.account_id);
  AppendMember(&r, "key", p.access_key_id);
  AppendMember(&r, "user", p.user_name);
  AppendMember(&r, "session", p.session_name);
  AppendMember(&r, "issuer", p.issuer_arn);
  AppendMember(&r, "invokedBy", p.invoked_by);
  r.append("},\"record\":").append(record_text_).push_back('}');
  return replay_;
}

bool ParseReplay(const HistoryEntry& entry, Event* event, json* record) {
  json r = ParseJson(entry.replay);
  if (!r.is_object() || !At(r, "record").is_object()) return false;
  event->kind = EventKind::kApiCall;
  event->id = entry.event_id;
  event->time_ms = entry.time_ms;
  event->event_source = Str(r, "source");
  event->event_name = Str(r, "name");
  event->account = Str(r, "account");
  event->region = Str(r, "region");
  event->source_ip = Str(r, "ip");
  const json& p = At(r, "p");
  event->principal.type = Str(p, "type");
  event->principal.arn = Str(p, "arn");
  event->principal.account_id = Str(p, "account");
  event->principal.access_key_id = Str(p, "key");
  event->principal.user_name = Str(p, "user");
  event->principal.session_name = Str(p, "session");
  event->principal.issuer_arn = Str(p, "issuer");
  event->principal.invoked_by = Str(p, "invokedBy");
  *record = std::move(r["record"]);
  return true;
}

void Op::Dispatch() {
  if (handlers_ != nullptr) {
    auto it = handlers_->find(event_.event_name);
    if (it != handlers_->end()) {
      it->second(*this);
      // The hand-written applier resolved no resource (a record without the members it reads,
      // or the same name in another service): the call still goes to the history of what it
      // names, without changing documents the applier owns.
      if (!touched_ && rebuild_ == nullptr && !ApplyResourceCall(*this, true)) {
        RecordUnknownWrite();
      }
      return;
    }
  }
  if (ApplyResourceCall(*this, false)) return;
  if (!ApplyGeneric()) RecordUnknownWrite();
}

void Op::RecordUnknown(const Target& t) {
  if (rebuild_ != nullptr || t.key_id.empty() || t.type.empty()) return;
  touched_ = true;
  const std::string key = MakeResourceKey(t.account, t.region, t.type, t.key_id);
  HistoryEntry h = NewHistory(key);
  json change = {{"unknownWrite", true}};
  const json& rp = req();
  if (!rp.is_null()) {
    std::string text = Dump(rp);
    if (text.size() <= 4096) {
      change["requestParameters"] = rp;
    } else {
      change["requestParametersTruncated"] = text.substr(0, 4096);
    }
  }
  h.change = Dump(change);
  ctx_.AddHistory(std::move(h));
}

}  // namespace applier

// --- Applier -------------------------------------------------------------------------------

struct Applier::Impl {
  applier::HandlerMap handlers;
  std::string record_text;  // reused across calls
  applier::UsageMemo usage;
};

Applier::Applier() : impl_(new Impl) {
  applier::RegisterIamAppliers(&impl_->handlers);
  applier::RegisterNetworkAppliers(&impl_->handlers);
  applier::RegisterDataAppliers(&impl_->handlers);
  applier::RegisterLoggingAppliers(&impl_->handlers);
  applier::RegisterComputeAppliers(&impl_->handlers);
  applier::RegisterTransitAppliers(&impl_->handlers);
  applier::RegisterDetectionAppliers(&impl_->handlers);
  applier::RegisterUsageAppliers(&impl_->handlers);
}

void Applier::NoteUse(const Event& event, BatchContext& ctx, std::vector<StateDelta>* deltas) {
  applier::NoteCredentialUse(event, ctx, deltas, &impl_->handlers, &impl_->usage);
}

Applier::~Applier() { delete impl_; }

namespace {

bool AppliesTo(const Event& event) {
  if (event.kind == EventKind::kComplianceChange || event.kind == EventKind::kControl) {
    return false;
  }
  return event.kind != EventKind::kApiCall || (event.error_code.empty() && !event.read_only);
}

}  // namespace

void Applier::Prepare(const Event& event, PreparedEvent* out) {
  if (!AppliesTo(event)) return;
  out->record = applier::ParseRecord(event, &out->record_text);
  out->record_ready = true;
}

void Applier::Apply(const Event& event, BatchContext& ctx, std::vector<StateDelta>* deltas,
                    const PreparedEvent* prepared) {
  if (!AppliesTo(event)) return;
  const bool ready = prepared != nullptr && prepared->record_ready;
  applier::json parsed;
  if (!ready) parsed = applier::ParseRecord(event, &impl_->record_text);
  const applier::json& record = ready ? prepared->record : parsed;
  const std::string& record_text = ready ? prepared->record_text : impl_->record_text;
  // A record that slipped through with an errorCode the decoder did not lift is still failed.
  if (event.kind == EventKind::kApiCall && !applier::Str(record, "errorCode").empty()) return;
  try {
    applier::Op op(event, record, ctx, deltas, record_text, &impl_->handlers);
    if (event.kind == EventKind::kConfigItem) {
      op.ApplyConfigItem();
      return;
    }
    op.Dispatch();
  } catch (const std::exception& e) {
    // A JSON shape no applier foresaw: the event changes nothing rather than stop the stream.
    std::fprintf(stderr, "driftwatch: applier %s skipped event %s: %s\n", event.event_name.c_str(),
                 event.id.c_str(), e.what());
  }
}

}  // namespace driftwatch
