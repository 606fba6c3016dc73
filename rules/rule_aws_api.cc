// Lookups over the generated AWS API name table (rules/aws_api_names.cc).
#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rules/aws_api_names.h"

namespace driftwatch {
namespace {

struct ApiIndex {
  std::unordered_map<std::string, std::unordered_set<std::string>> by_source;
};

const ApiIndex& Index() {
  static const ApiIndex* index = [] {
    auto* idx = new ApiIndex;
    size_t count = 0;
    const AwsServiceApis* table = AwsServiceApiTable(&count);
    for (size_t i = 0; i < count; ++i) {
      auto& names = idx->by_source[table[i].event_source];
      std::string_view all(table[i].names);
      size_t start = 0;
      while (start < all.size()) {
        size_t nl = all.find('\n', start);
        if (nl == std::string_view::npos) nl = all.size();
        if (nl > start) names.emplace(all.substr(start, nl - start));
        start = nl + 1;
      }
    }
    return idx;
  }();
  return *index;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

bool IsKnownEventSource(std::string_view event_source) {
  return Index().by_source.count(std::string(event_source)) != 0;
}

bool IsKnownApiName(std::string_view event_source, std::string_view event_name) {
  auto it = Index().by_source.find(std::string(event_source));
  return it != Index().by_source.end() && it->second.count(std::string(event_name)) != 0;
}

std::string SuggestApiName(std::string_view event_source, std::string_view event_name) {
  auto it = Index().by_source.find(std::string(event_source));
  if (it == Index().by_source.end()) return {};
  std::string best;
  size_t best_distance = std::max<size_t>(3, event_name.size() / 4) + 1;
  for (const std::string& name : it->second) {
    const size_t d = EditDistance(name, event_name);
    if (d < best_distance || (d == best_distance && !best.empty() && name < best)) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

}  // namespace driftwatch
