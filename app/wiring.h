#pragma once
// Builds the engine's parts for the commands: the one place that knows which concrete decoder,
// store and rule engine the program uses.

#include <memory>
#include <string>
#include <vector>

#include "config/policy.h"
#include "engine/pipeline.h"
#include "rules/rule_engine.h"
#include "state/state_store.h"
#include "vocab/status.h"

namespace driftwatch::app {

std::unique_ptr<EventDecoder> MakeDecoder();

// Opens (creating if missing) a RocksDB state directory.
// `sync_each_batch`: sync the WAL on every commit (the live service, which commits Kafka offsets
// after it); replay syncs once, when the store closes (RocksDbStoreOptions::sync).
Status OpenStateStore(const std::string& dir, std::unique_ptr<StateStore>* out,
                      bool sync_each_batch = true);
// Records per part when a batch is written in parts (PipelineParts::commit_every_records): the
// committer thread writes one part while the pipeline works on the next.
inline constexpr size_t kCommitPartRecords = 250;
// Opens an existing state directory for queries; a missing one is an error.
Status OpenExistingStateStore(const std::string& dir, std::unique_ptr<StateStore>* out);

// The rule files to load when none are given: DRIFTWATCH_RULES_DIR, else the built-in pack.
std::vector<std::string> DefaultRulePaths();

// Loads and compiles rules; every problem goes to `problems` (file:line, rule id, what).
Status MakeRuleEngine(const std::vector<std::string>& rule_paths, const Policy& policy,
                      std::unique_ptr<RuleEngine>* out, std::vector<std::string>* problems);

// Re-arms time-driven checks (key age) of a rule engine made by MakeRuleEngine for the state
// already in `store`, as of its stored event-time watermark. A no-op on an empty state.
Status PrimeRuleEngine(RuleEngine* rules, StateStore* store);

// Reads the policy section of a config file (empty path: defaults).
Status LoadPolicy(const std::string& config_path, Policy* out, std::vector<std::string>* problems);

}  // namespace driftwatch::app
