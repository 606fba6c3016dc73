#include "rules/rule_compiler.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <unordered_map>

#include "rules/aws_api_names.h"
#include "rules/rule_eval.h"

namespace driftwatch {
namespace {

struct NormName {
  const char* name;
  NormField field;
};

constexpr NormName kNormNames[] = {
    {"eventSource", NormField::kEventSource},
    {"eventName", NormField::kEventName},
    {"errorCode", NormField::kErrorCode},
    {"awsRegion", NormField::kRegion},
    {"region", NormField::kRegion},
    {"account", NormField::kAccount},
    {"recipientAccountId", NormField::kAccount},
    {"sourceIPAddress", NormField::kSourceIp},
    {"userAgent", NormField::kUserAgent},
    {"readOnly", NormField::kReadOnly},
    {"eventID", NormField::kEventId},
    {"kind", NormField::kKind},
    {"principal.type", NormField::kPrincipalType},
    {"principal.arn", NormField::kPrincipalArn},
    {"principal.account_id", NormField::kPrincipalAccount},
    {"principal.access_key_id", NormField::kPrincipalAccessKey},
    {"principal.user_name", NormField::kPrincipalUserName},
    {"principal.session_name", NormField::kPrincipalSessionName},
    {"principal.issuer_arn", NormField::kPrincipalIssuerArn},
    {"principal.invoked_by", NormField::kPrincipalInvokedBy},
    {"principal.mfa_used", NormField::kPrincipalMfaUsed},
    {"config.status", NormField::kConfigStatus},
    {"compliance.type", NormField::kComplianceType},
    {"compliance.rule", NormField::kConfigRule},
    {"resource.type", NormField::kResourceType},
    {"resource.id", NormField::kResourceId},
    {"resource.arn", NormField::kResourceArn},
};

// Top-level keys of the documents event rules read: CloudTrail records, Config items (both
// spellings) and Config compliance notifications.
const std::set<std::string>& EventDocumentRoots() {
  static const std::set<std::string> roots = {
      "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
      "sourceIPAddress", "userAgent", "requestParameters", "responseElements",
      "additionalEventData", "requestID", "eventID", "readOnly", "resources", "eventType",
      "apiVersion", "managementEvent", "recipientAccountId", "sharedEventID", "vpcEndpointId",
      "vpcEndpointAccountId", "eventCategory", "tlsDetails", "sessionCredentialFromConsole",
      "errorCode", "errorMessage", "serviceEventDetails", "edgeDeviceDetails", "insightDetails",
      "addendum",
      // Config items and compliance notifications
      "configurationItemVersion", "version", "configurationItemCaptureTime",
      "configurationStateId", "awsAccountId", "accountId", "configurationItemStatus",
      "resourceType", "resourceId", "resourceName", "ARN", "arn", "availabilityZone",
      "resourceCreationTime", "tags", "relatedEvents", "relationships", "configuration",
      "supplementaryConfiguration", "configurationItemMD5Hash", "configRuleName",
      "configRuleARN", "configRuleId", "newEvaluationResult", "oldEvaluationResult",
      "notificationCreationTime", "messageType", "recordVersion", "resourceType"};
  return roots;
}

const std::set<std::string>& StateDocumentRoots() {
  static const std::set<std::string> roots = {
      "configurationItemVersion", "version", "configurationItemCaptureTime",
      "configurationStateId", "awsAccountId", "accountId", "configurationItemStatus",
      "resourceType", "resourceId", "resourceName", "ARN", "arn", "awsRegion",
      "availabilityZone", "resourceCreationTime", "tags", "relatedEvents", "relationships",
      "configuration", "supplementaryConfiguration", "configurationItemMD5Hash",
      "driftwatch"};
  return roots;
}

const std::set<std::string> kRuleKeys = {"rule",      "title",      "category", "severity",
                                         "description", "event",   "state",    "condition",
                                         "exceptions", "resolve",   "resource", "evidence",
                                         "enabled",   "kind",       "evidence_for", "expire_after"};

// Event findings expire this long after their last event unless the rule says otherwise.
constexpr int64_t kDefaultExpireAfterMs = int64_t{24} * 3600 * 1000;

// "90s", "30m", "24h", "7d" -> milliseconds; "never" -> 0. False when unreadable.
bool ParseDuration(const std::string& text, int64_t* ms) {
  if (text == "never") {
    *ms = 0;
    return true;
  }
  if (text.size() < 2) return false;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || n > int64_t{1} << 40) return false;
    n = n * 10 + (text[i] - '0');
  }
  int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1000; break;
    case 'm': unit = 60 * 1000; break;
    case 'h': unit = 3600 * 1000; break;
    case 'd': unit = 24 * 3600 * 1000; break;
    default: return false;
  }
  if (n <= 0) return false;
  *ms = n * unit;
  return true;
}

const std::set<std::string> kLeafOps = {
    "equals", "not_equals", "in",     "not_in", "prefix", "suffix",        "contains",
    "regex",  "exists",     "lt",     "le",     "gt",     "ge",            "cidr_contains",
    "open_to_world",        "older_than_days"};

bool IsRuleId(std::string_view id) {
  if (id.empty() || id.size() > 100) return false;
  for (char c : id) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

bool ToNumber(const std::string& s, double* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  if (*b == '+') ++b;
  auto r = std::from_chars(b, s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

class Compiler {
 public:
  Compiler(const Policy& policy, CompiledRuleSet* out, std::vector<driftwatch::Problem>* problems)
      : policy_(policy), out_(out), problems_(problems) {}

  void Run(const std::vector<std::pair<std::string, YamlNode>>& files) {
    // Pass 1: lists and macros from every file, so that order does not matter.
    std::vector<std::pair<const std::string*, const YamlNode*>> rule_nodes;
    for (const auto& [name, root] : files) {
      file_ = name;
      rule_id_.clear();
      if (root.is_null()) continue;
      if (!root.is_sequence()) {
        Problem(root.line, "a rule file is a list of '- rule:', '- list:' and '- macro:' items");
        continue;
      }
      for (const YamlNode& item : root.items) {
        rule_id_.clear();
        if (!item.is_map()) {
          Problem(item.line, "expected a map with 'rule', 'list' or 'macro'");
          continue;
        }
        if (item.Find("rule") != nullptr) {
          rule_nodes.emplace_back(&name, &item);
        } else if (const YamlNode* list = item.Find("list")) {
          AddList(item, *list);
        } else if (const YamlNode* macro = item.Find("macro")) {
          AddMacro(item, *macro);
        } else {
          Problem(item.line, "expected one of 'rule', 'list', 'macro' (got '" +
                                 (item.entries.empty() ? std::string() : item.entries[0].key) +
                                 "')");
        }
      }
    }
    // Pass 2: rules.
    std::map<std::string, std::pair<std::string, int>> ids;
    for (const auto& [name, node] : rule_nodes) {
      file_ = *name;
      CompiledRule rule;
      if (!CompileRule(*node, &rule)) continue;
      auto [it, inserted] = ids.emplace(rule.meta.rule_id, std::make_pair(rule.file, rule.line));
      if (!inserted) {
        rule_id_ = rule.meta.rule_id;
        Problem(rule.line,
                "duplicate rule id (first defined at " + it->second.first + ":" +
                    std::to_string(it->second.second) + ")",
                ProblemCode::kDuplicate);
        continue;
      }
      out_->rules.push_back(std::move(rule));
    }
    LinkPairs();
    // Lists and macros nobody uses are fine; macros are checked when used (and once here).
    for (auto& [mname, m] : macros_) {
      if (m.used) continue;
      file_ = m.file;
      rule_id_ = "macro:" + mname;
      Condition ignored;
      bool disabled = false;
      std::string reason;
      CompileCondition(*m.node, false, false, false, &ignored, &disabled, &reason);
    }
    out_->cache_slots = slots_.size();
    out_->lists = static_cast<int>(lists_.size());
    out_->macros = static_cast<int>(macros_.size());
  }

 private:
  struct ListDef {
    std::vector<std::string> items;
    std::string file;
    int line;
  };
  struct MacroDef {
    const YamlNode* node;
    std::string file;
    int line;
    bool used = false;
    bool expanding = false;
  };

  void Problem(int line, std::string message, ProblemCode code = ProblemCode::kInvalid) {
    for (const driftwatch::Problem& p : *problems_) {
      if (p.file == file_ && p.line == line && p.message == message) return;
    }
    driftwatch::Problem p = driftwatch::Problem::At(code, file_, line, std::move(message));
    p.rule_id = rule_id_;
    problems_->push_back(std::move(p));
  }

  void CheckKeys(const YamlNode& node, const std::set<std::string>& allowed, std::string what) {
    std::set<std::string> seen;
    for (const YamlNode::Entry& e : node.entries) {
      if (!seen.insert(e.key).second) {
        Problem(e.line, "key '" + e.key + "' given twice", ProblemCode::kDuplicate);
      }
      if (allowed.count(e.key) == 0) {
        std::string list;
        for (const std::string& k : allowed) list += (list.empty() ? "" : ", ") + k;
        Problem(e.line, "unknown key '" + e.key + "' in " + what + " (expected " + list + ")",
                ProblemCode::kUnknownKey);
      }
    }
  }

  void AddList(const YamlNode& item, const YamlNode& name) {
    rule_id_ = "list:" + name.scalar;
    CheckKeys(item, {"list", "items"}, "a list");
    if (!name.is_scalar() || name.scalar.empty()) {
      Problem(item.line, "list name must be a non-empty string");
      return;
    }
    ListDef def{{}, file_, item.line};
    const YamlNode* items = item.Find("items");
    if (items == nullptr || !items->is_sequence()) {
      Problem(item.line, "list needs 'items', a list of values", ProblemCode::kMissing);
    } else {
      for (const YamlNode& v : items->items) {
        if (!v.is_scalar()) {
          Problem(v.line, "list items must be scalars");
          continue;
        }
        def.items.push_back(v.scalar);
      }
    }
    if (lists_.count(name.scalar) != 0) {
      Problem(item.line,
              "duplicate list '" + name.scalar + "' (first at " + lists_[name.scalar].file + ":" +
                  std::to_string(lists_[name.scalar].line) + ")",
              ProblemCode::kDuplicate);
      return;
    }
    lists_[name.scalar] = std::move(def);
  }

  void AddMacro(const YamlNode& item, const YamlNode& name) {
    rule_id_ = "macro:" + name.scalar;
    CheckKeys(item, {"macro", "condition"}, "a macro");
    if (!name.is_scalar() || name.scalar.empty()) {
      Problem(item.line, "macro name must be a non-empty string");
      return;
    }
    const YamlNode* cond = item.Find("condition");
    if (cond == nullptr) {
      Problem(item.line, "macro needs a 'condition'", ProblemCode::kMissing);
      return;
    }
    if (macros_.count(name.scalar) != 0) {
      Problem(item.line,
              "duplicate macro '" + name.scalar + "' (first at " + macros_[name.scalar].file + ":" +
                  std::to_string(macros_[name.scalar].line) + ")",
              ProblemCode::kDuplicate);
      return;
    }
    macros_[name.scalar] = MacroDef{cond, file_, item.line};
  }

  bool Scalar(const YamlNode* node, const char* key, int line, std::string* out) {
    if (node == nullptr) {
      Problem(line, std::string("missing '") + key + "'", ProblemCode::kMissing);
      return false;
    }
    if (!node->is_scalar() || node->scalar.empty()) {
      Problem(node->line, std::string("'") + key + "' must be a non-empty string");
      return false;
    }
    *out = node->scalar;
    // Folded YAML scalars (">") end with a newline; findings carry the text without it.
    while (!out->empty() && std::isspace(static_cast<unsigned char>(out->back()))) out->pop_back();
    return true;
  }

  std::vector<std::string> StringList(const YamlNode& node, const char* what) {
    std::vector<std::string> out;
    if (node.is_scalar()) {
      out.push_back(node.scalar);
    } else if (node.is_sequence()) {
      for (const YamlNode& v : node.items) {
        if (v.is_scalar() && !v.scalar.empty()) {
          out.push_back(v.scalar);
        } else {
          Problem(v.line, std::string(what) + ": expected a non-empty string");
        }
      }
    } else {
      Problem(node.line, std::string(what) + ": expected a string or a list of strings");
    }
    return out;
  }

  // --- fields -----------------------------------------------------------------------------

  bool CompilePath(const std::string& text, int line, bool state, bool scoped, FieldPath* out) {
    out->text = text;
    if (!state && !scoped) {
      for (const NormName& n : kNormNames) {
        if (text == n.name) {
          out->norm = n.field;
          return true;
        }
      }
    }
    if (text.empty()) {
      Problem(line, "empty field path");
      return false;
    }
    size_t start = 0;
    bool single = true;
    while (start <= text.size()) {
      size_t dot = text.find('.', start);
      if (dot == std::string::npos) dot = text.size();
      std::string seg = text.substr(start, dot - start);
      if (seg.empty()) {
        Problem(line, "field '" + text + "': empty path segment");
        return false;
      }
      if (seg == "@json") {
        out->segments.push_back({PathSegment::Kind::kJson, ""});
        single = false;
      } else if (seg == "@account") {
        if (dot != text.size()) {
          Problem(line, "field '" + text + "': '@account' must be the last segment");
          return false;
        }
        out->segments.push_back({PathSegment::Kind::kAccount, ""});
        single = false;
      } else if (seg[0] == '@') {
        Problem(line,
                "field '" + text + "': unknown modifier '" + seg + "' (expected @json, @account)",
                ProblemCode::kUnknownName);
        return false;
      } else {
        bool each = false;
        if (seg.size() > 2 && seg.compare(seg.size() - 2, 2, "[]") == 0) {
          each = true;
          seg.resize(seg.size() - 2);
        }
        if (seg.find_first_of("[]") != std::string::npos) {
          Problem(line, "field '" + text + "': '[]' may only end a segment (name[])");
          return false;
        }
        out->segments.push_back({PathSegment::Kind::kKey, seg});
        if (each) {
          out->segments.push_back({PathSegment::Kind::kEach, ""});
          single = false;
        }
      }
      start = dot + 1;
    }
    if (!scoped) {
      const std::string& root = out->segments.front().key;
      const auto& roots = state ? StateDocumentRoots() : EventDocumentRoots();
      if (out->segments.front().kind != PathSegment::Kind::kKey || roots.count(root) == 0) {
        std::string hint = state ? " (state rules read a Config-item document: configuration, "
                                   "supplementaryConfiguration, tags, resourceType, ...)"
                                 : " (event rules read normalized fields such as eventName, "
                                   "principal.type, or the record: requestParameters, ...)";
        Problem(line, "unknown field '" + text + "'" + hint, ProblemCode::kUnknownName);
        return false;
      }
      if (single) {
        auto [it, inserted] = slots_.emplace(text, static_cast<int>(slots_.size()));
        out->cache_slot = it->second;
      }
    }
    return true;
  }

  bool CompileField(const YamlNode& node, bool state, bool scoped, FieldRef* out) {
    std::vector<std::string> texts;
    if (node.is_scalar()) {
      texts.push_back(node.scalar);
    } else if (node.is_sequence() && !node.items.empty()) {
      for (const YamlNode& v : node.items) {
        if (!v.is_scalar()) {
          Problem(v.line, "field alternatives must be strings");
          return false;
        }
        texts.push_back(v.scalar);
      }
    } else {
      Problem(node.line, "'field' must be a path or a list of alternative paths");
      return false;
    }
    bool ok = true;
    for (const std::string& t : texts) {
      FieldPath p;
      if (CompilePath(t, node.line, state, scoped, &p)) {
        out->paths.push_back(std::move(p));
      } else {
        ok = false;
      }
    }
    return ok && !out->paths.empty();
  }

  // --- operands ---------------------------------------------------------------------------

  // Values of a list or policy reference ({list: X} / {policy: X}); false on a problem.
  bool Reference(const YamlNode& node, bool in_exception, std::vector<std::string>* values,
                 bool* own_account, bool* disabled, std::string* reason) {
    const YamlNode* list = node.Find("list");
    const YamlNode* pol = node.Find("policy");
    if (node.entries.size() != 1 || (list == nullptr && pol == nullptr)) {
      Problem(node.line, "a value reference is {list: NAME} or {policy: NAME}");
      return false;
    }
    if (list != nullptr) {
      auto it = lists_.find(list->scalar);
      if (it == lists_.end()) {
        Problem(list->line, "unknown list '" + list->scalar + "'", ProblemCode::kUnknownName);
        return false;
      }
      *values = it->second.items;
      return true;
    }
    const std::string& name = pol->scalar;
    auto optional = [&](bool has, const std::vector<std::string>& v) {
      if (!has && !in_exception) {
        *disabled = true;
        if (reason->empty()) *reason = "policy." + name + " is not set";
      }
      *values = v;
      return true;
    };
    if (name == "approved_regions") {
      return optional(policy_.has_approved_regions, policy_.approved_regions);
    }
    if (name == "approved_resource_types") {
      return optional(policy_.has_approved_resource_types, policy_.approved_resource_types);
    }
    if (name == "trusted_ami_owners") {
      // "self" (AWS's own alias) trusts the resource's own account, like trusted_accounts.
      for (const std::string& o : policy_.trusted_ami_owners) {
        if (o == "self") *own_account = true;
      }
      return optional(policy_.has_trusted_ami_owners, policy_.trusted_ami_owners);
    }
    if (name == "trusted_amis") {
      // Part of the AMI-owner check: off with it.
      if (!policy_.has_trusted_ami_owners && !in_exception) {
        *disabled = true;
        if (reason->empty()) *reason = "policy.trusted_ami_owners is not set";
      }
      *values = policy_.trusted_amis;
      return true;
    }
    if (name == "iam_admin_principals") {
      return optional(policy_.has_iam_admin_principals, policy_.iam_admin_principals);
    }
    if (name == "trusted_accounts") {
      *values = policy_.trusted_accounts;
      *own_account = true;
      return true;
    }
    if (name == "public_ports") {
      for (int p : policy_.public_ports) values->push_back(std::to_string(p));
      return true;
    }
    if (name == "access_key_max_age_days") {
      values->push_back(std::to_string(policy_.access_key_max_age_days));
      return true;
    }
    if (name == "unused_credential_days") {
      values->push_back(std::to_string(policy_.unused_credential_days));
      return true;
    }
    Problem(pol->line,
            "unknown policy value '" + name +
                "' (expected approved_regions, approved_resource_types, "
                "trusted_accounts, trusted_ami_owners, trusted_amis, public_ports, "
                "access_key_max_age_days, unused_credential_days, "
                "iam_admin_principals)",
            ProblemCode::kUnknownName);
    return false;
  }

  bool Values(const YamlNode& node, bool in_exception, std::vector<std::string>* values,
              bool* own_account, bool* disabled, std::string* reason, const std::string& op) {
    if (node.is_scalar()) {
      values->push_back(node.scalar);
      return true;
    }
    if (node.is_sequence()) {
      for (const YamlNode& v : node.items) {
        if (v.is_map()) {
          std::vector<std::string> more;
          if (!Reference(v, in_exception, &more, own_account, disabled, reason)) return false;
          values->insert(values->end(), more.begin(), more.end());
        } else if (v.is_scalar()) {
          values->push_back(v.scalar);
        } else {
          Problem(v.line, "'" + op + "': list values must be scalars or references");
          return false;
        }
      }
      return true;
    }
    if (node.is_map()) return Reference(node, in_exception, values, own_account, disabled, reason);
    Problem(node.line, "'" + op + "' needs a value");
    return false;
  }

  bool Ports(const YamlNode& node, bool in_exception, Operand* o, bool* disabled,
             std::string* reason) {
    std::vector<std::string> values;
    bool own = false;
    if (!Values(node, in_exception, &values, &own, disabled, reason, "ports")) return false;
    for (const std::string& v : values) {
      PortRange r;
      const size_t dash = v.find('-', 1);
      double a = 0, b = 0;
      bool ok;
      if (dash == std::string::npos) {
        ok = ToNumber(v, &a);
        b = a;
      } else {
        ok = ToNumber(v.substr(0, dash), &a) && ToNumber(v.substr(dash + 1), &b);
      }
      if (!ok || a < 0 || b > 65535 || a > b) {
        Problem(node.line, "'" + v + "' is not a port or a port range like 1024-2048");
        return false;
      }
      r.from = static_cast<int>(a);
      r.to = static_cast<int>(b);
      o->ports.push_back(r);
    }
    std::sort(o->ports.begin(), o->ports.end(),
              [](const PortRange& x, const PortRange& y) { return x.from < y.from; });
    return true;
  }

  // --- conditions -------------------------------------------------------------------------

  bool CompileCondition(const YamlNode& node, bool state, bool scoped, bool in_exception,
                        Condition* out, bool* disabled, std::string* reason) {
    if (!node.is_map() || node.entries.empty()) {
      Problem(node.line, "a condition is a map: all, any, not, macro, any_of, "
                         "port_range_overlaps, port_range_outside, or field + operator");
      return false;
    }
    const YamlNode::Entry& first = node.entries.front();
    const std::string& key = first.key;
    if (key == "all" || key == "any") {
      CheckKeys(node, {key}, "'" + key + "'");
      out->op = key == "all" ? Op::kAll : Op::kAny;
      if (!first.value.is_sequence() || first.value.items.empty()) {
        Problem(first.line, "'" + key + "' needs a non-empty list of conditions");
        return false;
      }
      bool ok = true;
      for (const YamlNode& child : first.value.items) {
        Condition c;
        if (CompileCondition(child, state, scoped, in_exception, &c, disabled, reason)) {
          out->children.push_back(std::move(c));
        } else {
          ok = false;
        }
      }
      return ok;
    }
    if (key == "not") {
      CheckKeys(node, {"not"}, "'not'");
      out->op = Op::kNot;
      Condition c;
      if (!CompileCondition(first.value, state, scoped, in_exception, &c, disabled, reason)) {
        return false;
      }
      out->children.push_back(std::move(c));
      return true;
    }
    if (key == "macro") {
      CheckKeys(node, {"macro"}, "a macro reference");
      auto it = macros_.find(first.value.scalar);
      if (!first.value.is_scalar() || it == macros_.end()) {
        Problem(first.line, "unknown macro '" + first.value.scalar + "'",
                ProblemCode::kUnknownName);
        return false;
      }
      MacroDef& m = it->second;
      if (m.expanding) {
        Problem(first.line, "macro '" + first.value.scalar + "' refers to itself");
        return false;
      }
      m.used = true;
      m.expanding = true;
      std::string saved_file = file_;
      std::string saved_id = rule_id_;
      file_ = m.file;
      const bool ok =
          CompileCondition(*m.node, state, scoped, in_exception, out, disabled, reason);
      file_ = saved_file;
      rule_id_ = saved_id;
      m.expanding = false;
      if (!ok) Problem(first.line, "macro '" + first.value.scalar + "' has problems (above)");
      return ok;
    }
    if (key == "any_of") {
      CheckKeys(node, {"any_of", "where"}, "'any_of'");
      out->op = Op::kAnyOf;
      const YamlNode* where = node.Find("where");
      if (where == nullptr) {
        Problem(node.line, "'any_of' needs 'where' (a condition on each element)",
                ProblemCode::kMissing);
        return false;
      }
      bool ok = CompileField(first.value, state, scoped, &out->field);
      Condition c;
      ok = CompileCondition(*where, state, /*scoped=*/true, in_exception, &c, disabled, reason) &&
           ok;
      out->children.push_back(std::move(c));
      return ok;
    }
    if (key == "port_range_overlaps" || key == "port_range_outside") {
      CheckKeys(node, {key}, "'" + key + "'");
      out->op = key == "port_range_overlaps" ? Op::kPortRangeOverlaps : Op::kPortRangeOutside;
      const YamlNode& args = first.value;
      if (!args.is_map()) {
        Problem(first.line, "'" + key + "' needs {from: FIELD, to: FIELD, ports: PORTS}");
        return false;
      }
      CheckKeys(args, {"from", "to", "ports"}, "'" + key + "'");
      bool ok = true;
      if (const YamlNode* f = args.Find("from")) {
        ok = CompileField(*f, state, scoped, &out->from_port) && ok;
      }
      if (const YamlNode* t = args.Find("to")) {
        ok = CompileField(*t, state, scoped, &out->to_port) && ok;
      }
      auto o = std::make_shared<Operand>();
      const YamlNode* ports = args.Find("ports");
      if (ports == nullptr) {
        Problem(args.line, "'" + key + "' needs 'ports'", ProblemCode::kMissing);
        return false;
      }
      ok = Ports(*ports, in_exception, o.get(), disabled, reason) && ok;
      out->operand = std::move(o);
      return ok;
    }
    // Field + one operator.
    const YamlNode* field = node.Find("field");
    std::string op_name;
    const YamlNode* op_value = nullptr;
    int op_line = node.line;
    bool ok = true;
    for (const YamlNode::Entry& e : node.entries) {
      if (e.key == "field") continue;
      if (kLeafOps.count(e.key) != 0) {
        if (!op_name.empty()) {
          Problem(e.line, "one operator per condition ('" + op_name + "' and '" + e.key +
                              "'): combine them with all/any");
          ok = false;
        }
        op_name = e.key;
        op_value = &e.value;
        op_line = e.line;
      } else {
        Problem(e.line, "unknown operator '" + e.key + "'", ProblemCode::kUnknownName);
        ok = false;
      }
    }
    if (field == nullptr) {
      Problem(node.line, "condition needs 'field' (or all/any/not/macro/any_of)",
              ProblemCode::kMissing);
      return false;
    }
    if (op_value == nullptr) {
      if (ok) Problem(node.line, "condition on '" + field->scalar + "' needs an operator");
      return false;
    }
    if (!ok) return false;
    if (!CompileField(*field, state, scoped, &out->field)) return false;
    return CompileLeaf(op_name, *op_value, op_line, state, in_exception, out, disabled, reason);
  }

  bool CompileLeaf(const std::string& op, const YamlNode& value, int line, bool state,
                   bool in_exception, Condition* out, bool* disabled, std::string* reason) {
    static const std::map<std::string, Op> kOps = {
        {"equals", Op::kEquals},     {"not_equals", Op::kNotEquals},
        {"in", Op::kIn},             {"not_in", Op::kNotIn},
        {"prefix", Op::kPrefix},     {"suffix", Op::kSuffix},
        {"contains", Op::kContains}, {"regex", Op::kRegex},
        {"exists", Op::kExists},     {"lt", Op::kLt},
        {"le", Op::kLe},             {"gt", Op::kGt},
        {"ge", Op::kGe},             {"cidr_contains", Op::kCidrContains},
        {"open_to_world", Op::kOpenToWorld}, {"older_than_days", Op::kOlderThanDays}};
    out->op = kOps.at(op);
    auto o = std::make_shared<Operand>();
    auto boolean = [&]() {
      if (!value.is_scalar() || (value.scalar != "true" && value.scalar != "false")) {
        Problem(line, "'" + op + "' takes true or false");
        return false;
      }
      o->boolean = value.scalar == "true";
      return true;
    };
    bool ok = true;
    switch (out->op) {
      case Op::kExists:
      case Op::kOpenToWorld:
        ok = boolean();
        break;
      case Op::kRegex: {
        if (!value.is_scalar()) {
          Problem(line, "'regex' takes one pattern (RE2 syntax)");
          return false;
        }
        RE2::Options options;
        options.set_log_errors(false);
        o->regex = std::make_unique<RE2>(value.scalar, options);
        if (!o->regex->ok()) {
          Problem(line, "bad regex '" + value.scalar + "': " + o->regex->error());
          return false;
        }
        break;
      }
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
      case Op::kOlderThanDays: {
        std::vector<std::string> values;
        bool own = false;
        if (!Values(value, in_exception, &values, &own, disabled, reason, op)) return false;
        if (values.size() != 1 || !ToNumber(values[0], &o->number)) {
          Problem(line, "'" + op + "' takes one number (or a numeric policy value)");
          return false;
        }
        if (out->op == Op::kOlderThanDays) {
          if (!state) {
            Problem(line, "'older_than_days' is only for state rules (checked against the "
                          "event-time watermark)");
            return false;
          }
          time_dependent_ = true;
        }
        break;
      }
      default: {
        std::vector<std::string> values;
        if (!Values(value, in_exception, &values, &o->own_account, disabled, reason, op)) {
          return false;
        }
        if (values.empty() && out->op != Op::kIn && out->op != Op::kNotIn) {
          Problem(line, "'" + op + "' needs at least one value");
          return false;
        }
        for (const std::string& v : values) {
          double d = 0;
          if (ToNumber(v, &d)) o->numbers.push_back(d);
          if (out->op == Op::kIn || out->op == Op::kNotIn) {
            if (!v.empty() && v.back() == '*') {
              o->prefixes.push_back(v.substr(0, v.size() - 1));
            } else {
              o->set.insert(v);
            }
          }
          if (out->op == Op::kCidrContains) {
            Cidr c;
            if (!ParseCidr(v, &c)) {
              Problem(line, "'" + v + "' is not an IPv4 or IPv6 CIDR");
              ok = false;
            }
            o->cidrs.push_back(c);
          }
        }
        o->strings = std::move(values);
        break;
      }
    }
    out->operand = std::move(o);
    return ok;
  }

  // --- rules ------------------------------------------------------------------------------

  bool CompileRule(const YamlNode& node, CompiledRule* rule) {
    const YamlNode* id = node.Find("rule");
    rule_id_ = id->is_scalar() ? id->scalar : std::string();
    rule->file = file_;
    rule->line = node.line;
    const size_t problems_before = problems_->size();
    CheckKeys(node, kRuleKeys, "a rule");
    if (!id->is_scalar() || !IsRuleId(id->scalar)) {
      Problem(node.line, "rule id must be lower-case letters, digits, '-', '_' or '.'");
    }
    rule->meta.rule_id = rule_id_;
    Scalar(node.Find("title"), "title", node.line, &rule->meta.title);
    if (Scalar(node.Find("description"), "description", node.line, &rule->meta.description) &&
        rule->meta.description.size() < 20) {
      Problem(node.Find("description")->line,
              "description is too short to act on: say what happened and what to do");
    }
    std::string text;
    if (Scalar(node.Find("category"), "category", node.line, &text) &&
        !ParseCategory(text, &rule->meta.category)) {
      Problem(node.Find("category")->line,
              "unknown category '" + text +
                  "' (expected identity, network, data-protection, logging, inventory, "
                  "patching)");
    }
    if (Scalar(node.Find("severity"), "severity", node.line, &text) &&
        !ParseSeverity(text, &rule->meta.severity)) {
      Problem(node.Find("severity")->line,
              "unknown severity '" + text + "' (expected critical, high, medium, low, info)");
    }
    if (const YamlNode* enabled = node.Find("enabled")) {
      if (!enabled->is_scalar() || (enabled->scalar != "true" && enabled->scalar != "false")) {
        Problem(enabled->line, "'enabled' takes true or false");
      } else if (enabled->scalar == "false") {
        rule->enabled = false;
        rule->disabled_reason = "enabled: false";
      }
    }
    const YamlNode* event = node.Find("event");
    const YamlNode* state = node.Find("state");
    if ((event == nullptr) == (state == nullptr)) {
      Problem(node.line, "a rule needs exactly one of 'event' (match one event) or 'state' "
                         "(a predicate over a resource document)");
      return false;
    }
    rule->is_state = state != nullptr;
    if (event != nullptr) CompileEventMatch(*event, rule);
    if (state != nullptr) CompileStateMatch(*state, rule);

    time_dependent_ = false;
    bool disabled = false;
    std::string reason;
    if (const YamlNode* cond = node.Find("condition")) {
      CompileCondition(*cond, rule->is_state, false, false, &rule->condition, &disabled,
                       &reason);
    } else if (rule->is_state) {
      Problem(node.line, "a state rule needs a 'condition'", ProblemCode::kMissing);
    } else if (rule->event_names.empty()) {
      Problem(node.line, "an event rule without event names needs a 'condition'",
              ProblemCode::kMissing);
    }
    if (const YamlNode* exc = node.Find("exceptions")) {
      if (!exc->is_sequence()) {
        Problem(exc->line, "'exceptions' is a list of conditions");
      } else {
        for (const YamlNode& e : exc->items) {
          Condition c;
          bool ignored = false;
          std::string ignored_reason;
          if (CompileCondition(e, rule->is_state, false, true, &c, &ignored, &ignored_reason)) {
            rule->exceptions.push_back(std::move(c));
          }
        }
      }
    }
    if (const YamlNode* res = node.Find("resolve")) {
      if (rule->is_state) {
        Problem(res->line, "'resolve' is for event rules; a state rule resolves when its "
                           "condition stops holding");
      } else {
        bool ignored = false;
        std::string ignored_reason;
        rule->has_resolve = CompileCondition(*res, false, false, true, &rule->resolve, &ignored,
                                             &ignored_reason);
      }
    }
    rule->time_dependent = time_dependent_;
    if (const YamlNode* res = node.Find("resource")) CompileResource(*res, rule);
    if (const YamlNode* ev = node.Find("evidence")) {
      for (const std::string& path : StringList(*ev, "evidence")) {
        FieldRef f;
        YamlNode n;
        n.kind = YamlNode::Kind::kScalar;
        n.scalar = path;
        n.line = ev->line;
        if (CompileField(n, rule->is_state, false, &f)) rule->evidence.push_back(std::move(f));
      }
    }
    CompileKind(node, rule);
    if (disabled && rule->enabled) {
      rule->enabled = false;
      rule->disabled_reason = reason;
    }
    return problems_->size() == problems_before;
  }

  // kind, evidence_for, expire_after. State rules and event rules with `resolve` stand for a
  // state (posture); other event rules for a point-in-time act (event), which expires.
  void CompileKind(const YamlNode& node, CompiledRule* rule) {
    FindingKind kind = rule->is_state || rule->has_resolve ? FindingKind::kPosture
                                                           : FindingKind::kEvent;
    std::string text;
    if (const YamlNode* k = node.Find("kind")) {
      FindingKind declared = kind;
      if (!Scalar(k, "kind", node.line, &text)) {
      } else if (!ParseFindingKind(text, &declared)) {
        Problem(k->line, "unknown kind '" + text + "' (expected posture or event)",
                ProblemCode::kUnknownName);
      } else if (rule->is_state && declared != FindingKind::kPosture) {
        Problem(k->line, "a state rule's findings are posture findings (kind: posture)");
      } else if (!rule->is_state && !rule->has_resolve && declared == FindingKind::kPosture) {
        Problem(k->line, "kind: posture needs a state rule, or an event rule with 'resolve' "
                         "(an event rule alone has no state to go back to)");
      } else {
        kind = declared;
        rule->kind_declared = true;
      }
    }
    rule->meta.kind = kind;
    if (const YamlNode* f = node.Find("evidence_for")) {
      if (rule->is_state) {
        Problem(f->line, "'evidence_for' is for event rules: it names the state rule whose "
                         "finding the event gives its actor and evidence to");
      } else if (rule->has_resolve) {
        Problem(f->line, "'evidence_for' and 'resolve' do not go together: the state rule "
                         "resolves the finding");
      } else if (f->is_map()) {
        CheckKeys(*f, {"rule", "names"}, "'evidence_for'");
        Scalar(f->Find("rule"), "evidence_for.rule", f->line, &rule->evidence_for);
        if (const YamlNode* names = f->Find("names")) {
          rule->evidence_for_names = StringList(*names, "evidence_for.names");
          for (const std::string& n : rule->evidence_for_names) {
            if (std::find(rule->event_names.begin(), rule->event_names.end(), n) ==
                rule->event_names.end()) {
              Problem(names->line, "evidence_for.names: '" + n + "' is not one of event.names");
            }
          }
        }
      } else {
        Scalar(f, "evidence_for", node.line, &rule->evidence_for);
      }
    }
    rule->meta.expire_after_ms = kind == FindingKind::kEvent ? kDefaultExpireAfterMs : 0;
    if (const YamlNode* e = node.Find("expire_after")) {
      int64_t ms = 0;
      if (kind != FindingKind::kEvent) {
        Problem(e->line, "'expire_after' is for event findings; posture findings resolve when "
                         "the state goes back");
      } else if (Scalar(e, "expire_after", node.line, &text) && !ParseDuration(text, &ms)) {
        Problem(e->line, "expire_after '" + text +
                             "' is not a duration like 30m, 24h, 7d (or never)");
      } else {
        rule->meta.expire_after_ms = ms;
      }
    }
  }

  // Pairs event rules with the posture rules they give evidence to, and flags an event rule and
  // a posture rule of one category watching one resource type unpaired: one drift would open two
  // findings, and the event one would never close with the drift.
  void LinkPairs() {
    std::map<std::string, size_t> by_id;
    for (size_t i = 0; i < out_->rules.size(); ++i) by_id[out_->rules[i].meta.rule_id] = i;
    for (CompiledRule& rule : out_->rules) {
      if (rule.is_state) continue;
      file_ = rule.file;
      rule_id_ = rule.meta.rule_id;
      std::vector<std::string> types = rule.resource.types;
      if (types.empty() && !rule.resource.type.empty()) types.push_back(rule.resource.type);
      if (!rule.evidence_for.empty()) {
        auto it = by_id.find(rule.evidence_for);
        if (it == by_id.end()) {
          Problem(rule.line, "evidence_for: no rule '" + rule.evidence_for + "'",
                  ProblemCode::kUnknownName);
          continue;
        }
        const CompiledRule& posture = out_->rules[it->second];
        if (!posture.is_state) {
          Problem(rule.line, "evidence_for: '" + rule.evidence_for + "' is not a state rule");
          continue;
        }
        bool watched = posture.resource_types.empty() && !types.empty();
        for (const std::string& t : types) {
          watched = watched || std::find(posture.resource_types.begin(),
                                         posture.resource_types.end(),
                                         t) != posture.resource_types.end();
        }
        if (!types.empty() && !watched) {
          Problem(rule.line, "evidence_for: '" + rule.evidence_for +
                                 "' watches none of the types this rule's resource has");
        }
        if (types.empty()) {
          Problem(rule.line,
                  "evidence_for needs a 'resource' with a type, the one '" + rule.evidence_for +
                      "' watches",
                  ProblemCode::kMissing);
        }
        rule.evidence_for_index = static_cast<int>(it->second);
        continue;
      }
      if (rule.meta.kind != FindingKind::kEvent || rule.kind_declared) continue;
      for (const CompiledRule& posture : out_->rules) {
        if (!posture.is_state || posture.meta.category != rule.meta.category) continue;
        for (const std::string& t : types) {
          if (std::find(posture.resource_types.begin(), posture.resource_types.end(), t) ==
              posture.resource_types.end()) {
            continue;
          }
          Problem(rule.line, "event rule and posture rule '" + posture.meta.rule_id +
                                 "' both watch " + t + " unpaired: give the drift one finding "
                                 "(evidence_for: " + posture.meta.rule_id +
                                 "), or say 'kind: event' when this is a point-in-time act of "
                                 "its own");
          break;
        }
      }
    }
  }

  void CompileEventMatch(const YamlNode& event, CompiledRule* rule) {
    if (!event.is_map()) {
      Problem(event.line, "'event' is a map: {source: ..., names: [...]}");
      return;
    }
    CheckKeys(event, {"source", "names"}, "'event'");
    if (const YamlNode* src = event.Find("source")) {
      rule->event_sources = StringList(*src, "event.source");
      for (const std::string& s : rule->event_sources) {
        if (!IsKnownEventSource(s)) {
          Problem(src->line, "unknown eventSource '" + s + "' (no AWS service logs as it)",
                  ProblemCode::kUnknownName);
        }
      }
    }
    if (const YamlNode* names = event.Find("names")) {
      if (rule->event_sources.empty()) {
        Problem(names->line, "'event.names' needs 'event.source' (names are per service)");
      }
      rule->event_names = StringList(*names, "event.names");
      for (const std::string& n : rule->event_names) {
        bool known = false;
        for (const std::string& s : rule->event_sources) {
          if (IsKnownApiName(s, n)) known = true;
        }
        if (!known && !rule->event_sources.empty() &&
            IsKnownEventSource(rule->event_sources.front())) {
          std::string hint = SuggestApiName(rule->event_sources.front(), n);
          Problem(names->line,
                  "eventName '" + n + "' is not an API of " + rule->event_sources.front() +
                      (hint.empty() ? "" : " (did you mean '" + hint + "'?)"),
                  ProblemCode::kUnknownName);
        }
      }
      if (rule->event_names.empty()) Problem(names->line, "'event.names' is empty");
    }
  }

  void CompileStateMatch(const YamlNode& state, CompiledRule* rule) {
    if (state.is_null()) return;
    if (!state.is_map()) {
      Problem(state.line, "'state' is a map: {resource_types: [...]} (or {} for every type)");
      return;
    }
    CheckKeys(state, {"resource_types"}, "'state'");
    if (const YamlNode* types = state.Find("resource_types")) {
      rule->resource_types = StringList(*types, "state.resource_types");
      for (const std::string& t : rule->resource_types) {
        if (t.rfind("AWS::", 0) != 0 || t.find("::", 5) == std::string::npos) {
          Problem(types->line, "'" + t + "' is not a resource type like AWS::EC2::SecurityGroup");
        }
      }
    }
  }

  void CompileResource(const YamlNode& res, CompiledRule* rule) {
    if (!res.is_map()) {
      Problem(res.line, "'resource' is a map: {type, id, arn, global}");
      return;
    }
    CheckKeys(res, {"type", "id", "arn", "global"}, "'resource'");
    if (rule->is_state) {
      Problem(res.line, "'resource' is for event rules; state rules find the resource changed");
      return;
    }
    const YamlNode* t = res.Find("type");
    if (t != nullptr && t->is_sequence()) {
      rule->resource.types = StringList(*t, "'resource.type'");
    } else if (t != nullptr) {
      Scalar(t, "type", res.line, &rule->resource.type);
    }
    if (const YamlNode* id = res.Find("id")) CompileField(*id, false, false, &rule->resource.id);
    if (!rule->resource.types.empty()) {
      if (rule->resource.types.size() != rule->resource.id.paths.size()) {
        Problem(res.line, "'resource.type' as a list needs one type per 'id' path (" +
                              std::to_string(rule->resource.types.size()) + " types, " +
                              std::to_string(rule->resource.id.paths.size()) + " paths)");
      } else {
        for (const FieldPath& path : rule->resource.id.paths) {
          rule->resource.typed_ids.push_back(FieldRef{{path}});
        }
        rule->resource.type = rule->resource.types.front();
      }
    }
    if (const YamlNode* arn = res.Find("arn")) {
      CompileField(*arn, false, false, &rule->resource.arn);
    }
    if (const YamlNode* g = res.Find("global")) rule->resource.global = g->scalar == "true";
    if (!rule->resource.type.empty() && rule->resource.id.paths.empty()) {
      Problem(res.line, "'resource' with a type needs an 'id' field");
    }
  }

  const Policy& policy_;
  CompiledRuleSet* out_;
  std::vector<driftwatch::Problem>* problems_;
  std::string file_;
  std::string rule_id_;
  std::map<std::string, ListDef> lists_;
  std::map<std::string, MacroDef> macros_;
  std::unordered_map<std::string, int> slots_;
  bool time_dependent_ = false;
};

}  // namespace

void CompileRules(const std::vector<std::pair<std::string, YamlNode>>& files, const Policy& policy,
                  CompiledRuleSet* out, std::vector<driftwatch::Problem>* problems) {
  Compiler(policy, out, problems).Run(files);
}

std::vector<std::string> NormalizedFieldNames() {
  std::vector<std::string> names;
  for (const NormName& n : kNormNames) names.emplace_back(n.name);
  return names;
}

}  // namespace driftwatch
