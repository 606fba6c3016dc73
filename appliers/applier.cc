// The Applier and the operation every action applier works through: ordering by event time,
// tombstones, history entries and deltas live here, once, so that the per-action files only say
// what a call does to a document.

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
#include "vocab/json_text.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace applier {

// --- JSON helpers --------------------------------------------------------------------------

const json& At(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

const json& AtNoCase(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto exact = j.find(key);
  if (exact != j.end()) return *exact;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() == key.size() && std::equal(k.begin(), k.end(), key.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return *it;
    }
  }
  return kNull;
}

std::string Str(const json& j, std::string_view key) {
  const json& v = At(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::string ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::string();
}

bool BoolOf(const json& v, bool* out) {
  if (v.is_boolean()) {
    *out = v.get<bool>();
    return true;
  }
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "true") {
      *out = true;
      return true;
    }
    if (s == "false") {
      *out = false;
      return true;
    }
  }
  return false;
}

json Items(const json& j) {
  if (j.is_array()) return j;
  if (j.is_object()) {
    const json& items = At(j, "items");
    if (items.is_array()) return items;
    if (items.is_object()) return json::array({items});
    const json& item = At(j, "item");
    if (item.is_array()) return item;
    if (item.is_object()) return json::array({item});
    if (j.contains("items")) return json::array();
    if (!j.empty()) return json::array({j});
  }
  return json::array();
}

json& ObjectAt(json& parent, const char* key) {
  json& v = parent[key];
  if (!v.is_object()) v = json::object();
  return v;
}

json& ArrayAt(json& parent, const char* key) {
  json& v = parent[key];
  if (!v.is_array()) v = json::array();
  return v;
}

std::string Dump(const json& j) { return JsonText(j); }

std::string ArnLastSegment(std::string_view arn) {
  if (arn.substr(0, 4) != "arn:") return std::string(arn);
  const size_t slash = arn.rfind('/');
  if (slash != std::string_view::npos) return std::string(arn.substr(slash + 1));
  const size_t colon = arn.rfind(':');
  return std::string(arn.substr(colon + 1));
}

namespace {

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string PolicyText(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.rfind("%7B", 0) == 0 || s.rfind("%7b", 0) == 0) return UrlDecode(s);
    return s;
  }
  if (v.is_array() && v.size() == 1) return Dump(v[0]);
  if (v.is_object() || v.is_array()) return Dump(v);
  return std::string();
}

std::string NormalizeTime(const json& v, int64_t fallback_ms) {
  int64_t ms = 0;
  if (v.is_string() && ParseTimestamp(v.get_ref<const std::string&>(), &ms)) {
    return FormatTimestamp(ms);
  }
  if (v.is_number_integer()) return FormatTimestamp(v.get<int64_t>());
  return FormatTimestamp(fallback_ms);
}

size_t EraseIf(json& array, const std::function<bool(const json&)>& pred) {
  if (!array.is_array()) return 0;
  size_t removed = 0;
  for (size_t i = array.size(); i-- > 0;) {
    if (pred(array[i])) {
      array.erase(i);
      ++removed;
    }
  }
  return removed;
}

// --- Type facts ----------------------------------------------------------------------------

bool KeyedByName(std::string_view type) {
  return type == "AWS::IAM::User" || type == "AWS::IAM::Role" || type == "AWS::IAM::Group" ||
         type == "AWS::RDS::DBInstance" || type == "AWS::RDS::DBSnapshot";
}

std::string MakeArn(const Target& t) {
  const std::string& a = t.account;
  const std::string& r = t.region;
  const std::string& id = t.key_id;
  if (t.type == "AWS::IAM::User") return "arn:aws:iam::" + a + ":user/" + id;
  if (t.type == "AWS::IAM::Role") return "arn:aws:iam::" + a + ":role/" + id;
  if (t.type == "AWS::IAM::Group") return "arn:aws:iam::" + a + ":group/" + id;
  if (t.type == "AWS::S3::Bucket") return "arn:aws:s3:::" + id;
  if (t.type == "AWS::KMS::Key") return "arn:aws:kms:" + r + ":" + a + ":key/" + id;
  if (t.type == "AWS::CloudTrail::Trail")
    return "arn:aws:cloudtrail:" + r + ":" + a + ":trail/" + id;
  if (t.type == "AWS::RDS::DBInstance") return "arn:aws:rds:" + r + ":" + a + ":db:" + id;
  if (t.type == "AWS::RDS::DBSnapshot") return "arn:aws:rds:" + r + ":" + a + ":snapshot:" + id;
  if (t.type == "AWS::GuardDuty::Detector")
    return "arn:aws:guardduty:" + r + ":" + a + ":detector/" + id;
  static const std::pair<const char*, const char*> kEc2[] = {
      {"AWS::EC2::SecurityGroup", "security-group"},
      {"AWS::EC2::NetworkAcl", "network-acl"},
      {"AWS::EC2::RouteTable", "route-table"},
      {"AWS::EC2::InternetGateway", "internet-gateway"},
      {"AWS::EC2::Instance", "instance"},
      {"AWS::EC2::VPC", "vpc"},
      {"AWS::EC2::Subnet", "subnet"},
      {"AWS::EC2::Volume", "volume"},
      {"AWS::EC2::FlowLog", "vpc-flow-log"}};
  for (const auto& [type, kind] : kEc2) {
    if (t.type == type) return "arn:aws:ec2:" + r + ":" + a + ":" + kind + "/" + id;
  }
  if (t.type == "AWS::EC2::Snapshot") return "arn:aws:ec2:" + r + "::snapshot/" + id;
  if (t.type == "AWS::EC2::Image") return "arn:aws:ec2:" + r + "::image/" + id;
  return std::string();
}

// --- Op ------------------------------------------------------------------------------------

namespace {

std::string TombstoneKey(const std::string& key) {
  std::string k(kTombstonePrefix);
  k.append(key);
  return k;
}

int64_t LastChangeMs(const json& doc) {
  const json& ms = At(At(doc, "driftwatch"), "lastChangeMs");
  if (ms.is_number_integer()) return ms.get<int64_t>();
  int64_t t = 0;
  const json& capture = At(doc, "configurationItemCaptureTime");
  if (capture.is_string() && ParseTimestamp(capture.get_ref<const std::string&>(), &t)) return t;
  return INT64_MIN;
}

std::string PrincipalLabel(const Principal& p) {
  if (!p.arn.empty()) return p.arn;
  if (!p.user_name.empty()) return p.user_name;
  if (!p.invoked_by.empty()) return p.invoked_by;
  return p.type;
}

}  // namespace

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
  h.principal_arn = event_.principal.arn;
  h.principal_type = event_.principal.type;
  h.access_key_id = event_.principal.access_key_id;
  h.source_ip = event_.source_ip;
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
  std::string before;
  const bool have = ctx_.GetResource(key, &before);
  json doc;
  int64_t last_ms = INT64_MIN;
  std::string last_event;
  bool tombstoned = false;
  if (have) {
    // A document this batch already changed comes parsed: copying it is cheaper than parsing.
    if (std::shared_ptr<const json> parsed = ctx_.ParsedResource(key)) {
      doc = *parsed;
    } else {
      doc = json::parse(before, nullptr, false);
    }
    if (!doc.is_object()) doc = NewDocument(t);  // unreadable: start again rather than stop
    last_ms = LastChangeMs(doc);
    last_event = Str(At(doc, "driftwatch"), "lastEventId");
    // A redelivery that outlived the seen-id TTL: already applied, nothing to do.
    if (!event_.id.empty() && last_event == event_.id) return;
  } else {
    std::string tomb_text;
    if (ctx_.GetResource(TombstoneKey(key), &tomb_text)) {
      json tomb = json::parse(tomb_text, nullptr, false);
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
  const bool older = event_.time_ms < last_ms || (event_.time_ms == last_ms &&
                                                  !last_event.empty() && event_.id < last_event);
  if (older && ApplyLate(t, key, have, tombstoned, NewHistory(key),
                         [&](bool* exists, json* d, json* change) {
                           Transform(t, mode, fn, exists, d, change);
                         })) {
    return;
  }

  HistoryEntry h = NewHistory(key);
  StateDelta d = NewDelta(t, key);
  if (have) d.before = std::move(before);
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
    d.after = d.before;
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

bool Op::ApplyLate(const Target& t, const std::string& key, bool have, bool tombstoned,
                   HistoryEntry h, const StepFn& apply) {
  if (handlers_ == nullptr) return false;
  std::vector<HistoryEntry> entries;
  ctx_.HistoryOf(key, h.time_ms, &entries);
  // The change's place in event time: after every entry that sorts before (time, event id).
  size_t place = 0;
  while (place < entries.size() &&
         (entries[place].time_ms < h.time_ms ||
          (entries[place].time_ms == h.time_ms && entries[place].event_id < h.event_id))) {
    ++place;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    // Already in history: a redelivery, nothing to do.
    if (!h.event_id.empty() && entries[i].event_id == h.event_id) return true;
    // A later change that changed the document but cannot be applied again.
    if (i >= place && entries[i].kind == EventKind::kApiCall && entries[i].replay.empty() &&
        (!entries[i].document_after.empty() || entries[i].deleted)) {
      return false;
    }
  }
  // The document just before the call: what the last change before it left.
  Rebuild rb;
  rb.key = key;
  for (size_t i = place; i-- > 0;) {
    const HistoryEntry& e = entries[i];
    if (e.deleted && e.applied) break;
    if (!e.document_after.empty()) {
      rb.doc = json::parse(e.document_after, nullptr, false);
      rb.exists = rb.doc.is_object();
      break;
    }
  }
  if (!rb.exists) rb.doc = json();

  // This call in its place. Rules see every step from here on, each as of its own call.
  std::string step_before = rb.exists ? Dump(rb.doc) : std::string();
  auto step = [&](std::string after, std::shared_ptr<const Event> cause) {
    StateDelta d = NewDelta(t, key);
    d.before = std::move(step_before);
    d.deleted = !rb.exists;
    d.after = after;
    d.cause = std::move(cause);
    step_before = std::move(after);
    deltas_->push_back(std::move(d));
  };
  json change = json::object();
  const bool existed = rb.exists;
  apply(&rb.exists, &rb.doc, &change);
  change["appliedLate"] = true;
  if (existed && !rb.exists) {
    rb.deleted_at_ms = h.time_ms;
    rb.deleted_by_event = h.event_id;
  }
  h.applied = true;
  h.deleted = change.contains("deleted");
  h.document_after = rb.exists ? Dump(rb.doc) : std::string();
  h.change = Dump(change);
  step(h.document_after, nullptr);
  ctx_.AddHistory(std::move(h));

  // The later changes over it, in event-time order; their history records the new documents.
  for (size_t i = place; i < entries.size(); ++i) {
    HistoryEntry& e = entries[i];
    if (e.kind == EventKind::kConfigItem) {
      // A configuration item is the whole document as AWS Config saw it.
      if (!e.applied) continue;
      auto item = std::make_shared<Event>();
      item->kind = EventKind::kConfigItem;
      item->id = e.event_id;
      item->time_ms = e.time_ms;
      item->event_name = e.action;
      item->principal.arn = e.principal_arn;
      item->principal.type = e.principal_type;
      if (e.deleted) {
        if (rb.exists) {
          rb.deleted_at_ms = e.time_ms;
          rb.deleted_by_event = e.event_id;
        }
        rb.exists = false;
        rb.doc = json();
      } else if (!e.document_after.empty()) {
        json d = json::parse(e.document_after, nullptr, false);
        if (d.is_object()) {
          rb.doc = std::move(d);
          rb.exists = true;
        }
      }
      step(rb.exists ? Dump(rb.doc) : std::string(), std::move(item));
      continue;
    }
    if (e.replay.empty()) continue;  // unknown writes: history only
    Event call;
    json record;
    if (!ParseReplay(e, &call, &record)) continue;
    const bool existed_before = rb.exists;
    Op again(call, record, ctx_, nullptr, {}, handlers_);
    again.replay_ = e.replay;
    again.replay_built_ = true;
    again.set_rebuild(&rb);
    try {
      again.Dispatch();
    } catch (const std::exception&) {
      continue;  // as when it first came: a shape no applier foresaw changes nothing
    }
    std::string after = rb.exists ? Dump(rb.doc) : std::string();
    const bool deleted = existed_before && !rb.exists;
    step(after, std::make_shared<const Event>(call));
    if (!e.applied || e.document_after != after || e.deleted != deleted) {
      if (!e.applied) {
        json c = json::parse(e.change, nullptr, false);
        if (c.is_object()) {
          c.erase("notApplied");
          e.change = Dump(c);
        }
      }
      e.applied = true;
      e.deleted = deleted;
      e.document_after = std::move(after);
      ctx_.AddHistory(e);
    }
  }

  if (rb.exists) {
    if (tombstoned) ctx_.DeleteResource(TombstoneKey(key));
    ctx_.PutResource(key, step_before, std::make_shared<const json>(std::move(rb.doc)));
  } else {
    if (have) ctx_.DeleteResource(key);
    json tomb = {{"deletedAtMs", rb.deleted_at_ms}, {"eventId", rb.deleted_by_event}};
    ctx_.PutResource(TombstoneKey(key), Dump(tomb));
  }
  return true;
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
  json r = json::parse(entry.replay, nullptr, false);
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

namespace {
// The table-driven resolution of a write call (defined below): what it does to the resources it
// names, or with `history_only` only their history. False when the table has no entry for the
// call or the record carries none of the entry's members.
bool ApplyResourceCall(Op& op, bool history_only);
}  // namespace

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

// --- Resolving resources the generic way ----------------------------------------------------

namespace {

struct ServiceName {
  const char* source_prefix;  // "ec2" of "ec2.amazonaws.com"
  const char* config_name;    // "EC2" of "AWS::EC2::..."
};
constexpr ServiceName kServices[] = {
    {"ec2", "EC2"},
    {"iam", "IAM"},
    {"s3", "S3"},
    {"rds", "RDS"},
    {"kms", "KMS"},
    {"lambda", "Lambda"},
    {"sns", "SNS"},
    {"sqs", "SQS"},
    {"dynamodb", "DynamoDB"},
    {"cloudtrail", "CloudTrail"},
    {"config", "Config"},
    {"guardduty", "GuardDuty"},
    {"ecs", "ECS"},
    {"eks", "EKS"},
    {"ecr", "ECR"},
    {"elasticloadbalancing", "ElasticLoadBalancingV2"},
    {"logs", "Logs"},
    {"secretsmanager", "SecretsManager"},
    {"ssm", "SSM"},
    {"cloudformation", "CloudFormation"},
    {"redshift", "Redshift"},
    {"elasticfilesystem", "EFS"},
    {"route53", "Route53"},
    {"cloudfront", "CloudFront"},
    {"apigateway", "ApiGateway"},
    {"autoscaling", "AutoScaling"},
    {"elasticache", "ElastiCache"},
    {"kinesis", "Kinesis"},
};

// Nouns of EC2/other calls whose AWS Config type is spelt differently from the call.
constexpr std::pair<const char*, const char*> kTypeSpelling[] = {
    {"AWS::EC2::Vpc", "AWS::EC2::VPC"},
    {"AWS::EC2::VpcEndpoint", "AWS::EC2::VPCEndpoint"},
    {"AWS::EC2::VpcPeeringConnection", "AWS::EC2::VPCPeeringConnection"},
    {"AWS::EC2::Key", "AWS::EC2::KeyPair"},
    {"AWS::EC2::FlowLogs", "AWS::EC2::FlowLog"},
    {"AWS::EC2::Tags", ""},
    {"AWS::Logs::LogGroup", "AWS::Logs::LogGroup"},
    {"AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer"},
};

// requestParameters keys that name a resource of a known type.
constexpr std::pair<const char*, const char*> kIdKeys[] = {
    {"groupId", "AWS::EC2::SecurityGroup"},
    {"instanceId", "AWS::EC2::Instance"},
    {"bucketName", "AWS::S3::Bucket"},
    {"userName", "AWS::IAM::User"},
    {"roleName", "AWS::IAM::Role"},
    {"groupName", ""},  // IAM group or EC2 group name: ambiguous, skipped
    {"keyId", "AWS::KMS::Key"},
    {"networkAclId", "AWS::EC2::NetworkAcl"},
    {"routeTableId", "AWS::EC2::RouteTable"},
    {"internetGatewayId", "AWS::EC2::InternetGateway"},
    {"vpcId", "AWS::EC2::VPC"},
    {"subnetId", "AWS::EC2::Subnet"},
    {"snapshotId", "AWS::EC2::Snapshot"},
    {"imageId", "AWS::EC2::Image"},
    {"volumeId", "AWS::EC2::Volume"},
    {"dBInstanceIdentifier", "AWS::RDS::DBInstance"},
    {"dBSnapshotIdentifier", "AWS::RDS::DBSnapshot"},
    {"detectorId", "AWS::GuardDuty::Detector"},
    {"functionName", "AWS::Lambda::Function"},
    {"trailName", "AWS::CloudTrail::Trail"},
    {"flowLogId", "AWS::EC2::FlowLog"},
};

constexpr std::pair<const char*, const char*> kIdPrefixes[] = {
    {"sg-", "AWS::EC2::SecurityGroup"},
    {"i-", "AWS::EC2::Instance"},
    {"vpc-", "AWS::EC2::VPC"},
    {"subnet-", "AWS::EC2::Subnet"},
    {"acl-", "AWS::EC2::NetworkAcl"},
    {"rtb-", "AWS::EC2::RouteTable"},
    {"igw-", "AWS::EC2::InternetGateway"},
    {"vol-", "AWS::EC2::Volume"},
    {"snap-", "AWS::EC2::Snapshot"},
    {"ami-", "AWS::EC2::Image"},
    {"eni-", "AWS::EC2::NetworkInterface"},
    {"fl-", "AWS::EC2::FlowLog"},
    {"nat-", "AWS::EC2::NatGateway"},
    {"eipalloc-", "AWS::EC2::EIP"},
    {"tgw-attach-", "AWS::EC2::TransitGatewayAttachment"},
    {"tgw-rtb-", "AWS::EC2::TransitGatewayRouteTable"},
    {"tgw-", "AWS::EC2::TransitGateway"},
    {"vpce-", "AWS::EC2::VPCEndpoint"},
    {"pcx-", "AWS::EC2::VPCPeeringConnection"},
    {"lt-", "AWS::EC2::LaunchTemplate"},
    {"key-", "AWS::EC2::KeyPair"},
    {"dopt-", "AWS::EC2::DHCPOptions"},
    {"eigw-", "AWS::EC2::EgressOnlyInternetGateway"},
    {"cgw-", "AWS::EC2::CustomerGateway"},
    {"vgw-", "AWS::EC2::VPNGateway"},
    {"vpn-", "AWS::EC2::VPNConnection"},
    {"tmf-", "AWS::EC2::TrafficMirrorFilter"},
    {"tmt-", "AWS::EC2::TrafficMirrorTarget"},
    {"tms-", "AWS::EC2::TrafficMirrorSession"},
    {"pl-", "AWS::EC2::PrefixList"},
    {"ipam-", "AWS::EC2::IPAM"},
    {"sir-", "AWS::EC2::SpotInstanceRequest"},
    {"fleet-", "AWS::EC2::EC2Fleet"},
    {"h-", "AWS::EC2::Host"},
};

bool IsGlobalType(std::string_view type) {
  return type.rfind("AWS::IAM::", 0) == 0 || type.rfind("AWS::CloudFront::", 0) == 0 ||
         type.rfind("AWS::Route53::", 0) == 0;
}

std::string ServiceOf(std::string_view event_source) {
  const std::string_view prefix = event_source.substr(0, event_source.find('.'));
  for (const ServiceName& s : kServices) {
    if (prefix == s.source_prefix) return s.config_name;
  }
  if (prefix.empty()) return std::string();
  std::string name(prefix);
  name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return name;
}

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// Depth-first search for a string (or number) member named `key`; fills the object holding it.
bool FindMember(const json& j, const std::string& key, int depth, std::string* value,
                const json** holder) {
  if (depth < 0) return false;
  if (j.is_object()) {
    const json& v = At(j, key);
    std::string text = ScalarText(v);
    if (!text.empty()) {
      *value = std::move(text);
      *holder = &j;
      return true;
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (FindMember(*it, key, depth - 1, value, holder)) return true;
    }
  } else if (j.is_array()) {
    for (const json& e : j) {
      if (FindMember(e, key, depth - 1, value, holder)) return true;
    }
  }
  return false;
}

std::string TypeOfId(std::string_view key, std::string_view value) {
  for (const auto& [k, type] : kIdKeys) {
    if (key == k) return type;
  }
  if (key.size() > 2 && key.substr(key.size() - 2) == "Id") {
    for (const auto& [prefix, type] : kIdPrefixes) {
      if (value.rfind(prefix, 0) == 0) return type;
    }
  }
  return std::string();
}

void CollectIds(const json& j, int depth, std::vector<std::pair<std::string, std::string>>* out) {
  if (depth < 0 || out->size() >= 16) return;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_string()) {
        const std::string& v = it->get_ref<const std::string&>();
        std::string type = TypeOfId(it.key(), v);
        if (!type.empty() && !v.empty()) {
          out->emplace_back(std::move(type), type == "AWS::KMS::Key" ? ArnLastSegment(v) : v);
        }
      } else {
        CollectIds(*it, depth - 1, out);
      }
    }
  } else if (j.is_array()) {
    for (const json& e : j) CollectIds(e, depth - 1, out);
  }
}

}  // namespace

namespace {

std::vector<Target> ResourcesNamed(const Op& op) {
  std::vector<Target> out;
  const Event& ev = op.event();
  auto add = [&](std::string type, std::string id, std::string arn) {
    if (type.empty() || id.empty()) return;
    Target t = IsGlobalType(type) ? op.Global(type, id) : op.Regional(type, id);
    if (!arn.empty()) t.arn = std::move(arn);
    for (const Target& existing : out) {
      if (existing.type == t.type && existing.key_id == t.key_id) return;
    }
    out.push_back(std::move(t));
  };
  for (const ResourceRef& r : ev.resources) {
    add(r.type, !r.id.empty() ? r.id : ArnLastSegment(r.arn), r.arn);
  }
  for (const json& r : Items(At(op.record(), "resources"))) {
    const std::string arn = Str(r, "ARN");
    add(Str(r, "type"), ArnLastSegment(arn), arn);
  }
  std::vector<std::pair<std::string, std::string>> ids;
  CollectIds(op.req(), 4, &ids);
  for (auto& [type, id] : ids) add(type, id, std::string());
  return out;
}

}  // namespace

void Op::RecordUnknownWrite() {
  for (const Target& t : ResourcesNamed(*this)) RecordUnknown(t);
}

bool Op::ApplyGeneric() {
  const std::string& name = event_.event_name;
  std::string noun;
  bool create = false;
  if (name.rfind("Create", 0) == 0) {
    noun = name.substr(6);
    create = true;
  } else if (name.rfind("Run", 0) == 0) {
    noun = name.substr(3);
    create = true;
  } else if (name.rfind("Delete", 0) == 0) {
    noun = name.substr(6);
  } else {
    return false;
  }
  if (noun.empty()) return false;

  Target t;
  // 1. The resources the record names itself.
  for (const ResourceRef& r : event_.resources) {
    if (r.type.empty() || (r.id.empty() && r.arn.empty())) continue;
    std::string id = r.id.empty() ? ArnLastSegment(r.arn) : r.id;
    t = IsGlobalType(r.type) ? Global(r.type, id) : Regional(r.type, id);
    t.arn = r.arn;
    break;
  }
  if (t.key_id.empty()) {
    for (const json& r : Items(At(record_, "resources"))) {
      const std::string arn = Str(r, "ARN");
      const std::string type = Str(r, "type");
      if (type.empty() || arn.empty()) continue;
      t = IsGlobalType(type) ? Global(type, ArnLastSegment(arn))
                             : Regional(type, ArnLastSegment(arn));
      t.arn = arn;
      break;
    }
  }
  // 2. "<noun>Id" / "<noun>Name" in the response (create) or request.
  const json* holder = nullptr;
  if (t.key_id.empty()) {
    const std::string service = ServiceOf(event_.event_source);
    if (service.empty()) return false;
    std::string type = "AWS::" + service + "::" + noun;
    for (const auto& [from, to] : kTypeSpelling) {
      if (type == from) type = to;
    }
    if (type.empty()) return false;
    std::string singular = noun;
    if (singular.size() > 1 && singular.back() == 's') singular.pop_back();
    std::string id;
    for (const std::string& n : {noun, singular}) {
      for (const char* suffix : {"Id", "Name", "Identifier", "Arn"}) {
        const std::string k = LowerFirst(n) + suffix;
        if ((create && FindMember(resp(), k, 3, &id, &holder)) ||
            FindMember(req(), k, 3, &id, &holder)) {
          break;
        }
      }
      if (!id.empty()) break;
    }
    // A bare "name" at the top of the request (calls no model describes name resources so).
    if (id.empty()) id = ScalarText(At(req(), "name"));
    if (id.empty()) return false;
    t = IsGlobalType(type) ? Global(type, ArnLastSegment(id)) : Regional(type, ArnLastSegment(id));
    if (id.rfind("arn:", 0) == 0) t.arn = id;
  }
  if (create) {
    const json* config =
        (holder != nullptr && holder != &resp() && holder != &req()) ? holder : nullptr;
    Create(t, [config](json& doc, json&) {
      if (config != nullptr) doc["configuration"] = *config;
      return true;
    });
  } else {
    Delete(t);
  }
  return true;
}


// --- Resolving resources from AWS's service models ------------------------------------------
// appliers/aws_resource_calls.h: per write operation, the resource type, the members naming it and
// what the call does to it. Hand-written appliers run first (Dispatch).

namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

void CollectStrings(const json& v, std::vector<std::string>* out) {
  if (out->size() >= 64) return;
  if (v.is_string()) {
    if (!v.get_ref<const std::string&>().empty()) out->push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const json& e : v) CollectStrings(e, out);
  } else if (v.is_object()) {
    // EC2's {"items": [{"instanceId": ...}]} and one-member wrappers.
    for (auto it = v.begin(); it != v.end(); ++it) CollectStrings(*it, out);
  }
}

// Every value of members named `name` (any case), depth first; `holder` gets the object holding
// the first one.
void FindValues(const json& j, std::string_view name, int depth, std::vector<std::string>* out,
                const json** holder) {
  if (depth < 0 || out->size() >= 64) return;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (EqualsNoCase(it.key(), name)) {
        const size_t before = out->size();
        CollectStrings(*it, out);
        if (out->size() > before && *holder == nullptr) *holder = &j;
      } else if (it->is_structured()) {
        FindValues(*it, name, depth - 1, out, holder);
      }
    }
  } else if (j.is_array()) {
    for (const json& e : j) FindValues(e, name, depth - 1, out, holder);
  }
}

// The values of the first of `members` ('|'-separated) that `j` holds.
std::vector<std::string> MemberValues(const json& j, std::string_view members,
                                      const json** holder) {
  std::vector<std::string> out;
  while (!members.empty() && out.empty()) {
    const size_t bar = members.find('|');
    const std::string_view name = members.substr(0, bar);
    members = bar == std::string_view::npos ? std::string_view() : members.substr(bar + 1);
    *holder = nullptr;
    if (!name.empty()) FindValues(j, name, 4, &out, holder);
  }
  return out;
}

// The id a resource is keyed by, from an ARN: the resource part without its kind
// ("function:f:3" -> "f", "secret:db-AbCdEf" -> "db", "parameter/a/b" -> "a/b"); IAM paths
// ("instance-profile/path/name") keep their last segment.
std::string IdFromArn(std::string_view type, std::string_view arn) {
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    pos = arn.find(':', i == 0 ? 0 : pos + 1);
    if (pos == std::string_view::npos) return std::string(arn);
  }
  std::string_view rest = arn.substr(pos + 1);
  const bool s3 = arn.substr(0, 11).find(":s3:") != std::string_view::npos;
  if (s3) return std::string(rest.substr(0, rest.find('/')));
  const size_t sep = rest.find_first_of("/:");
  if (sep != std::string_view::npos) rest = rest.substr(sep + 1);
  if (type.rfind("AWS::IAM::", 0) == 0) {
    const size_t slash = rest.rfind('/');
    if (slash != std::string_view::npos) rest = rest.substr(slash + 1);
  }
  if (type == "AWS::Lambda::Function") rest = rest.substr(0, rest.find(':'));
  std::string id(rest);
  // Secrets Manager appends '-' and six random characters to the name in the ARN.
  if (type == "AWS::SecretsManager::Secret" && id.size() > 7 && id[id.size() - 7] == '-') {
    bool random = true;
    for (size_t i = id.size() - 6; i < id.size(); ++i) {
      random = random && std::isalnum(static_cast<unsigned char>(id[i]));
    }
    if (random) id.resize(id.size() - 7);
  }
  return id;
}

// A name as the resource is keyed: SSM parameters without their leading '/', so that
// "/prod/db" and its ARN ("parameter/prod/db") are one key.
std::string IdFromName(std::string_view type, std::string value) {
  if (type == "AWS::SSM::Parameter" && value.size() > 1 && value[0] == '/') value.erase(0, 1);
  // A queue named by its URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) is keyed by name.
  if (value.rfind("https://", 0) == 0) value.erase(0, value.rfind('/') + 1);
  return value;
}

std::string TypeOfPrefixedId(std::string_view value) {
  std::string best;
  size_t best_len = 0;
  for (const auto& [prefix, type] : kIdPrefixes) {
    const size_t n = std::strlen(prefix);
    if (n > best_len && value.rfind(prefix, 0) == 0) {
      best = type;
      best_len = n;
    }
  }
  return best;
}

// Tags named by a tagging call: {"k": "v"} maps, [{"key", "value"}] lists (any case) and EC2's
// tagSet items. Keys only for untagging calls ("tagKeys" lists, or tag lists without values).
void CollectTags(const json& req, bool keys_only, json* added, std::vector<std::string>* removed) {
  static constexpr std::string_view kTagMembers[] = {"tags", "tagSet", "tagList", "tag",
                                                     "tagKeys", "keys", "tagKeyList"};
  for (const std::string_view name : kTagMembers) {
    const json& v = AtNoCase(req, name);
    if (v.is_null()) continue;
    const json list = v.is_object() && (v.contains("items") || v.contains("item")) ? Items(v) : v;
    if (list.is_object()) {
      for (auto it = list.begin(); it != list.end(); ++it) {
        if (keys_only) {
          removed->push_back(it.key());
        } else {
          (*added)[it.key()] = ScalarText(*it);
        }
      }
    } else if (list.is_array()) {
      for (const json& e : list) {
        if (e.is_string()) {
          removed->push_back(e.get<std::string>());
          continue;
        }
        const std::string key = ScalarText(AtNoCase(e, "key"));
        if (key.empty()) continue;
        if (keys_only) {
          removed->push_back(key);
        } else {
          (*added)[key] = ScalarText(AtNoCase(e, "value"));
        }
      }
    }
  }
}

bool ApplyResourceCall(Op& op, bool history_only) {
  const Event& ev = op.event();
  const ResourceCall* call = FindResourceCall(ev.event_source, ev.event_name);
  if (call == nullptr) return false;
  if (call->action == ResourceCallAction::kNone) return true;  // the table says: no resource

  // The resources the call names.
  std::vector<Target> targets;
  const json* holder = nullptr;
  auto add = [&](std::string type, const std::string& value) {
    std::string arn;
    std::string id;
    if (value.rfind("arn:", 0) == 0) {
      arn = value;
      const std::string_view from_arn = ResourceTypeOfArn(value);
      if (type.empty() || (!from_arn.empty() && from_arn.substr(0, 5) == "AWS::" &&
                           from_arn.find("::" + type.substr(5, type.find("::", 5) - 5) + "::") ==
                               std::string_view::npos)) {
        if (!from_arn.empty()) type = std::string(from_arn);
      }
      if (type.empty()) return;
      id = IdFromArn(type, value);
    } else {
      if (type.empty()) type = TypeOfPrefixedId(value);
      // Systems Manager names the kind beside the id (AddTagsToResource: Parameter, Document).
      const std::string kind = Str(op.req(), "resourceType");
      if (type.empty() && !kind.empty() && ev.event_source == "ssm.amazonaws.com") {
        type = "AWS::SSM::" + kind;
      }
      if (type.empty()) return;
      id = IdFromName(type, value);
    }
    if (id.empty()) return;
    Target t = (call->global || IsGlobalType(type)) ? op.Global(type, id) : op.Regional(type, id);
    if (!arn.empty() && CanonicalResourceId(t.type, arn) == t.key_id) t.arn = arn;
    for (const Target& existing : targets) {
      if (existing.type == t.type && existing.key_id == t.key_id) return;
    }
    targets.push_back(std::move(t));
  };
  if (call->account_scoped == 1) {
    add(call->type, ev.account);
  } else {
    // The request's name first (what later calls name the resource by), else what the response
    // assigned (an id, an ARN); the response's object for the resource is its configuration.
    for (const std::string& v : MemberValues(op.req(), call->request_members, &holder)) {
      add(call->type, v);
    }
    const json* resp_holder = nullptr;
    const std::vector<std::string> assigned =
        MemberValues(op.resp(), call->response_members, &resp_holder);
    if (targets.empty()) {
      for (const std::string& v : assigned) add(call->type, v);
    }
    holder = resp_holder;
    // An optional identifier left out: the call acts on the account's own.
    if (targets.empty() && call->account_scoped == 2) add(call->type, ev.account);
  }
  if (targets.empty()) return false;  // the record does not carry the members: generic paths

  const ResourceCallAction action = history_only ? ResourceCallAction::kNote : call->action;
  const json& req = op.req();
  // What history keeps of the request (as for unknown writes): its parameters, bounded.
  auto request_change = [&req](json& change) {
    if (req.is_null()) return;
    std::string text = Dump(req);
    if (text.size() <= 4096) {
      change["requestParameters"] = req;
    } else {
      change["requestParametersTruncated"] = text.substr(0, 4096);
    }
  };
  const Principal& p = ev.principal;
  const std::string creator = PrincipalLabel(p);
  for (const Target& t : targets) {
    switch (action) {
      case ResourceCallAction::kCreate: {
        const json* config =
            (holder != nullptr && holder != &op.resp() && holder != &op.req()) ? holder : nullptr;
        json tags = json::object();
        std::vector<std::string> unused;
        CollectTags(req, false, &tags, &unused);
        op.Create(t, [config, &tags](json& doc, json&) {
          if (config != nullptr) doc["configuration"] = *config;
          if (!tags.empty()) doc["tags"] = tags;
          return true;
        });
        break;
      }
      case ResourceCallAction::kDelete:
        op.Delete(t);
        break;
      case ResourceCallAction::kNote:
        op.RecordUnknown(t);
        break;
      case ResourceCallAction::kTag:
      case ResourceCallAction::kUntag: {
        const bool untag = action == ResourceCallAction::kUntag;
        json added = json::object();
        std::vector<std::string> removed;
        CollectTags(req, untag, &added, &removed);
        op.Update(t, [&](json& doc, json& change) {
          json& tags = ObjectAt(doc, "tags");
          bool changed = false;
          for (auto it = added.begin(); it != added.end(); ++it) {
            if (At(tags, it.key()) == it.value()) continue;
            tags[it.key()] = it.value();
            ObjectAt(ObjectAt(change, "tags"), "added")[it.key()] = it.value();
            changed = true;
          }
          for (const std::string& k : removed) {
            if (!tags.contains(k)) continue;
            tags.erase(k);
            ArrayAt(ObjectAt(change, "tags"), "removed").push_back(k);
            changed = true;
          }
          return changed;
        });
        break;
      }
      case ResourceCallAction::kUpsert:
      case ResourceCallAction::kUpdate: {
        const bool upsert = action == ResourceCallAction::kUpsert;
        op.Update(t, [&](json& doc, json& change) {
          json& dw = ObjectAt(doc, "driftwatch");
          // A document started by this very call (never seen before): Put<R> made it.
          if (upsert && !dw.contains("lastChangeMs") && !dw.contains("createdBy")) {
            dw.erase("partial");
            dw["createdBy"] = creator;
            dw["createdByType"] = p.type;
            dw["createdByAccessKey"] = p.access_key_id;
            dw["createdAt"] = FormatTimestamp(ev.time_ms);
            dw["createdByEvent"] = ev.id;
            change["created"] = true;
          } else {
            change["updated"] = true;
          }
          request_change(change);
          return true;
        });
        break;
      }
      case ResourceCallAction::kNone:
        break;
    }
  }
  // Other resources the call names (an instance's security groups, a role passed to a
  // function) keep the call in their history too, as for writes the table does not know.
  for (const Target& t : ResourcesNamed(op)) {
    bool target = false;
    for (const Target& done : targets) {
      target = target || (done.type == t.type && done.key_id == t.key_id);
    }
    if (!target) op.RecordUnknown(t);
  }
  return true;
}

}  // namespace
}  // namespace applier

// --- Applier -------------------------------------------------------------------------------

struct Applier::Impl {
  applier::HandlerMap handlers;
  std::string record_text;  // reused across calls
  applier::UsageMemo usage;
};

namespace {

// The members of a CloudTrail record that appliers read.
constexpr std::string_view kRecordMembers[] = {"requestParameters", "responseElements", "resources",
                                               "errorCode"};
constexpr size_t kRecordMemberCount = std::size(kRecordMembers);

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// `s[i]` is the opening quote; returns the index after the closing one, or npos.
size_t SkipString(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Index after the JSON value starting at `s[i]` (structure only: what is inside strings and
// scalars is left for the parser of the values kept), or npos.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = SkipString(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  const size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
         s[i] != '\n' && s[i] != '\r') {
    ++i;
  }
  return i == start ? std::string_view::npos : i;
}

// The values of the top-level members named in kRecordMembers (the last one of a repeated name,
// as a parser keeps it), as text. False when `text` is not one object this walk can read (a key
// with an escape, broken structure): the caller then parses the record whole.
bool FindRecordMembers(std::string_view text, std::string_view* values) {
  size_t i = SkipSpace(text, 0);
  if (i >= text.size() || text[i] != '{') return false;
  i = SkipSpace(text, i + 1);
  if (i < text.size() && text[i] == '}') return SkipSpace(text, i + 1) == text.size();
  while (true) {
    if (i >= text.size() || text[i] != '"') return false;
    const size_t key_end = SkipString(text, i);
    if (key_end == std::string_view::npos) return false;
    const std::string_view key = text.substr(i + 1, key_end - i - 2);
    if (key.find('\\') != std::string_view::npos) return false;
    i = SkipSpace(text, key_end);
    if (i >= text.size() || text[i] != ':') return false;
    i = SkipSpace(text, i + 1);
    const size_t value_end = SkipValue(text, i);
    if (value_end == std::string_view::npos) return false;
    for (size_t m = 0; m < kRecordMemberCount; ++m) {
      if (key == kRecordMembers[m]) values[m] = text.substr(i, value_end - i);
    }
    i = SkipSpace(text, value_end);
    if (i >= text.size()) return false;
    if (text[i] == '}') return SkipSpace(text, i + 1) == text.size();
    if (text[i] != ',') return false;
    i = SkipSpace(text, i + 1);
  }
}

// The record as appliers see it. API calls: only the members appliers read, each parsed on its
// own (the rest of a record is most of its bytes and would only be parsed to be dropped), and
// their compact text in `text` (for history's replayable call). Config items are kept whole.
// An unreadable record reads as an empty object.
applier::json ParseRecord(const Event& event, std::string* text) {
  using applier::json;
  text->clear();
  if (event.kind == EventKind::kApiCall) {
    std::string_view values[kRecordMemberCount];
    if (FindRecordMembers(event.document, values)) {
      json record = json::object();
      bool readable = true;
      text->push_back('{');
      for (size_t m = 0; m < kRecordMemberCount && readable; ++m) {
        if (values[m].data() == nullptr) continue;
        json v = json::parse(values[m], nullptr, false);
        if (v.is_discarded()) {
          readable = false;
        } else {
          record[std::string(kRecordMembers[m])] = std::move(v);
          // The decoder hands over compact text: the member's bytes are its compact form.
          if (text->size() > 1) text->push_back(',');
          text->append("\"").append(kRecordMembers[m]).append("\":").append(values[m]);
        }
      }
      text->push_back('}');
      if (readable) return record;
      text->clear();
    }
  }
  const bool api_call = event.kind == EventKind::kApiCall;
  json record = json::parse(
      event.document,
      [api_call](int depth, json::parse_event_t what, json& parsed) {
        if (!api_call || depth != 1 || what != json::parse_event_t::key) return true;
        const std::string& k = parsed.get_ref<const std::string&>();
        return std::find(std::begin(kRecordMembers), std::end(kRecordMembers), k) !=
               std::end(kRecordMembers);
      },
      false);
  if (record.is_discarded()) record = json::object();
  if (api_call) *text = applier::Dump(record);
  return record;
}

}  // namespace

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
  out->record = ParseRecord(event, &out->record_text);
  out->record_ready = true;
}

void Applier::Apply(const Event& event, BatchContext& ctx, std::vector<StateDelta>* deltas,
                    const PreparedEvent* prepared) {
  if (!AppliesTo(event)) return;
  const bool ready = prepared != nullptr && prepared->record_ready;
  applier::json parsed;
  if (!ready) parsed = ParseRecord(event, &impl_->record_text);
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
