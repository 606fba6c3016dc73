#include "engine/event.h"

#include "engine/state_store.h"

namespace driftwatch {

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kApiCall:
      return "api_call";
    case EventKind::kConfigItem:
      return "config_item";
    case EventKind::kComplianceChange:
      return "compliance_change";
  }
  return "unknown";
}

std::string MakeResourceKey(std::string_view account, std::string_view region,
                            std::string_view type, std::string_view id) {
  std::string key;
  key.reserve(account.size() + region.size() + type.size() + id.size() + 3);
  key.append(account).append(1, '|').append(region).append(1, '|').append(type).append(1, '|');
  key.append(id);
  return key;
}

}  // namespace driftwatch
