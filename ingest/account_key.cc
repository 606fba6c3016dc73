#include "ingest/account_key.h"

#include <simdjson.h>

namespace driftwatch {

namespace {

bool StringField(simdjson::dom::element obj, std::string_view key, std::string* out) {
  std::string_view v;
  if (obj[key].get_string().get(v) == simdjson::SUCCESS && !v.empty()) {
    *out = std::string(v);
    return true;
  }
  return false;
}

bool FindAccount(simdjson::dom::element e, int depth, std::string* out) {
  if (depth > 4 || !e.is_object()) return false;
  if (StringField(e, "recipientAccountId", out)) return true;
  simdjson::dom::element child;
  if (e["userIdentity"].get(child) == simdjson::SUCCESS && StringField(child, "accountId", out)) {
    return true;
  }
  if (StringField(e, "awsAccountId", out) || StringField(e, "accountId", out)) return true;
  if (e["detail"].get(child) == simdjson::SUCCESS && FindAccount(child, depth + 1, out)) {
    return true;
  }
  if (StringField(e, "account", out)) return true;  // EventBridge envelope
  if (e["configurationItem"].get(child) == simdjson::SUCCESS &&
      FindAccount(child, depth + 1, out)) {
    return true;
  }
  for (const char* list : {"Records", "configurationItems"}) {
    simdjson::dom::array arr;
    if (e[list].get_array().get(arr) == simdjson::SUCCESS) {
      for (simdjson::dom::element item : arr) {
        if (FindAccount(item, depth + 1, out)) return true;
        break;  // the first element decides
      }
    }
  }
  std::string_view message;
  if (e["Message"].get_string().get(message) == simdjson::SUCCESS) {
    simdjson::dom::parser inner;
    simdjson::dom::element doc;
    if (inner.parse(message.data(), message.size()).get(doc) == simdjson::SUCCESS) {
      return FindAccount(doc, depth + 1, out);
    }
  }
  return false;
}

}  // namespace

std::string AccountKeyOf(std::string_view record) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(record.data(), record.size()).get(doc) != simdjson::SUCCESS) return "";
  std::string account;
  if (!FindAccount(doc, 0, &account)) return "";
  return account;
}

}  // namespace driftwatch
