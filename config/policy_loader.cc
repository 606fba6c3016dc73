#include "config/policy_loader.h"

#include <cctype>
#include <cstdlib>

namespace driftwatch {
namespace {

class PolicyReader {
 public:
  PolicyReader(std::string_view file, std::vector<std::string>* problems)
      : file_(file), problems_(problems) {}

  void Problem(int line, std::string_view key, std::string_view what) {
    problems_->push_back(std::string(file_) + ":" + std::to_string(line) + ": policy." +
                         std::string(key) + ": " + std::string(what));
  }

  bool StringList(const YamlNode& node, std::string_view key, std::vector<std::string>* out,
                  bool (*valid)(std::string_view), std::string_view expect) {
    if (!node.is_sequence()) {
      Problem(node.line, key, "expected a list, got a " + std::string(node.KindName()));
      return false;
    }
    bool ok = true;
    for (const YamlNode& item : node.items) {
      if (!item.is_scalar() || item.scalar.empty()) {
        Problem(item.line, key, "expected a non-empty string in the list");
        ok = false;
        continue;
      }
      if (valid != nullptr && !valid(item.scalar)) {
        Problem(item.line, key, "'" + item.scalar + "' is not " + std::string(expect));
        ok = false;
        continue;
      }
      out->push_back(item.scalar);
    }
    return ok;
  }

  bool Int(const YamlNode& node, std::string_view key, long lo, long hi, long* out) {
    if (!node.is_scalar() || node.scalar.empty()) {
      Problem(node.line, key, "expected an integer");
      return false;
    }
    char* end = nullptr;
    long v = std::strtol(node.scalar.c_str(), &end, 10);
    if (end == nullptr || *end != '\0') {
      Problem(node.line, key, "'" + node.scalar + "' is not an integer");
      return false;
    }
    if (v < lo || v > hi) {
      Problem(node.line, key,
              node.scalar + " is out of bounds " + std::to_string(lo) + ".." + std::to_string(hi));
      return false;
    }
    *out = v;
    return true;
  }

  void Suppressions(const YamlNode& node, std::vector<Suppression>* out) {
    if (!node.is_sequence()) {
      Problem(node.line, "suppressions", "expected a list, got a " + std::string(node.KindName()));
      return;
    }
    for (const YamlNode& item : node.items) {
      if (!item.is_map()) {
        Problem(item.line, "suppressions", "each suppression must be a map");
        continue;
      }
      Suppression s;
      bool ok = true;
      for (const YamlNode::Entry& e : item.entries) {
        const std::string key = "suppressions." + e.key;
        auto str = [&](std::string* dst) {
          if (!e.value.is_scalar() || e.value.scalar.empty()) {
            Problem(e.line, key, "expected a non-empty string");
            ok = false;
          } else {
            *dst = e.value.scalar;
          }
        };
        if (e.key == "rule") {
          str(&s.rule_id);
        } else if (e.key == "resource") {
          str(&s.resource);
        } else if (e.key == "principal") {
          str(&s.principal);
        } else if (e.key == "reason") {
          str(&s.reason);
        } else if (e.key == "tag") {
          if (e.value.is_map()) {
            for (const YamlNode::Entry& t : e.value.entries) {
              if (t.key == "key" && t.value.is_scalar()) {
                s.tag_key = t.value.scalar;
              } else if (t.key == "value" && t.value.is_scalar()) {
                s.tag_value = t.value.scalar;
              } else {
                Problem(t.line, key, "unknown key '" + t.key + "' (expected key, value)");
                ok = false;
              }
            }
          } else if (e.value.is_scalar() && !e.value.scalar.empty()) {
            const std::string& v = e.value.scalar;
            const size_t eq = v.find('=');
            s.tag_key = v.substr(0, eq);
            if (eq != std::string::npos) s.tag_value = v.substr(eq + 1);
          } else {
            Problem(e.line, key, "expected 'key=value', a key, or {key, value}");
            ok = false;
            continue;
          }
          if (s.tag_key.empty()) {
            Problem(e.line, key, "tag key is empty");
            ok = false;
          }
        } else {
          Problem(e.line, key,
                  "unknown key (expected rule, resource, principal, tag, reason)");
          ok = false;
        }
      }
      if (!ok) continue;
      if (s.rule_id.empty() && s.resource.empty() && s.principal.empty() && s.tag_key.empty()) {
        Problem(item.line, "suppressions",
                "a suppression needs at least one of rule, resource, principal, tag");
        continue;
      }
      if (s.reason.empty()) {
        Problem(item.line, "suppressions", "a suppression needs a reason");
        continue;
      }
      out->push_back(std::move(s));
    }
  }

 private:
  std::string_view file_;
  std::vector<std::string>* problems_;
};

bool IsAccountId(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsAmiId(std::string_view s) {
  if (s.size() < 12 || s.size() > 21 || s.substr(0, 4) != "ami-") return false;
  for (char c : s.substr(4)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsAmiOwner(std::string_view s) {
  return IsAccountId(s) || s == "amazon" || s == "aws-marketplace" || s == "self";
}

bool IsRegion(std::string_view s) {
  // e.g. us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-4
  if (s.size() < 9 || !std::isdigit(static_cast<unsigned char>(s.back()))) return false;
  int dashes = 0;
  for (char c : s) {
    if (c == '-') {
      ++dashes;
    } else if (!std::islower(static_cast<unsigned char>(c)) &&
               !std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dashes == 2 || dashes == 3;
}

bool IsResourceType(std::string_view s) {
  return s.size() > 7 && s.substr(0, 5) == "AWS::" && s.find("::", 5) != std::string_view::npos;
}

bool IsPrincipalPattern(std::string_view s) {
  return s.substr(0, 4) == "arn:" || s == "*";
}

}  // namespace

Status LoadPolicyFromNode(const YamlNode& root, std::string_view file_name, Policy* out,
                          std::vector<std::string>* problems) {
  std::vector<std::string> local;
  std::vector<std::string>* probs = problems != nullptr ? problems : &local;
  const size_t before = probs->size();
  PolicyReader r(file_name, probs);
  Policy p;
  const YamlNode* policy = root.Find("policy");
  if (policy != nullptr && !policy->is_null()) {
    if (!policy->is_map()) {
      r.Problem(policy->line, "", "expected a map, got a " + std::string(policy->KindName()));
    } else {
      std::vector<std::string> seen;
      for (const YamlNode::Entry& e : policy->entries) {
        for (const std::string& k : seen) {
          if (k == e.key) r.Problem(e.line, e.key, "key given twice");
        }
        seen.push_back(e.key);
        const YamlNode& v = e.value;
        if (e.key == "approved_regions") {
          p.has_approved_regions = true;
          r.StringList(v, e.key, &p.approved_regions, IsRegion, "an AWS region name");
        } else if (e.key == "approved_resource_types") {
          p.has_approved_resource_types = true;
          r.StringList(v, e.key, &p.approved_resource_types, IsResourceType,
                       "a resource type like AWS::EC2::Instance");
        } else if (e.key == "trusted_accounts") {
          r.StringList(v, e.key, &p.trusted_accounts, IsAccountId,
                       "a 12-digit account id (quote it)");
        } else if (e.key == "trusted_ami_owners") {
          p.has_trusted_ami_owners = true;
          r.StringList(v, e.key, &p.trusted_ami_owners, IsAmiOwner,
                       "a 12-digit account id, 'amazon', 'aws-marketplace' or 'self'");
        } else if (e.key == "trusted_amis") {
          r.StringList(v, e.key, &p.trusted_amis, IsAmiId, "an AMI id like ami-0abc12345678");
        } else if (e.key == "iam_admin_principals") {
          p.has_iam_admin_principals = true;
          r.StringList(v, e.key, &p.iam_admin_principals, IsPrincipalPattern,
                       "an ARN (a trailing '*' is allowed)");
        } else if (e.key == "public_ports") {
          if (!v.is_sequence()) {
            r.Problem(v.line, e.key, "expected a list of ports");
          } else {
            for (const YamlNode& item : v.items) {
              long port = 0;
              if (r.Int(item, e.key, 0, 65535, &port)) p.public_ports.push_back(int(port));
            }
          }
        } else if (e.key == "access_key_max_age_days") {
          long days = 0;
          if (r.Int(v, e.key, 1, 3650, &days)) p.access_key_max_age_days = int(days);
        } else if (e.key == "unused_credential_days") {
          long days = 0;
          if (r.Int(v, e.key, 1, 3650, &days)) p.unused_credential_days = int(days);
        } else if (e.key == "suppressions") {
          r.Suppressions(v, &p.suppressions);
        } else {
          r.Problem(e.line, e.key,
                    "unknown key (expected approved_regions, approved_resource_types, "
                    "trusted_accounts, trusted_ami_owners, trusted_amis, public_ports, "
                    "access_key_max_age_days, unused_credential_days, iam_admin_principals, "
                    "suppressions)");
        }
      }
    }
  }
  const size_t count = probs->size() - before;
  if (count > 0) {
    return Status::Error((*probs)[before] +
                         (count > 1 ? " (and " + std::to_string(count - 1) + " more)" : ""));
  }
  *out = std::move(p);
  return Status::Ok();
}

Status LoadPolicyFromYaml(std::string_view yaml_text, std::string_view file_name, Policy* out,
                          std::vector<std::string>* problems) {
  YamlNode root;
  Status s = ParseYaml(yaml_text, file_name, &root);
  if (!s.ok()) {
    if (problems != nullptr) problems->push_back(s.message());
    return s;
  }
  if (!root.is_map() && !root.is_null()) {
    std::string msg = std::string(file_name) + ":" + std::to_string(root.line) +
                      ": config file must be a map";
    if (problems != nullptr) problems->push_back(msg);
    return Status::Error(msg);
  }
  return LoadPolicyFromNode(root, file_name, out, problems);
}

}  // namespace driftwatch
