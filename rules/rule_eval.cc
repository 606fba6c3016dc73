#include "rules/rule_eval.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "vocab/json_parse.h"
#include "vocab/time_util.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;

constexpr int64_t kDayMs = 86400000;

bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (*begin == '+') ++begin;
  auto r = std::from_chars(begin, end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

// Integral numbers as their decimal text, so that 22 matches "22" in a set.
std::string_view NumberText(double v, char* buf, size_t n) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) {
    auto r = std::to_chars(buf, buf + n, static_cast<long long>(v));
    return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
  }
  auto r = std::to_chars(buf, buf + n, v);
  return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

}  // namespace

bool ParseCidr(std::string_view text, Cidr* out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text.size() > 60) return false;
  std::string addr(text);
  int prefix = -1;
  const size_t slash = addr.find('/');
  if (slash != std::string::npos) {
    std::string_view p(addr.data() + slash + 1, addr.size() - slash - 1);
    int v = 0;
    auto r = std::from_chars(p.data(), p.data() + p.size(), v);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size() || p.empty()) return false;
    prefix = v;
    addr.resize(slash);
  }
  Cidr c;
  if (addr.find(':') != std::string::npos) {
    c.v6 = true;
    if (inet_pton(AF_INET6, addr.c_str(), c.addr) != 1) return false;
    if (prefix < 0) prefix = 128;
    if (prefix > 128) return false;
  } else {
    if (inet_pton(AF_INET, addr.c_str(), c.addr) != 1) return false;
    if (prefix < 0) prefix = 32;
    if (prefix > 32) return false;
  }
  c.prefix = prefix;
  *out = c;
  return true;
}

bool CidrContains(const Cidr& outer, const Cidr& inner) {
  if (outer.v6 != inner.v6 || inner.prefix < outer.prefix) return false;
  int bits = outer.prefix;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((outer.addr[i] & mask) != (inner.addr[i] & mask)) return false;
  }
  return true;
}

std::string_view AccountOf(std::string_view s) {
  auto is_id = [](std::string_view v) {
    if (v.size() != 12) return false;
    for (char c : v) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (is_id(s)) return s;
  if (s.substr(0, 4) != "arn:") return {};
  // arn:partition:service:region:account:resource
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    pos = s.find(':', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  const size_t end = s.find(':', pos);
  if (end == std::string_view::npos) return {};
  std::string_view account = s.substr(pos, end - pos);
  return is_id(account) ? account : std::string_view();
}

void RuleEvalContext::BeginEvent(const Event* event, int64_t watermark_ms,
                                 const json* document, const json* members) {
  event_ = event;
  doc_ = document != nullptr && document->is_object() ? document : nullptr;
  members_ = members != nullptr && members->is_object() ? members : nullptr;
  parse_attempted_ = document != nullptr;
  parsed_now_ = false;
  own_account_ = event->account;
  watermark_ms_ = watermark_ms;
  embedded_.clear();
  scope_ = nullptr;
  ++gen_;
}

void RuleEvalContext::BeginDocument(const json* doc, std::string_view own_account,
                                    int64_t watermark_ms) {
  event_ = nullptr;
  doc_ = doc;
  members_ = nullptr;
  parse_attempted_ = true;
  parsed_now_ = false;
  own_account_ = own_account;
  watermark_ms_ = watermark_ms;
  embedded_.clear();
  scope_ = nullptr;
  ++gen_;
}

const json* RuleEvalContext::Root() {
  if (doc_ != nullptr) return doc_;
  if (parse_attempted_ || event_ == nullptr) return nullptr;
  parse_attempted_ = true;
  ++parses_;
  parsed_now_ = true;
  parsed_ = ParseJson(event_->document);
  if (parsed_.is_discarded() || !parsed_.is_object()) return nullptr;
  doc_ = &parsed_;
  return doc_;
}

const json* RuleEvalContext::RootFor(const FieldPath& path) {
  if (members_ != nullptr && doc_ == nullptr && IsCallMemberPath(path)) return members_;
  return Root();
}

bool RuleEvalContext::TakeParsedDocument(json* out) {
  if (event_ == nullptr || !parsed_now_) return false;
  *out = std::move(parsed_);
  parsed_now_ = false;
  doc_ = nullptr;
  return true;
}

RuleEvalContext::Val RuleEvalContext::FromJson(const json& j) {
  Val v;
  switch (j.type()) {
    case json::value_t::string:
      v.kind = Val::Kind::kStr;
      v.str = j.get_ref<const std::string&>();
      break;
    case json::value_t::boolean:
      v.kind = Val::Kind::kBool;
      v.boolean = j.get<bool>();
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      v.kind = Val::Kind::kNum;
      v.num = j.get<double>();
      break;
    case json::value_t::null:
      v.kind = Val::Kind::kNull;
      break;
    default:
      v.kind = Val::Kind::kJson;
      v.json = &j;
      break;
  }
  return v;
}

json RuleEvalContext::ToJson(const Val& v) {
  switch (v.kind) {
    case Val::Kind::kStr:
      return json(std::string(v.str));
    case Val::Kind::kNum:
      return json(v.num);
    case Val::Kind::kBool:
      return json(v.boolean);
    case Val::Kind::kJson:
      return *v.json;
    default:
      return json();
  }
}

RuleEvalContext::Val RuleEvalContext::NormValue(NormField f) const {
  Val v;
  if (event_ == nullptr) return v;
  const Event& e = *event_;
  auto str = [&v](const std::string& s) {
    if (!s.empty()) {
      v.kind = Val::Kind::kStr;
      v.str = s;
    }
  };
  switch (f) {
    case NormField::kEventSource: str(e.event_source); break;
    case NormField::kEventName: str(e.event_name); break;
    case NormField::kErrorCode: str(e.error_code); break;
    case NormField::kRegion: str(e.region); break;
    case NormField::kAccount: str(e.account); break;
    case NormField::kSourceIp: str(e.source_ip); break;
    case NormField::kUserAgent: str(e.user_agent); break;
    case NormField::kEventId: str(e.id); break;
    case NormField::kPrincipalType: str(e.principal.type); break;
    case NormField::kPrincipalArn: str(e.principal.arn); break;
    case NormField::kPrincipalAccount: str(e.principal.account_id); break;
    case NormField::kPrincipalAccessKey: str(e.principal.access_key_id); break;
    case NormField::kPrincipalUserName: str(e.principal.user_name); break;
    case NormField::kPrincipalSessionName: str(e.principal.session_name); break;
    case NormField::kPrincipalIssuerArn: str(e.principal.issuer_arn); break;
    case NormField::kPrincipalInvokedBy: str(e.principal.invoked_by); break;
    case NormField::kConfigStatus: str(e.config_status); break;
    case NormField::kComplianceType: str(e.compliance_type); break;
    case NormField::kConfigRule: str(e.config_rule); break;
    case NormField::kResourceType:
      if (!e.resources.empty()) str(e.resources.front().type);
      break;
    case NormField::kResourceId:
      if (!e.resources.empty()) str(e.resources.front().id);
      break;
    case NormField::kResourceArn:
      if (!e.resources.empty()) str(e.resources.front().arn);
      break;
    case NormField::kReadOnly:
      v.kind = Val::Kind::kBool;
      v.boolean = e.read_only;
      break;
    case NormField::kPrincipalMfaUsed:
      v.kind = Val::Kind::kBool;
      v.boolean = e.principal.mfa_used;
      break;
    case NormField::kKind:
      v.kind = Val::Kind::kStr;
      v.str = EventKindName(e.kind);
      break;
    case NormField::kNone:
      break;
  }
  return v;
}

const json* RuleEvalContext::ParseEmbedded(const json& node) {
  for (const auto& [src, parsed] : embedded_) {
    if (src == &node) return parsed.is_discarded() ? nullptr : &parsed;
  }
  const std::string& text = node.get_ref<const std::string&>();
  std::string_view t(text);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\n')) t.remove_prefix(1);
  json parsed;
  if (!t.empty() && t.front() == '%') {
    parsed = ParseJson(UrlDecode(t));
  } else {
    parsed = ParseJson(t);
  }
  embedded_.emplace_back(&node, std::move(parsed));
  const json& stored = embedded_.back().second;
  return stored.is_discarded() ? nullptr : &stored;
}

template <typename Fn>
bool RuleEvalContext::Walk(const json& node, const FieldPath& path, size_t i, Fn&& fn) {
  if (i == path.segments.size()) return fn(FromJson(node));
  const PathSegment& seg = path.segments[i];
  switch (seg.kind) {
    case PathSegment::Kind::kKey: {
      if (!node.is_object()) return false;
      auto it = node.find(seg.key);
      if (it == node.end()) return false;
      return Walk(*it, path, i + 1, fn);
    }
    case PathSegment::Kind::kEach:
      if (node.is_array()) {
        for (const json& element : node) {
          if (Walk(element, path, i + 1, fn)) return true;
        }
        return false;
      }
      // A single object where a list is usual (policy Statement, Principal.AWS) is one element.
      return node.is_null() ? false : Walk(node, path, i + 1, fn);
    case PathSegment::Kind::kJson:
      if (node.is_string()) {
        const json* parsed = ParseEmbedded(node);
        return parsed != nullptr && Walk(*parsed, path, i + 1, fn);
      }
      return (node.is_object() || node.is_array()) && Walk(node, path, i + 1, fn);
    case PathSegment::Kind::kAccount: {
      if (!node.is_string()) return false;
      std::string_view account = AccountOf(node.get_ref<const std::string&>());
      if (account.empty()) return false;
      Val v;
      v.kind = Val::Kind::kStr;
      v.str = account;
      return i + 1 == path.segments.size() && fn(v);
    }
  }
  return false;
}

bool RuleEvalContext::PathExists(const FieldPath& path, const json* scope) {
  if (path.norm != NormField::kNone && scope == nullptr) {
    return NormValue(path.norm).kind != Val::Kind::kMissing;
  }
  return ForEachValue(FieldRef{{path}}, scope, [](const Val& v) {
    return v.kind != Val::Kind::kMissing && v.kind != Val::Kind::kNull;
  });
}

template <typename Fn>
bool RuleEvalContext::ForEachValue(const FieldRef& field, const json* scope, Fn&& fn) {
  const size_t n = field.paths.size();
  for (size_t a = 0; a < n; ++a) {
    const FieldPath& path = field.paths[a];
    if (n > 1 && a + 1 < n && !PathExists(path, scope)) continue;
    if (path.norm != NormField::kNone && scope == nullptr) {
      Val v = NormValue(path.norm);
      return v.kind != Val::Kind::kMissing && fn(v);
    }
    if (scope != nullptr) return Walk(*scope, path, 0, fn);
    if (path.cache_slot >= 0 && static_cast<size_t>(path.cache_slot) < cache_.size()) {
      Slot& slot = cache_[static_cast<size_t>(path.cache_slot)];
      if (slot.gen != gen_) {
        slot.gen = gen_;
        slot.node = nullptr;
        const json* root = RootFor(path);
        const json* node = root;
        for (const PathSegment& seg : path.segments) {
          if (node == nullptr || !node->is_object()) {
            node = nullptr;
            break;
          }
          auto it = node->find(seg.key);
          node = it == node->end() ? nullptr : &*it;
        }
        slot.node = node;
      }
      return slot.node != nullptr && fn(FromJson(*slot.node));
    }
    const json* root = RootFor(path);
    return root != nullptr && Walk(*root, path, 0, fn);
  }
  return false;
}

bool RuleEvalContext::FirstString(const FieldRef& field, std::string* out) {
  if (field.paths.empty()) return false;
  char buf[32];
  bool found = false;
  ForEachValue(field, nullptr, [&](const Val& v) {
    if (v.kind == Val::Kind::kStr && !v.str.empty()) {
      out->assign(v.str);
      found = true;
    } else if (v.kind == Val::Kind::kNum) {
      out->assign(NumberText(v.num, buf, sizeof(buf)));
      found = true;
    }
    return found;
  });
  return found;
}

json RuleEvalContext::FieldJson(const FieldRef& field) {
  json out;
  if (field.paths.empty()) return out;
  ForEachValue(field, nullptr, [&](const Val& v) {
    out = ToJson(v);
    return true;
  });
  return out;
}

bool RuleEvalContext::LeafScalar(const Condition& c, const Val& v) {
  const Operand& o = *c.operand;
  char buf[32];
  std::string_view text;
  bool numeric = false;
  double number = 0;
  switch (v.kind) {
    case Val::Kind::kStr:
      text = v.str;
      numeric = ParseNumber(text, &number);
      break;
    case Val::Kind::kNum:
      text = NumberText(v.num, buf, sizeof(buf));
      numeric = true;
      number = v.num;
      break;
    case Val::Kind::kBool:
      text = v.boolean ? "true" : "false";
      break;
    case Val::Kind::kNull:
      text = "null";
      break;
    default:
      return false;
  }
  switch (c.op) {
    case Op::kEquals:
    case Op::kNotEquals: {
      bool eq = false;
      for (const std::string& s : o.strings) {
        if (s == text) eq = true;
      }
      if (!eq && numeric) {
        for (double d : o.numbers) {
          if (d == number) eq = true;
        }
      }
      return c.op == Op::kEquals ? eq : !eq;
    }
    case Op::kIn:
    case Op::kNotIn: {
      bool in = o.set.count(std::string(text)) != 0;
      if (!in && o.own_account && !own_account_.empty() && text == own_account_) in = true;
      if (!in) {
        for (const std::string& p : o.prefixes) {
          if (text.substr(0, p.size()) == p) in = true;
        }
      }
      return c.op == Op::kIn ? in : !in;
    }
    case Op::kPrefix:
      for (const std::string& s : o.strings) {
        if (text.substr(0, s.size()) == s) return true;
      }
      return false;
    case Op::kSuffix:
      for (const std::string& s : o.strings) {
        if (text.size() >= s.size() && text.substr(text.size() - s.size()) == s) return true;
      }
      return false;
    case Op::kContains:
      for (const std::string& s : o.strings) {
        if (text.find(s) != std::string_view::npos) return true;
      }
      return false;
    case Op::kRegex:
      return o.regex != nullptr && RE2::PartialMatch(text, *o.regex);
    case Op::kLt:
      return numeric && number < o.number;
    case Op::kLe:
      return numeric && number <= o.number;
    case Op::kGt:
      return numeric && number > o.number;
    case Op::kGe:
      return numeric && number >= o.number;
    case Op::kCidrContains: {
      Cidr value;
      if (v.kind != Val::Kind::kStr || !ParseCidr(text, &value)) return false;
      for (const Cidr& outer : o.cidrs) {
        if (CidrContains(outer, value)) return true;
      }
      return false;
    }
    case Op::kOpenToWorld: {
      Cidr value;
      return v.kind == Val::Kind::kStr && ParseCidr(text, &value) && value.prefix == 0;
    }
    case Op::kOlderThanDays: {
      int64_t t = 0;
      if (v.kind == Val::Kind::kStr) {
        if (!ParseTimestamp(text, &t)) return false;
      } else if (v.kind == Val::Kind::kNum) {
        // Config writes some dates as epoch milliseconds (KMS creationDate), some as seconds.
        t = v.num > 1e11 ? static_cast<int64_t>(v.num) : static_cast<int64_t>(v.num * 1000);
      } else {
        return false;
      }
      const int64_t limit = static_cast<int64_t>(o.number * kDayMs);
      if (watermark_ms_ - t > limit) return true;
      deadline_ms_ = std::min(deadline_ms_, t + limit + 1);
      return false;
    }
    default:
      return false;
  }
}

bool RuleEvalContext::LeafMatches(const Condition& c, const Val& v) {
  // An array value matches when any element does (one level: lists of strings, headers).
  if (v.kind == Val::Kind::kJson && v.json->is_array()) {
    for (const json& element : *v.json) {
      if (LeafMatches(c, FromJson(element))) return true;
    }
    return false;
  }
  return LeafScalar(c, v);
}

bool RuleEvalContext::EvalLeaf(const Condition& c, const json* scope, json* evidence) {
  if (c.op == Op::kExists) {
    bool exists = false;
    for (const FieldPath& p : c.field.paths) {
      if (PathExists(p, scope)) {
        exists = true;
        break;
      }
    }
    const bool result = exists == c.operand->boolean;
    if (result && evidence != nullptr && exists && scope == nullptr) {
      (*evidence)[c.field.text()] = FieldJson(c.field);
    }
    return result;
  }
  if (c.op == Op::kOpenToWorld && !c.operand->boolean) {
    Condition positive;
    positive.op = Op::kOpenToWorld;
    positive.field = c.field;
    auto o = std::make_shared<Operand>();
    positive.operand = o;
    return !EvalLeaf(positive, scope, nullptr);
  }
  Val matched;
  const bool result = ForEachValue(c.field, scope, [&](const Val& v) {
    if (LeafMatches(c, v)) {
      matched = v;
      return true;
    }
    return false;
  });
  if (result && evidence != nullptr && !evidence->contains(c.field.text())) {
    (*evidence)[c.field.text()] = ToJson(matched);
  }
  return result;
}

bool RuleEvalContext::EvalPorts(const Condition& c, const json* scope, json* evidence) {
  auto port = [&](const FieldRef& f, int fallback) {
    int value = fallback;
    bool set = false;
    if (f.paths.empty()) return value;
    ForEachValue(f, scope, [&](const Val& v) {
      double d = 0;
      if (v.kind == Val::Kind::kNum) {
        d = v.num;
      } else if (v.kind != Val::Kind::kStr || !ParseNumber(v.str, &d)) {
        return false;
      }
      value = static_cast<int>(d);
      set = true;
      return true;
    });
    return set ? value : fallback;
  };
  int from = port(c.from_port, 0);
  int to = port(c.to_port, 65535);
  if (from < 0 || to < 0) {  // -1: every port (protocol "-1")
    from = 0;
    to = 65535;
  }
  if (to < from) std::swap(from, to);
  const std::vector<PortRange>& ranges = c.operand->ports;
  bool result = false;
  if (c.op == Op::kPortRangeOverlaps) {
    for (const PortRange& r : ranges) {
      if (r.from <= to && from <= r.to) result = true;
    }
  } else {
    // Outside: some port in [from, to] is not covered by the (sorted, merged) allowed ranges.
    int next = from;
    for (const PortRange& r : ranges) {
      if (r.to < next) continue;
      if (r.from > next) break;
      next = r.to + 1;
      if (next > to) break;
    }
    result = next <= to;
  }
  if (result && evidence != nullptr) {
    (*evidence)["ports"] = std::to_string(from) + "-" + std::to_string(to);
  }
  return result;
}

bool RuleEvalContext::Eval(const Condition& c, json* evidence) {
  const json* scope = scope_;
  switch (c.op) {
    case Op::kTrue:
      return true;
    case Op::kFalse:
      return false;
    case Op::kAll:
      for (const Condition& child : c.children) {
        if (!Eval(child, evidence)) return false;
      }
      return true;
    case Op::kAny:
      for (const Condition& child : c.children) {
        if (Eval(child, evidence)) return true;
      }
      return false;
    case Op::kNot:
      return !Eval(c.children.front(), nullptr);
    case Op::kAnyOf: {
      const json* matched = nullptr;
      ForEachValue(c.field, scope, [&](const Val& v) {
        auto try_element = [&](const json& element) {
          scope_ = &element;
          const bool hit = Eval(c.children.front(), nullptr);
          scope_ = scope;
          if (hit) matched = &element;
          return hit;
        };
        if (v.kind == Val::Kind::kJson && v.json->is_array()) {
          for (const json& element : *v.json) {
            if (try_element(element)) return true;
          }
          return false;
        }
        return v.kind == Val::Kind::kJson && try_element(*v.json);
      });
      if (matched != nullptr && evidence != nullptr) (*evidence)[c.field.text()] = *matched;
      return matched != nullptr;
    }
    case Op::kPortRangeOverlaps:
    case Op::kPortRangeOutside:
      return EvalPorts(c, scope, evidence);
    default:
      return EvalLeaf(c, scope, evidence);
  }
}

}  // namespace driftwatch
