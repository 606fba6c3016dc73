#pragma once
// CompiledRuleEngine: the RuleEngine built from YAML rule files and the owner's Policy.
// Loading reports every problem at once (RuleLoadResult); the service refuses to start when
// there is any. Evaluation is single-threaded (one engine per pipeline) and never throws.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/policy.h"
#include "rules/rule_engine.h"
#include "state/state_store.h"
#include "vocab/finding.h"
#include "vocab/problem.h"

namespace driftwatch {

struct RuleSummary {
  std::string id, title, file;
  int line = 0;
  Category category = Category::kIdentity;
  Severity severity = Severity::kInfo;
  bool is_state = false;
  FindingKind kind = FindingKind::kPosture;  // of the findings it opens
  std::string evidence_for;                  // event rules: the posture rule they give evidence to
  bool indexed = true;
  bool enabled = true;
  std::string disabled_reason;
};

struct RuleLoadResult {
  std::vector<std::string> files;
  std::vector<Problem> problems;
  std::vector<RuleSummary> rules;
  int lists = 0;
  int macros = 0;

  bool ok() const { return problems.empty(); }
  // "file:line: rule ID: message" per problem (ProblemText), then a summary line.
  std::string ToText() const;
  // {"ok":bool,"files":[...],"rules":N,"disabled":[{id,reason}],"problems":[{file,line,rule_id,
  //  message,code,key,column}]} (problems as ProblemJson)
  std::string ToJson() const;
};

class CompiledRuleEngine : public RuleEngine {
 public:
  // `paths`: rule files or directories of *.yaml. Returns nullptr when there is any problem;
  // `result` always receives every problem and the rule list.
  static std::unique_ptr<CompiledRuleEngine> Load(const std::vector<std::string>& paths,
                                                  const Policy& policy, RuleLoadResult* result);
  // The same from (file name, YAML text) pairs.
  static std::unique_ptr<CompiledRuleEngine> LoadTexts(
      const std::vector<std::pair<std::string, std::string>>& files, const Policy& policy,
      RuleLoadResult* result);

  ~CompiledRuleEngine() override;

  void OnEvent(const Event& event, BatchContext& ctx) override;
  // Parses the event's document ahead when evaluating its candidate rules reads a field outside
  // the normalized Event (the parse OnEvent would otherwise do when such a field is first read).
  // Called from one thread at a time (it has an evaluation context of its own).
  void Prepare(const Event& event, PreparedEvent* out) const override;
  void OnPreparedEvent(const Event& event, const PreparedEvent& prepared,
                       BatchContext& ctx) override;
  void OnStateDelta(const StateDelta& delta, const Event& cause, BatchContext& ctx) override;
  // Fires every account's deadlines up to the context's watermark (tests, benchmarks; the
  // pipeline moves each account's clock instead).
  void OnWatermark(BatchContext& ctx) override;
  void OnAccountClock(BatchContext& ctx, std::string_view account, int64_t now) override;
  int64_t next_deadline_ms(std::string_view account) const override;
  void SetDeadlineOwner(std::function<bool(std::string_view account)> owns) override;

  // After a restart: re-arms the time-driven checks (key age) for the stored resources, as of
  // the stored watermark, and the expiry of open event findings. Findings themselves are already
  // in the store.
  Status PrimeDeadlines(StateStore* store, int64_t watermark_ms);

  size_t rule_count() const;
  size_t pending_deadlines() const;  // key-age checks and event findings' expiries
  // How many times an event document was parsed (at most once per event, and only when a
  // candidate rule reads a field outside the normalized Event).
  int64_t document_parses() const;
  // How many times a resource document was parsed for state rules: never when the batch holds
  // the document's parsed form (BatchContext::ParsedResource), as the appliers leave it.
  int64_t state_document_parses() const;

 private:
  struct Impl;
  explicit CompiledRuleEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace driftwatch
