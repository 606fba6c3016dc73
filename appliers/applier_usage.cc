// Credential use: when an IAM user's access key signs a call, or the user signs in to the
// console with a password, the user's document records the UTC day of that use
// (configuration.accessKeys[].lastUsedDate, configuration.loginProfile.lastUsedDate), so that
// state rules can tell credentials nobody uses (older_than_days on lastUsedDate).
//
// Cheap by construction: only IAM users' long-term keys (AKIA...) and console sign-ins count,
// the stored day moves only forward and only by whole days (at most one write per credential
// per day, whatever the traffic), and a memo of the day already stored for each key spares the
// read of the user's document for every other call of that day. The day is a function of the
// newest use only, so any arrival order of the same calls ends with the same document.

#include <algorithm>

#include "appliers/applier_internal.h"
#include "vocab/json_parse.h"
#include "vocab/time_util.h"

namespace driftwatch::applier {
namespace {

constexpr const char* kUser = "AWS::IAM::User";
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

int64_t DayOf(int64_t ms) {
  int64_t day = ms / kDayMs;
  if (ms < 0 && day * kDayMs != ms) --day;
  return day * kDayMs;
}

int64_t StoredDay(const json& v) {
  int64_t ms = 0;
  if (v.is_string() && ParseTimestamp(v.get_ref<const std::string&>(), &ms)) return ms;
  return INT64_MIN;
}

// The replayed call (handler of kCredentialUsed): stamps the day on the user's document.
void StampUse(Op& op) {
  const std::string user = Str(op.req(), "userName");
  const std::string key = Str(op.req(), "accessKeyId");
  const std::string day = Str(op.req(), "day");
  const int64_t day_ms = StoredDay(At(op.req(), "day"));
  if (user.empty() || day_ms == INT64_MIN) return;
  Target t = op.Global(kUser, user);
  t.name = user;
  op.Update(t, [&](json& doc, json& change) {
    json& cfg = ObjectAt(doc, "configuration");
    json* entry = nullptr;
    if (!key.empty()) {
      json& keys = ArrayAt(cfg, "accessKeys");
      for (json& k : keys) {
        if (Str(k, "accessKeyId") == key) entry = &k;
      }
      if (entry == nullptr) {
        // A key made before the stream began, first seen in use.
        keys.push_back({{"accessKeyId", key}, {"status", "Active"}, {"createDate", nullptr}});
        entry = &keys.back();
        change["learnedAccessKey"] = key;
      }
    } else {
      json& profile = cfg["loginProfile"];
      if (!profile.is_object()) {
        profile = {{"createDate", nullptr}};
        change["learnedLoginProfile"] = true;
      }
      entry = &profile;
    }
    if (StoredDay(At(*entry, "lastUsedDate")) >= day_ms) return change.contains("learnedAccessKey");
    change["lastUsedDate"] = {{"credential", key.empty() ? json("password") : json(key)},
                              {"from", At(*entry, "lastUsedDate")},
                              {"to", day}};
    (*entry)["lastUsedDate"] = day;
    return true;
  });
}

}  // namespace

void NoteCredentialUse(const Event& event, BatchContext& ctx, std::vector<StateDelta>* deltas,
                       const HandlerMap* handlers, UsageMemo* memo) {
  if (event.kind != EventKind::kApiCall) return;
  const Principal& p = event.principal;
  if (p.type != "IAMUser" || p.user_name.empty() || event.id.empty()) return;
  // A user's credentials belong to the user's own account.
  if (!p.account_id.empty() && p.account_id != event.account) return;
  const bool console =
      event.event_name == "ConsoleLogin" && event.event_source == "signin.amazonaws.com";
  // A call refused because its signature did not authenticate is not a use of the key (a
  // failed call that authenticated, AccessDenied for one, is: the key works).
  const std::string& error = event.error_code;
  if (!error.empty() && (error == "InvalidClientTokenId" || error == "SignatureDoesNotMatch" ||
                         error == "IncompleteSignature" || error == "AuthFailure" ||
                         error == "InvalidAccessKeyId" || error == "UnrecognizedClientException")) {
    return;
  }
  std::string key;
  if (console) {
    if (event.document.find("\"ConsoleLogin\":\"Success\"") == std::string::npos) return;
  } else {
    key = p.access_key_id;
    if (key.rfind("AKIA", 0) != 0) return;  // temporary credentials are not the user's key
  }
  const int64_t day = DayOf(event.time_ms);
  if (!key.empty()) {
    auto it = memo->key_day.find(key);
    if (it != memo->key_day.end() && it->second >= day) return;
  }

  // Only users driftwatch holds a document for: it does not invent users from their calls.
  // (userIdentity.userName is a name, never an ARN: it is the key's id as it is.) Asked for the
  // text first: most callers have no document, and that answer is the cheapest.
  std::string& user_key = memo->key_buffer;
  user_key.clear();
  AppendResourceKey(&user_key, event.account, "global", kUser, p.user_name);
  std::string text;
  if (!ctx.GetResource(user_key, &text)) return;
  json doc;
  if (std::shared_ptr<const json> parsed = ctx.ParsedResource(user_key)) {
    doc = *parsed;
  } else {
    doc = ParseJson(text);
  }
  if (!doc.is_object()) return;
  const json& cfg = At(doc, "configuration");
  int64_t stored = INT64_MIN;
  // Since when the credential was idle: its last use, else when it was made (or last set).
  int64_t idle_since = INT64_MIN;
  if (console) {
    const json& profile = At(cfg, "loginProfile");
    stored = StoredDay(At(profile, "lastUsedDate"));
    idle_since = std::max(StoredDay(At(profile, "createDate")),
                          StoredDay(At(profile, "passwordLastChanged")));
  } else {
    for (const json& k : Items(At(cfg, "accessKeys"))) {
      if (Str(k, "accessKeyId") != key) continue;
      stored = StoredDay(At(k, "lastUsedDate"));
      idle_since = StoredDay(At(k, "createDate"));
    }
  }
  if (stored >= day) {
    if (!key.empty()) memo->key_day[key] = stored;
    return;
  }

  // The use as a call of its own (replayable, so that a late call to the user's document puts it
  // back in its place): a distinct event id, so that it never stands for the call that made it.
  Event use;
  use.kind = EventKind::kApiCall;
  use.id = event.id + "#used";
  use.time_ms = event.time_ms;
  use.account = event.account;
  use.region = event.region;
  // driftwatch's own bookkeeping, not a call of the user's: no principal, key or address, so
  // that questions about who did what (history, incident reports) do not count it as a call.
  use.principal.type = "driftwatch";
  use.event_source = event.event_source;
  use.event_name = std::string(kCredentialUsed);
  json params = {{"userName", p.user_name}, {"day", FormatTimestamp(day)}};
  if (!key.empty()) params["accessKeyId"] = key;
  const json record = {{"requestParameters", std::move(params)}};
  const std::string record_text = Dump(record);
  // Rules hear of the use only when the credential had been idle for over a day: no check of
  // unused credentials (unused_credential_days >= 1) can hold for one used the day before, and
  // the other findings on the user are not told of every first call of a day (which call comes
  // first in a day is a matter of arrival order).
  if (stored != INT64_MIN) idle_since = stored;
  const bool tell_rules = idle_since == INT64_MIN || event.time_ms - idle_since > kDayMs;
  std::vector<StateDelta> unheard;
  Op op(use, record, ctx, tell_rules ? deltas : &unheard, record_text, handlers);
  op.Dispatch();
  if (!key.empty()) {
    if (memo->key_day.size() > 1000000) memo->key_day.clear();
    memo->key_day[key] = day;
  }
}

void RegisterUsageAppliers(HandlerMap* map) { (*map)[kCredentialUsed] = StampUse; }

}  // namespace driftwatch::applier
