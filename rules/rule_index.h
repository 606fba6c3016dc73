#pragma once
// Where compiled rules are found per event: event rules keyed by (eventSource, eventName), state
// rules by resource type, plus small buckets of rules that name no key and are checked against
// everything. Lookups take string_views and allocate nothing, so the cost per event is one or
// two hash lookups however many rules there are.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/rule_model.h"

namespace driftwatch {

class RuleIndex {
 public:
  // Indexes the enabled rules of `rules` by position.
  void Build(const std::vector<CompiledRule>& rules);

  // Rules keyed exactly on (source, name); nullptr when none.
  const std::vector<uint32_t>* EventRules(std::string_view source, std::string_view name) const;
  // Event rules with no eventName key (e.g. any Root activity); their source filter, if any,
  // is checked by the caller.
  const std::vector<uint32_t>& UnindexedEventRules() const { return unindexed_event_; }
  const std::vector<uint32_t>* StateRules(std::string_view resource_type) const;
  const std::vector<uint32_t>& UnindexedStateRules() const { return unindexed_state_; }

  size_t event_keys() const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  template <typename V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  Map<Map<std::vector<uint32_t>>> by_source_name_;
  Map<std::vector<uint32_t>> by_type_;
  std::vector<uint32_t> unindexed_event_;
  std::vector<uint32_t> unindexed_state_;
};

}  // namespace driftwatch
