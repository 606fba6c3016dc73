#include "rules/rule_engine_impl.h"

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "config/rule_file.h"
#include "rules/finding_tracker.h"
#include "rules/rule_compiler.h"
#include "rules/rule_eval.h"
#include "rules/rule_index.h"
#include "vocab/json_parse.h"
#include "vocab/json_text.h"
#include "vocab/resource_key.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;

// A resource's tags from a Config-item document, whichever of AWS's shapes it uses:
// "tags": {"k": "v"}, configuration.tags / supplementaryConfiguration.Tags: [{key|Key, value}].
bool HasTag(const json& doc, const std::string& key, const std::string& value) {
  auto check_list = [&](const json& list) {
    if (!list.is_array()) return false;
    for (const json& t : list) {
      if (!t.is_object()) continue;
      auto k = t.find("key");
      if (k == t.end()) k = t.find("Key");
      auto v = t.find("value");
      if (v == t.end()) v = t.find("Value");
      if (k != t.end() && k->is_string() && k->get<std::string>() == key) {
        if (value.empty()) return true;
        if (v != t.end() && v->is_string() && v->get<std::string>() == value) return true;
      }
    }
    return false;
  };
  if (!doc.is_object()) return false;
  if (auto t = doc.find("tags"); t != doc.end()) {
    if (t->is_object()) {
      auto it = t->find(key);
      if (it != t->end() && (value.empty() || (it->is_string() && it->get<std::string>() == value))) {
        return true;
      }
    } else if (check_list(*t)) {
      return true;
    }
  }
  if (auto c = doc.find("configuration"); c != doc.end() && c->is_object()) {
    if (auto t = c->find("tags"); t != c->end() && check_list(*t)) return true;
  }
  if (auto s = doc.find("supplementaryConfiguration"); s != doc.end() && s->is_object()) {
    if (auto t = s->find("Tags"); t != s->end() && check_list(*t)) return true;
  }
  return false;
}

// Whether any path a rule may evaluate (condition, exceptions, resolve, resource, evidence)
// satisfies `pred`.
template <typename Pred>
bool AnyPath(const FieldRef& field, const Pred& pred) {
  for (const FieldPath& p : field.paths) {
    if (pred(p)) return true;
  }
  return false;
}

template <typename Pred>
bool AnyPath(const Condition& c, const Pred& pred) {
  if (AnyPath(c.field, pred) || AnyPath(c.from_port, pred) || AnyPath(c.to_port, pred)) {
    return true;
  }
  for (const Condition& child : c.children) {
    if (AnyPath(child, pred)) return true;
  }
  return false;
}

template <typename Pred>
bool RuleAnyPath(const CompiledRule& rule, const Pred& pred) {
  if (AnyPath(rule.condition, pred)) return true;
  for (const Condition& e : rule.exceptions) {
    if (AnyPath(e, pred)) return true;
  }
  if (rule.has_resolve && AnyPath(rule.resolve, pred)) return true;
  if (AnyPath(rule.resource.id, pred) || AnyPath(rule.resource.arn, pred)) return true;
  for (const FieldRef& f : rule.resource.typed_ids) {
    if (AnyPath(f, pred)) return true;
  }
  for (const FieldRef& f : rule.evidence) {
    if (AnyPath(f, pred)) return true;
  }
  return false;
}

// Whether the rule may read the event document (a path no normalized field serves).
bool RuleReadsDocument(const CompiledRule& rule) {
  return RuleAnyPath(rule, [](const FieldPath& p) { return p.norm == NormField::kNone; });
}

// Whether it may read the document beyond the call's members the appliers parse
// (requestParameters, responseElements, resources, errorCode: RuleEvalContext::BeginEvent).
bool RuleReadsBeyondMembers(const CompiledRule& rule) {
  return RuleAnyPath(rule, [](const FieldPath& p) {
    return p.norm == NormField::kNone && !IsCallMemberPath(p);
  });
}

bool PrincipalMatches(const std::string& pattern, const std::string& arn) {
  if (!pattern.empty() && pattern.back() == '*') {
    return arn.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == arn;
}

struct Deadline {
  std::string resource_key;
  FindingResource resource;
};

}  // namespace

struct CompiledRuleEngine::Impl {
  Policy policy;
  CompiledRuleSet set;
  RuleIndex index;
  RuleEvalContext eval;
  bool any_tag_suppression = false;
  int64_t state_parses = 0;
  // Time-driven checks waiting for the watermark: (deadline, rule, resource key) -> resource.
  // Time-driven work waiting for an account's event-time clock, per account:
  // (when, what, rule, key) with what 0 = a key-age check of rule on resource key, 1 = the expiry
  // of finding `key` (rule unused). An account's deadlines fire as its own events move its clock,
  // so that the outcome depends on the account's stream alone, not on what other accounts (other
  // partitions, other members of a group) have reached.
  using DueSet = std::set<std::tuple<int64_t, uint8_t, uint32_t, std::string>>;
  std::unordered_map<std::string, DueSet> due;
  std::map<std::pair<uint32_t, std::string>, std::pair<int64_t, FindingResource>> checks;
  std::unordered_map<std::string, std::pair<std::string, int64_t>> expiry_of;  // id -> account, when
  std::unordered_map<std::string, uint32_t> rule_by_id;
  // Accounts whose deadlines this engine fires (SetDeadlineOwner); null = every account.
  std::function<bool(std::string_view)> owns;
  bool Owns(std::string_view account) const { return !owns || owns(account); }
  // Per rule: whether evaluating it may read a field outside the normalized Event.
  std::vector<char> reads_document;
  // Whether it reads the document beyond the call's members (RuleReadsBeyondMembers).
  std::vector<char> reads_beyond_members;
  // Prepare's own evaluation context: Prepare runs on the decoding thread, beside `eval`.
  RuleEvalContext prepare_eval;

  // Calls fn(rule index) for each event rule that applies to `event`'s source and name.
  template <typename Fn>
  void ForEventRules(const Event& event, Fn&& fn) const {
    if (const std::vector<uint32_t>* bucket =
            index.EventRules(event.event_source, event.event_name)) {
      for (uint32_t idx : *bucket) fn(idx);
    }
    for (uint32_t idx : index.UnindexedEventRules()) {
      const CompiledRule& rule = set.rules[idx];
      if (!rule.event_sources.empty()) {
        bool source_ok = false;
        for (const std::string& s : rule.event_sources) {
          if (s == event.event_source) source_ok = true;
        }
        if (!source_ok) continue;
      }
      fn(idx);
    }
  }

  bool Suppressed(const CompiledRule& rule, const FindingResource& r, const Actor& actor,
                  const json* doc, BatchContext* ctx) {
    const json* tag_doc = doc;
    json fetched;
    bool fetched_done = false;
    for (const Suppression& s : policy.suppressions) {
      if (!s.rule_id.empty() && s.rule_id != rule.meta.rule_id) continue;
      if (!s.resource.empty() && s.resource != r.id && s.resource != r.arn) continue;
      if (!s.principal.empty() && !PrincipalMatches(s.principal, actor.arn)) continue;
      if (!s.tag_key.empty()) {
        if (tag_doc == nullptr && !fetched_done && ctx != nullptr) {
          fetched_done = true;
          std::string text;
          if (ctx->GetResource(MakeResourceKey(r.account, r.region, r.type, r.id), &text)) {
            fetched = ParseJson(text);
            if (!fetched.is_discarded()) tag_doc = &fetched;
          }
        }
        if (tag_doc == nullptr || !HasTag(*tag_doc, s.tag_key, s.tag_value)) continue;
      }
      return true;
    }
    return false;
  }

  bool Holds(const CompiledRule& rule) { return Holds(rule, eval); }
  static bool Holds(const CompiledRule& rule, RuleEvalContext& on) {
    if (!on.Eval(rule.condition, nullptr)) return false;
    for (const Condition& e : rule.exceptions) {
      if (on.Eval(e, nullptr)) return false;
    }
    return true;
  }

  // The event rules for `event`, evaluated on `eval`; `document` is its document parsed ahead
  // (nullptr: parsed on first use).
  void EvaluateEvent(const Event& event, const json* document, const json* members,
                     BatchContext& ctx) {
    if (event.kind == EventKind::kControl) {
      ApplyControl(event, ctx);
      return;
    }
    bool begun = false;
    ForEventRules(event, [&](uint32_t idx) {
      if (!begun) {
        eval.BeginEvent(&event, ctx.watermark_ms(), document, members);
        begun = true;
      }
      EvaluateEventRule(idx, event, ctx);
    });
  }

  std::string Evidence(const CompiledRule& rule, const Event* event) {
    json evidence = json::object();
    if (event != nullptr) {
      evidence["eventName"] = event->event_name;
      evidence["eventSource"] = event->event_source;
    }
    eval.Eval(rule.condition, &evidence);
    for (const FieldRef& f : rule.evidence) {
      json v = eval.FieldJson(f);
      if (!v.is_null()) evidence[f.text()] = std::move(v);
    }
    return JsonText(evidence);
  }

  FindingResource EventResource(const CompiledRule& rule, const Event& e) {
    FindingResource r;
    r.account = e.account;
    r.region = rule.resource.global ? "global" : e.region;
    if (!rule.resource.typed_ids.empty()) {
      for (size_t i = 0; i < rule.resource.typed_ids.size(); ++i) {
        if (eval.FirstString(rule.resource.typed_ids[i], &r.id)) {
          r.type = rule.resource.types[i];
          eval.FirstString(rule.resource.arn, &r.arn);
          return r;
        }
      }
    } else if (!rule.resource.type.empty()) {
      r.type = rule.resource.type;
      eval.FirstString(rule.resource.id, &r.id);
      eval.FirstString(rule.resource.arn, &r.arn);
      if (!r.id.empty()) return r;
    }
    if (!e.resources.empty()) {
      if (r.type.empty()) r.type = e.resources.front().type;
      r.id = e.resources.front().id;
      if (r.arn.empty()) r.arn = e.resources.front().arn;
      if (!r.id.empty()) return r;
    }
    r.type = "AWS::::Account";
    r.id = e.account;
    r.region = "global";
    return r;
  }

  FindingResource EventResource(const CompiledRule& rule, const Event& e, bool canonical) {
    FindingResource r = EventResource(rule, e);
    if (canonical) r.id = CanonicalResourceId(r.type, r.id);
    return r;
  }

  // The event that undid a drift, for resolution_detail.
  static std::string StateDetail(const Event* cause) {
    if (cause == nullptr || cause->id.empty()) return "{}";
    std::string d = "{\"event_id\":";
    AppendJsonString(cause->id, &d);
    d += ",\"event_name\":";
    AppendJsonString(cause->event_name, &d);
    d += '}';
    return d;
  }

  void ClearExpiry(const std::string& finding_id) {
    auto it = expiry_of.find(finding_id);
    if (it == expiry_of.end()) return;
    due[it->second.first].erase({it->second.second, 1, 0, finding_id});
    expiry_of.erase(it);
  }

  void SetExpiry(const std::string& finding_id, const std::string& account, int64_t when) {
    ClearExpiry(finding_id);
    if (when <= 0) return;
    due[account].emplace(when, 1, 0, finding_id);
    expiry_of[finding_id] = {account, when};
  }

  // After an event finding was opened or repeated: its expiry follows its last event.
  void ScheduleExpiry(const std::string& finding_id, BatchContext& ctx) {
    const Finding* f = nullptr;
    if (ctx.PeekFinding(finding_id, &f) && f->status == FindingStatus::kOpen &&
        f->kind == FindingKind::kEvent) {
      SetExpiry(finding_id, f->resource.account, f->expires_at_ms);
    } else {
      ClearExpiry(finding_id);
    }
  }

  // A CloseFinding control record: resolves the finding it names, by hand, once. Unknown and
  // already resolved findings are left as they are (`driftwatch findings close` refuses those
  // before sending).
  void ApplyControl(const Event& event, BatchContext& ctx) {
    if (event.event_name != kCloseFindingEventName) return;
    json doc = ParseJson(event.document);
    if (doc.is_discarded()) return;
    const json& req = doc.is_object() && doc.contains("requestParameters")
                          ? doc["requestParameters"]
                          : json();
    if (!req.is_object()) return;
    auto text = [&](const char* key) {
      auto it = req.find(key);
      return it != req.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string finding_id = text("findingId");
    Finding f;
    if (finding_id.empty() || !ctx.GetFinding(finding_id, &f) ||
        f.status != FindingStatus::kOpen) {
      return;
    }
    std::string detail = "{\"by\":";
    AppendJsonString(event.principal.arn, &detail);
    detail += ",\"reason\":";
    AppendJsonString(text("reason"), &detail);
    detail += ",\"event_id\":";
    AppendJsonString(event.id, &detail);
    detail += '}';
    // Closed at the record's time, or at the finding's last event when the closer's clock is
    // behind the stream's.
    const int64_t at = std::max(event.time_ms, f.last_seen_ms);
    FindingTracker::ResolveById(ctx, finding_id, event.id, at, Resolution::kClosed,
                                std::move(detail));
    ClearExpiry(finding_id);
  }

  // Expires an open event finding as of its own expiry `when`.
  void FireExpiry(const std::string& finding_id, int64_t when, BatchContext& ctx) {
    Finding f;
    if (!ctx.GetFinding(finding_id, &f) || f.status != FindingStatus::kOpen) return;
    if (f.expires_at_ms != when) {  // moved on by a repeat since
      if (f.expires_at_ms > 0) SetExpiry(finding_id, f.resource.account, f.expires_at_ms);
      return;
    }
    std::string detail = "{\"expire_after_seconds\":" +
                         std::to_string((when - f.last_seen_ms) / 1000) + "}";
    FindingTracker::ResolveById(ctx, finding_id, "", when, Resolution::kExpired,
                                std::move(detail));
  }

  // Re-checks a time-driven state rule on its resource as of the deadline `when`.
  void FireCheck(uint32_t idx, const std::string& key, int64_t when, BatchContext& ctx) {
    auto it = checks.find({idx, key});
    if (it == checks.end()) return;
    const FindingResource resource = it->second.second;
    checks.erase(it);
    std::string text;
    if (!ctx.GetResource(key, &text)) return;
    json doc = ParseJson(text);
    if (doc.is_discarded() || !doc.is_object()) return;
    // Judged and opened as of the deadline itself: replays and live runs agree however events
    // fall into batches.
    eval.BeginDocument(&doc, resource.account, when);
    EvaluateStateRule(idx, key, resource, doc, nullptr, when, ctx);
  }

  // Fires the account's deadlines up to `now`, in deadline order.
  void FireDue(const std::string& account, int64_t now, BatchContext& ctx) {
    auto set = due.find(account);
    if (set == due.end()) return;
    const bool owned = Owns(account);
    while (!set->second.empty() && std::get<0>(*set->second.begin()) <= now) {
      const auto [when, what, idx, key] = *set->second.begin();
      set->second.erase(set->second.begin());
      if (what == 1) {
        expiry_of.erase(key);
        if (owned) FireExpiry(key, when, ctx);
      } else if (owned) {
        FireCheck(idx, key, when, ctx);
      } else {
        checks.erase({idx, key});  // its owner checks it (primed on assignment)
      }
      set = due.find(account);  // firing may have added deadlines of this account
    }
  }

  int64_t NextDue(const std::string& account) const {
    auto set = due.find(account);
    return set == due.end() || set->second.empty() ? INT64_MAX : std::get<0>(*set->second.begin());
  }

  // A resource has one compliance state per AWS Config rule: findings on compliance changes
  // are kept apart per Config rule, so that one rule turning COMPLIANT does not resolve
  // another's finding on the same resource.
  static std::string_view Qualifier(const Event& e) {
    return e.kind == EventKind::kComplianceChange ? std::string_view(e.config_rule)
                                                  : std::string_view();
  }

  void EvaluateEventRule(uint32_t idx, const Event& event, BatchContext& ctx) {
    const CompiledRule& rule = set.rules[idx];
    if (rule.has_resolve && eval.Eval(rule.resolve, nullptr)) {
      FindingTracker::Resolve(ctx, rule.meta.rule_id, EventResource(rule, event, true), event.id,
                              event.time_ms, Qualifier(event), Resolution::kState,
                              StateDetail(&event));
      return;
    }
    if (!Holds(rule)) return;
    FindingResource resource = EventResource(rule, event, true);
    Actor actor = ActorOf(event);
    if (rule.evidence_for_index >= 0) {
      const CompiledRule& posture = set.rules[static_cast<size_t>(rule.evidence_for_index)];
      // One drift, one finding: the state (applied before the event rules run) decides whether
      // the drift stands; the event only says who made it and with which call. With the posture
      // rule turned off by policy, the event rule speaks for itself, as an event finding.
      bool gives = posture.enabled;
      if (gives && !posture.resource_types.empty()) {
        gives = std::find(posture.resource_types.begin(), posture.resource_types.end(),
                          resource.type) != posture.resource_types.end();
      }
      if (gives && !rule.evidence_for_names.empty()) {
        gives = std::find(rule.evidence_for_names.begin(), rule.evidence_for_names.end(),
                          event.event_name) != rule.evidence_for_names.end();
      }
      if (gives) {
        FindingTracker::AddEventEvidence(ctx, MakeFindingId(posture.meta.rule_id, resource),
                                         rule.meta.rule_id, actor, event.id, event.time_ms,
                                         Evidence(rule, &event));
        return;
      }
    }
    if (!policy.suppressions.empty() && Suppressed(rule, resource, actor, nullptr, &ctx)) return;
    FindingTracker::Open(ctx, rule.meta, resource, actor, event.id, event.time_ms,
                         Evidence(rule, &event), Qualifier(event));
    if (rule.meta.kind == FindingKind::kEvent) {
      ScheduleExpiry(MakeFindingId(rule.meta.rule_id, resource, Qualifier(event)), ctx);
    }
  }

  void ClearDeadline(uint32_t rule, const std::string& key) {
    auto it = checks.find({rule, key});
    if (it == checks.end()) return;
    due[it->second.second.account].erase({it->second.first, 0, rule, key});
    checks.erase(it);
  }

  void SetDeadline(uint32_t rule, const std::string& key, int64_t when,
                   const FindingResource& r) {
    ClearDeadline(rule, key);
    due[r.account].emplace(when, 0, rule, key);
    checks[{rule, key}] = {when, r};
  }

  // Evaluates one state rule on the current document; opens, updates or resolves.
  void EvaluateStateRule(uint32_t idx, const std::string& key, const FindingResource& resource,
                         const json& doc, const Event* cause, int64_t time_ms,
                         BatchContext& ctx) {
    const CompiledRule& rule = set.rules[idx];
    eval.ResetDeadline();
    const bool holds = Holds(rule);
    if (rule.time_dependent) {
      if (!holds && eval.next_deadline_ms() != INT64_MAX) {
        SetDeadline(idx, key, eval.next_deadline_ms(), resource);
      } else {
        ClearDeadline(idx, key);
      }
    }
    const std::string_view event_id = cause != nullptr ? std::string_view(cause->id) : "";
    if (!holds) {
      FindingTracker::Resolve(ctx, rule.meta.rule_id, resource, event_id, time_ms, {},
                              Resolution::kState, StateDetail(cause));
      return;
    }
    Actor actor = cause != nullptr ? ActorOf(*cause) : Actor{};
    if (!policy.suppressions.empty() && Suppressed(rule, resource, actor, &doc, nullptr)) return;
    FindingTracker::Open(ctx, rule.meta, resource, actor, event_id, time_ms,
                         Evidence(rule, nullptr));
  }

  template <typename Fn>
  void ForStateRules(std::string_view type, Fn&& fn) {
    if (const std::vector<uint32_t>* bucket = index.StateRules(type)) {
      for (uint32_t idx : *bucket) fn(idx);
    }
    for (uint32_t idx : index.UnindexedStateRules()) fn(idx);
  }
};

CompiledRuleEngine::CompiledRuleEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledRuleEngine::~CompiledRuleEngine() = default;

std::unique_ptr<CompiledRuleEngine> CompiledRuleEngine::LoadTexts(
    const std::vector<std::pair<std::string, std::string>>& files, const Policy& policy,
    RuleLoadResult* result) {
  *result = RuleLoadResult{};
  std::vector<std::pair<std::string, YamlNode>> parsed;
  for (const auto& [name, text] : files) {
    result->files.push_back(name);
    YamlNode root;
    Status s = ParseYaml(text, name, &root);
    if (!s.ok()) {
      // "file:line:col: message"
      Problem p = Problem::At(ProblemCode::kSyntax, name, 0, "");
      const std::string& m = s.message();
      size_t a = m.find(':', name.size());
      size_t b = a == std::string::npos ? a : m.find(':', a + 1);
      if (a != std::string::npos && b != std::string::npos) {
        p.line = std::atoi(m.substr(a + 1, b - a - 1).c_str());
        p.column = std::atoi(m.substr(b + 1).c_str());
        size_t c = m.find(": ", b);
        p.message = c == std::string::npos ? m : m.substr(c + 2);
      } else {
        p.message = m;
      }
      result->problems.push_back(std::move(p));
      continue;
    }
    parsed.emplace_back(name, std::move(root));
  }
  auto impl = std::make_unique<Impl>();
  impl->policy = policy;
  CompileRules(parsed, policy, &impl->set, &result->problems);
  result->lists = impl->set.lists;
  result->macros = impl->set.macros;
  for (const CompiledRule& r : impl->set.rules) {
    RuleSummary s;
    s.id = r.meta.rule_id;
    s.title = r.meta.title;
    s.file = r.file;
    s.line = r.line;
    s.category = r.meta.category;
    s.severity = r.meta.severity;
    s.is_state = r.is_state;
    s.kind = r.meta.kind;
    s.evidence_for = r.evidence_for;
    s.indexed = r.is_state ? !r.resource_types.empty() : !r.event_names.empty();
    s.enabled = r.enabled;
    s.disabled_reason = r.disabled_reason;
    result->rules.push_back(std::move(s));
  }
  if (!result->ok()) return nullptr;
  impl->index.Build(impl->set.rules);
  impl->reads_document.reserve(impl->set.rules.size());
  for (const CompiledRule& rule : impl->set.rules) {
    impl->reads_document.push_back(RuleReadsDocument(rule) ? 1 : 0);
    impl->reads_beyond_members.push_back(RuleReadsBeyondMembers(rule) ? 1 : 0);
  }
  impl->eval.ResizeCache(impl->set.cache_slots);
  impl->prepare_eval.ResizeCache(impl->set.cache_slots);
  for (const Suppression& s : policy.suppressions) {
    if (!s.tag_key.empty()) impl->any_tag_suppression = true;
  }
  return std::unique_ptr<CompiledRuleEngine>(new CompiledRuleEngine(std::move(impl)));
}

std::unique_ptr<CompiledRuleEngine> CompiledRuleEngine::Load(const std::vector<std::string>& paths,
                                                             const Policy& policy,
                                                             RuleLoadResult* result) {
  std::vector<std::pair<std::string, std::string>> texts;
  std::vector<Problem> io_problems;
  for (const std::string& path : paths) {
    std::vector<std::string> files;
    Status s = ListRuleFiles(path, &files);
    if (!s.ok()) {
      io_problems.push_back(Problem::At(ProblemCode::kUnreadable, path, 0, s.message()));
      continue;
    }
    for (const std::string& f : files) {
      std::string text;
      Status r = ReadTextFile(f, &text);
      if (!r.ok()) {
        io_problems.push_back(Problem::At(ProblemCode::kUnreadable, f, 0, r.message()));
        continue;
      }
      texts.emplace_back(f, std::move(text));
    }
  }
  if (texts.empty() && io_problems.empty()) {
    io_problems.push_back(Problem::At(ProblemCode::kUnreadable,
                                      paths.empty() ? std::string() : paths.front(), 0,
                                      "no rule files (*.yaml) found"));
  }
  auto engine = LoadTexts(texts, policy, result);
  if (!io_problems.empty()) {
    result->problems.insert(result->problems.begin(), io_problems.begin(), io_problems.end());
    return nullptr;
  }
  return engine;
}

void CompiledRuleEngine::OnEvent(const Event& event, BatchContext& ctx) {
  impl_->EvaluateEvent(event, nullptr, nullptr, ctx);
}

void CompiledRuleEngine::Prepare(const Event& event, PreparedEvent* out) const {
  Impl& m = *impl_;
  // The candidate rules' conditions are evaluated here on a context of this thread's own, so
  // that the document is parsed only for the events whose evaluation will read it (most
  // conditions are decided by normalized fields first).
  RuleEvalContext& eval = m.prepare_eval;
  // The call's members the appliers parsed (Applier::Prepare runs first) answer the paths under
  // them: the document is parsed only for a path elsewhere.
  const json* members = out->record_ready ? &out->record : nullptr;
  bool begun = false, wanted = false;
  m.ForEventRules(event, [&](uint32_t idx) {
    if (wanted || m.reads_document[idx] == 0) return;
    if (!begun) {
      eval.BeginEvent(&event, 0, nullptr, members);
      begun = true;
    }
    const CompiledRule& rule = m.set.rules[idx];
    // A rule that holds reads its resource and evidence fields next: the document is wanted
    // unless the members answer all the rule reads.
    const bool holds =
        (rule.has_resolve && eval.Eval(rule.resolve, nullptr)) || Impl::Holds(rule, eval);
    wanted = holds && (members == nullptr || m.reads_beyond_members[idx] != 0);
  });
  if (!begun) return;
  if (eval.TakeParsedDocument(&out->document)) {
    out->document_ready = true;
  } else if (wanted) {
    out->document = ParseJson(event.document);
    out->document_ready = true;
  }
}

void CompiledRuleEngine::OnPreparedEvent(const Event& event, const PreparedEvent& prepared,
                                         BatchContext& ctx) {
  impl_->EvaluateEvent(event, prepared.document_ready ? &prepared.document : nullptr,
                       prepared.record_ready ? &prepared.record : nullptr, ctx);
}

void CompiledRuleEngine::OnStateDelta(const StateDelta& delta, const Event& cause,
                                      BatchContext& ctx) {
  Impl& m = *impl_;
  if (!delta.applied) return;  // older than the current document: nothing changed now
  const std::vector<uint32_t>* bucket = m.index.StateRules(delta.type);
  if (bucket == nullptr && m.index.UnindexedStateRules().empty()) return;
  const FindingResource& resource = delta;
  if (delta.deleted || delta.after.empty()) {
    m.ForStateRules(delta.type, [&](uint32_t idx) {
      m.ClearDeadline(idx, delta.resource_key);
      FindingTracker::Resolve(ctx, m.set.rules[idx].meta.rule_id, resource, cause.id,
                              cause.time_ms, {}, Resolution::kState, Impl::StateDetail(&cause));
    });
    return;
  }
  // The applier left the document's parsed form in the batch: use it, unless the resource has
  // changed again since this delta (then the text in the batch is no longer delta.after).
  std::shared_ptr<const json> parsed;
  const std::string* current = nullptr;
  if (!ctx.ReadResource(delta.resource_key, &current, &parsed) || *current != delta.after) {
    parsed.reset();
  }
  json own;
  if (parsed == nullptr) {
    ++m.state_parses;
    own = ParseJson(delta.after);
  }
  const json& doc = parsed != nullptr ? *parsed : own;
  if (doc.is_discarded() || !doc.is_object()) return;
  // Time-driven conditions are judged as of the event that changed the resource, not the
  // watermark (which other accounts' events move too): the result depends on the resource's own
  // stream alone, so a replay and the members of a group agree; what becomes true later is a
  // deadline, fired as of its own time.
  m.eval.BeginDocument(&doc, delta.account, cause.time_ms);
  m.ForStateRules(delta.type, [&](uint32_t idx) {
    m.EvaluateStateRule(idx, delta.resource_key, resource, doc, &cause, cause.time_ms, ctx);
  });
}

void CompiledRuleEngine::OnWatermark(BatchContext& ctx) {
  Impl& m = *impl_;
  std::vector<std::string> accounts;
  for (const auto& [account, set] : m.due) accounts.push_back(account);
  for (const std::string& account : accounts) m.FireDue(account, ctx.watermark_ms(), ctx);
}

void CompiledRuleEngine::OnAccountClock(BatchContext& ctx, std::string_view account,
                                        int64_t now) {
  impl_->FireDue(std::string(account), now, ctx);
}

void CompiledRuleEngine::SetDeadlineOwner(std::function<bool(std::string_view)> owns) {
  impl_->owns = std::move(owns);
}

int64_t CompiledRuleEngine::next_deadline_ms(std::string_view account) const {
  return impl_->NextDue(std::string(account));
}

Status CompiledRuleEngine::PrimeDeadlines(StateStore* store, int64_t watermark_ms) {
  Impl& m = *impl_;
  m.due.clear();
  m.checks.clear();
  m.expiry_of.clear();
  Status scanned = store->ScanFindings([&](const Finding& f) {
    if (f.status != FindingStatus::kOpen) return true;
    if (f.kind == FindingKind::kEvent && f.expires_at_ms > 0 && m.Owns(f.resource.account)) {
      m.SetExpiry(f.finding_id, f.resource.account, f.expires_at_ms);
    }
    return true;
  });
  if (!scanned.ok()) return scanned;
  bool any = false;
  for (const CompiledRule& r : m.set.rules) any = any || (r.enabled && r.time_dependent);
  if (!any) return Status::Ok();
  // Each account's checks are armed as of its own clock (the watermark for states stored
  // before accounts had clocks).
  std::unordered_map<std::string, int64_t> clocks;
  auto clock_of = [&](const std::string& account) {
    auto it = clocks.find(account);
    if (it != clocks.end()) return it->second;
    int64_t ms = 0;
    if (!store->GetPosition(std::string(kAccountClockPrefix) + account, &ms).ok()) {
      ms = watermark_ms;
    }
    clocks.emplace(account, ms);
    return ms;
  };
  return store->ScanResources([&](std::string_view key, std::string_view text) {
    ResourceKeyParts parts;
    if (!ParseResourceKey(key, &parts)) return true;
    const std::string k(key);
    FindingResource r{std::string(parts.type), std::string(parts.id), "",
                      std::string(parts.account), std::string(parts.region)};
    if (!m.Owns(r.account)) return true;
    json doc;
    bool parsed = false;
    m.ForStateRules(r.type, [&](uint32_t idx) {
      if (!m.set.rules[idx].time_dependent) return;
      if (!parsed) {
        doc = ParseJson(text);
        parsed = true;
      }
      if (doc.is_discarded() || !doc.is_object()) return;
      if (r.arn.empty()) {
        auto arn = doc.find("ARN");
        if (arn == doc.end()) arn = doc.find("arn");
        if (arn != doc.end() && arn->is_string()) r.arn = arn->get<std::string>();
      }
      m.eval.BeginDocument(&doc, r.account, clock_of(r.account));
      m.eval.ResetDeadline();
      if (!m.Holds(m.set.rules[idx]) && m.eval.next_deadline_ms() != INT64_MAX) {
        m.SetDeadline(idx, k, m.eval.next_deadline_ms(), r);
      }
    });
    return true;
  });
}

size_t CompiledRuleEngine::rule_count() const { return impl_->set.rules.size(); }
size_t CompiledRuleEngine::pending_deadlines() const {
  return impl_->checks.size() + impl_->expiry_of.size();
}
int64_t CompiledRuleEngine::document_parses() const { return impl_->eval.document_parses(); }
int64_t CompiledRuleEngine::state_document_parses() const { return impl_->state_parses; }

std::string RuleLoadResult::ToText() const {
  std::string out;
  for (const Problem& p : problems) out += ProblemText(p) + "\n";
  int disabled = 0, state = 0;
  for (const RuleSummary& r : rules) {
    if (!r.enabled) ++disabled;
    if (r.is_state) ++state;
  }
  out += std::to_string(files.size()) + " file(s), " + std::to_string(rules.size()) +
         " rule(s) (" + std::to_string(rules.size() - state) + " event, " +
         std::to_string(state) + " state, " + std::to_string(disabled) + " disabled), " +
         std::to_string(lists) + " list(s), " + std::to_string(macros) + " macro(s): " +
         (problems.empty() ? "OK" : std::to_string(problems.size()) + " problem(s)") + "\n";
  return out;
}

std::string RuleLoadResult::ToJson() const {
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["ok"] = ok();
  j["files"] = files;
  j["rules"] = ojson::array();
  for (const RuleSummary& r : rules) {
    ojson o = {{"id", r.id},
              {"kind", r.is_state ? "state" : "event"},
              {"finding_kind", FindingKindName(r.kind)},
              {"category", CategoryName(r.category)},
              {"severity", SeverityName(r.severity)},
              {"file", r.file},
              {"line", r.line},
              {"indexed", r.indexed},
              {"enabled", r.enabled}};
    if (!r.evidence_for.empty()) o["evidence_for"] = r.evidence_for;
    if (!r.enabled) o["disabled_reason"] = r.disabled_reason;
    j["rules"].push_back(std::move(o));
  }
  j["problems"] = ojson::array();
  for (const Problem& p : problems) j["problems"].push_back(ProblemJson(p));
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace driftwatch
