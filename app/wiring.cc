#include "app/wiring.h"

#include <cstdlib>
#include <filesystem>

#include "config/config.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/rocksdb_store.h"

#ifndef DW_DEFAULT_RULES_DIR
#define DW_DEFAULT_RULES_DIR "config/rules"
#endif

namespace driftwatch::app {

std::unique_ptr<EventDecoder> MakeDecoder() { return std::make_unique<SimdjsonEventDecoder>(); }

Status OpenStateStore(const std::string& dir, std::unique_ptr<StateStore>* out,
                      bool sync_each_batch) {
  std::unique_ptr<RocksDbStore> store;
  RocksDbStoreOptions options;
  options.sync = sync_each_batch;
  Status s = RocksDbStore::Open(dir, options, &store);
  if (!s.ok()) return s;
  *out = std::move(store);
  return Status::Ok();
}

Status OpenExistingStateStore(const std::string& dir, std::unique_ptr<StateStore>* out) {
  std::unique_ptr<RocksDbStore> store;
  RocksDbStoreOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  Status s = RocksDbStore::Open(dir, options, &store);
  if (!s.ok()) return s;
  *out = std::move(store);
  return Status::Ok();
}

std::vector<std::string> DefaultRulePaths() {
  if (const char* env = std::getenv("DRIFTWATCH_RULES_DIR"); env != nullptr && *env != '\0') {
    return {env};
  }
  // The pack installed beside the binary (docker image), else the source tree's.
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto beside = exe.parent_path() / "rules";
    if (std::filesystem::is_directory(beside, ec)) return {beside.string()};
  }
  return {DW_DEFAULT_RULES_DIR};
}

Status MakeRuleEngine(const std::vector<std::string>& rule_paths, const Policy& policy,
                      std::unique_ptr<RuleEngine>* out, std::vector<std::string>* problems) {
  RuleLoadResult result;
  std::unique_ptr<CompiledRuleEngine> engine =
      CompiledRuleEngine::Load(rule_paths, policy, &result);
  if (engine == nullptr || !result.ok()) {
    for (const Problem& p : result.problems) {
      problems->push_back(p.file + ":" + std::to_string(p.line) + ": rule " +
                          (p.rule_id.empty() ? "-" : p.rule_id) + ": " + p.message);
    }
    return Status::Error("rules: " + std::to_string(result.problems.size()) +
                         " problem(s); fix them or check with 'driftwatch rules check'");
  }
  *out = std::move(engine);
  return Status::Ok();
}

Status PrimeRuleEngine(RuleEngine* rules, StateStore* store) {
  auto* compiled = dynamic_cast<CompiledRuleEngine*>(rules);
  if (compiled == nullptr) return Status::Ok();
  int64_t watermark = 0;
  Status s = store->GetPosition(kWatermarkPosition, &watermark);
  if (s.IsNotFound()) return Status::Ok();
  if (!s.ok()) return s;
  return compiled->PrimeDeadlines(store, watermark);
}

Status LoadPolicy(const std::string& config_path, Policy* out, std::vector<std::string>* problems) {
  if (config_path.empty()) return Status::Ok();
  ServiceConfig config;
  std::vector<Problem> found;
  Status s = LoadServiceConfig(config_path, &config, &found);
  if (!s.ok()) {
    for (const Problem& p : found) problems->push_back(ProblemText(p));
    return Status::Error(config_path + ": " + std::to_string(found.size()) + " problem(s)");
  }
  *out = config.policy;
  return Status::Ok();
}

}  // namespace driftwatch::app
