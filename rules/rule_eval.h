#pragma once
// Evaluation of compiled conditions against one event or one resource document. Internal to
// rules/ (uses nlohmann::json). One context per engine, reused for every event: field values
// are extracted once per event (generation-stamped cache, no clearing cost) and the event's
// document is parsed at most once, and only when a candidate rule reads a field that is not in
// the normalized Event.

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "rules/rule_model.h"
#include "vocab/event.h"

namespace driftwatch {

class RuleEvalContext {
 public:
  explicit RuleEvalContext(size_t cache_slots = 0) : cache_(cache_slots) {}

  void ResizeCache(size_t slots) { cache_.assign(slots, Slot{}); }

  // Evaluate against an event: normalized fields come from `event`; other paths from its
  // document, parsed on first use, or from `document` when it was parsed ahead (a discarded or
  // non-object value reads as no document). `members`, when given, is an object holding the
  // call's requestParameters, responseElements, resources and errorCode as the document has them
  // (the appliers' parsed record): paths under those are read there, without parsing the
  // document. All must outlive the evaluation.
  void BeginEvent(const Event* event, int64_t watermark_ms,
                  const nlohmann::json* document = nullptr,
                  const nlohmann::json* members = nullptr);
  // Evaluate against a resource document (state rules). `doc` must outlive the evaluation.
  void BeginDocument(const nlohmann::json* doc, std::string_view own_account,
                     int64_t watermark_ms);

  // `evidence` (optional, a JSON object) receives the values of the leaves that made it true.
  bool Eval(const Condition& c, nlohmann::json* evidence);

  // First value of a field as a string ("" and false when missing).
  bool FirstString(const FieldRef& field, std::string* out);
  // Value of a field as JSON (for evidence), null when missing.
  nlohmann::json FieldJson(const FieldRef& field);

  // Earliest event time at which an older_than_days leaf evaluated false since the last
  // ResetDeadline would turn true; INT64_MAX when none.
  int64_t next_deadline_ms() const { return deadline_ms_; }
  void ResetDeadline() { deadline_ms_ = INT64_MAX; }

  // Number of times the event document was parsed (tests assert "at most once per event").
  int64_t document_parses() const { return parses_; }
  // Moves out the event document parsed since BeginEvent (a discarded value when it was not
  // JSON); false when evaluation did not need to parse it.
  bool TakeParsedDocument(nlohmann::json* out);

 private:
  struct Val {
    enum class Kind : uint8_t { kMissing, kNull, kStr, kNum, kBool, kJson } kind = Kind::kMissing;
    std::string_view str;
    double num = 0;
    bool boolean = false;
    const nlohmann::json* json = nullptr;
  };
  struct Slot {
    uint64_t gen = 0;
    const nlohmann::json* node = nullptr;
  };

  const nlohmann::json* Root();
  Val NormValue(NormField f) const;
  static Val FromJson(const nlohmann::json& j);
  static nlohmann::json ToJson(const Val& v);

  // Calls fn(Val) for each value of the field (first existing alternative); stops and returns
  // true as soon as fn does.
  template <typename Fn>
  bool ForEachValue(const FieldRef& field, const nlohmann::json* scope, Fn&& fn);
  template <typename Fn>
  bool Walk(const nlohmann::json& node, const FieldPath& path, size_t i, Fn&& fn);
  bool PathExists(const FieldPath& path, const nlohmann::json* scope);
  const nlohmann::json* ParseEmbedded(const nlohmann::json& node);

  bool EvalIn(const Condition& c, const nlohmann::json* scope, nlohmann::json* evidence);
  bool EvalLeaf(const Condition& c, const nlohmann::json* scope, nlohmann::json* evidence);
  bool LeafMatches(const Condition& c, const Val& v);
  bool LeafScalar(const Condition& c, const Val& v);
  bool EvalPorts(const Condition& c, const nlohmann::json* scope, nlohmann::json* evidence);

  // The document a path is read from: the members for a path under one of them, else Root().
  const nlohmann::json* RootFor(const FieldPath& path);

  const Event* event_ = nullptr;
  const nlohmann::json* doc_ = nullptr;
  const nlohmann::json* members_ = nullptr;
  nlohmann::json parsed_;
  bool parse_attempted_ = false;
  bool parsed_now_ = false;  // parsed_ holds this event's document
  std::string_view own_account_;
  int64_t watermark_ms_ = 0;
  int64_t deadline_ms_ = INT64_MAX;
  uint64_t gen_ = 1;
  std::vector<Slot> cache_;
  // Documents embedded as strings (policy documents), parsed once per event.
  std::deque<std::pair<const nlohmann::json*, nlohmann::json>> embedded_;
  int64_t parses_ = 0;
  const nlohmann::json* scope_ = nullptr;  // current any_of element (nullptr = root)
};

// Helpers shared with the compiler.
bool ParseCidr(std::string_view text, Cidr* out);
bool CidrContains(const Cidr& outer, const Cidr& inner);
// The 12-digit account id inside an ARN ("arn:aws:iam::123456789012:root") or a bare id.
std::string_view AccountOf(std::string_view arn_or_id);

}  // namespace driftwatch
