#include "vocab/resource_key.h"

namespace driftwatch {

std::string MakeResourceKey(std::string_view account, std::string_view region,
                            std::string_view type, std::string_view id) {
  std::string key;
  key.reserve(account.size() + region.size() + type.size() + id.size() + 3);
  AppendResourceKey(&key, account, region, type, id);
  return key;
}

void AppendResourceKey(std::string* out, std::string_view account, std::string_view region,
                       std::string_view type, std::string_view id) {
  out->append(account).append(1, '|').append(region).append(1, '|').append(type).append(1, '|');
  out->append(id);
}

bool ParseResourceKey(std::string_view key, ResourceKeyParts* out) {
  *out = ResourceKeyParts();
  std::string_view* parts[] = {&out->account, &out->region, &out->type};
  for (std::string_view* part : parts) {
    const size_t bar = key.find('|');
    if (bar == std::string_view::npos) {
      *part = key;
      return false;
    }
    *part = key.substr(0, bar);
    key.remove_prefix(bar + 1);
  }
  out->id = key;
  return true;
}

}  // namespace driftwatch
