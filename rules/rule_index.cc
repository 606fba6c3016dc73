#include "rules/rule_index.h"

namespace driftwatch {

void RuleIndex::Build(const std::vector<CompiledRule>& rules) {
  by_source_name_.clear();
  by_type_.clear();
  unindexed_event_.clear();
  unindexed_state_.clear();
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const CompiledRule& r = rules[i];
    if (!r.enabled) continue;
    if (r.is_state) {
      if (r.resource_types.empty()) {
        unindexed_state_.push_back(i);
      } else {
        for (const std::string& t : r.resource_types) by_type_[t].push_back(i);
      }
      continue;
    }
    if (r.event_names.empty()) {
      unindexed_event_.push_back(i);
      continue;
    }
    for (const std::string& s : r.event_sources) {
      auto& names = by_source_name_[s];
      for (const std::string& n : r.event_names) {
        auto& bucket = names[n];
        if (bucket.empty() || bucket.back() != i) bucket.push_back(i);
      }
    }
  }
}

const std::vector<uint32_t>* RuleIndex::EventRules(std::string_view source,
                                                   std::string_view name) const {
  auto s = by_source_name_.find(source);
  if (s == by_source_name_.end()) return nullptr;
  auto n = s->second.find(name);
  return n == s->second.end() ? nullptr : &n->second;
}

const std::vector<uint32_t>* RuleIndex::StateRules(std::string_view resource_type) const {
  auto it = by_type_.find(resource_type);
  return it == by_type_.end() ? nullptr : &it->second;
}

size_t RuleIndex::event_keys() const {
  size_t n = 0;
  for (const auto& [source, names] : by_source_name_) n += names.size();
  return n;
}

}  // namespace driftwatch
