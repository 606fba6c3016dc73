// The JSON helpers and type facts of applier_internal.h: reading records and documents of any
// shape without throwing.

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>

#include "appliers/applier_internal.h"
#include "vocab/json_text.h"
#include "vocab/time_util.h"

namespace driftwatch::applier {

// --- JSON helpers --------------------------------------------------------------------------

const json& At(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

const json& AtNoCase(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto exact = j.find(key);
  if (exact != j.end()) return *exact;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() == key.size() && std::equal(k.begin(), k.end(), key.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return *it;
    }
  }
  return kNull;
}

std::string Str(const json& j, std::string_view key) {
  const json& v = At(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::string ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::string();
}

bool BoolOf(const json& v, bool* out) {
  if (v.is_boolean()) {
    *out = v.get<bool>();
    return true;
  }
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "true") {
      *out = true;
      return true;
    }
    if (s == "false") {
      *out = false;
      return true;
    }
  }
  return false;
}

json Items(const json& j) {
  if (j.is_array()) return j;
  if (j.is_object()) {
    const json& items = At(j, "items");
    if (items.is_array()) return items;
    if (items.is_object()) return json::array({items});
    const json& item = At(j, "item");
    if (item.is_array()) return item;
    if (item.is_object()) return json::array({item});
    if (j.contains("items")) return json::array();
    if (!j.empty()) return json::array({j});
  }
  return json::array();
}

json& ObjectAt(json& parent, const char* key) {
  json& v = parent[key];
  if (!v.is_object()) v = json::object();
  return v;
}

json& ArrayAt(json& parent, const char* key) {
  json& v = parent[key];
  if (!v.is_array()) v = json::array();
  return v;
}

std::string Dump(const json& j) { return JsonText(j); }

std::string ArnLastSegment(std::string_view arn) {
  if (arn.substr(0, 4) != "arn:") return std::string(arn);
  const size_t slash = arn.rfind('/');
  if (slash != std::string_view::npos) return std::string(arn.substr(slash + 1));
  const size_t colon = arn.rfind(':');
  return std::string(arn.substr(colon + 1));
}

namespace {

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string PolicyText(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.rfind("%7B", 0) == 0 || s.rfind("%7b", 0) == 0) return UrlDecode(s);
    return s;
  }
  if (v.is_array() && v.size() == 1) return Dump(v[0]);
  if (v.is_object() || v.is_array()) return Dump(v);
  return std::string();
}

std::string NormalizeTime(const json& v, int64_t fallback_ms) {
  int64_t ms = 0;
  if (v.is_string() && ParseTimestamp(v.get_ref<const std::string&>(), &ms)) {
    return FormatTimestamp(ms);
  }
  if (v.is_number_integer()) return FormatTimestamp(v.get<int64_t>());
  return FormatTimestamp(fallback_ms);
}

size_t EraseIf(json& array, const std::function<bool(const json&)>& pred) {
  if (!array.is_array()) return 0;
  size_t removed = 0;
  for (size_t i = array.size(); i-- > 0;) {
    if (pred(array[i])) {
      array.erase(i);
      ++removed;
    }
  }
  return removed;
}

// --- Type facts ----------------------------------------------------------------------------

bool KeyedByName(std::string_view type) {
  return type == "AWS::IAM::User" || type == "AWS::IAM::Role" || type == "AWS::IAM::Group" ||
         type == "AWS::RDS::DBInstance" || type == "AWS::RDS::DBSnapshot";
}

std::string MakeArn(const Target& t) {
  const std::string& a = t.account;
  const std::string& r = t.region;
  const std::string& id = t.key_id;
  if (t.type == "AWS::IAM::User") return "arn:aws:iam::" + a + ":user/" + id;
  if (t.type == "AWS::IAM::Role") return "arn:aws:iam::" + a + ":role/" + id;
  if (t.type == "AWS::IAM::Group") return "arn:aws:iam::" + a + ":group/" + id;
  if (t.type == "AWS::S3::Bucket") return "arn:aws:s3:::" + id;
  if (t.type == "AWS::KMS::Key") return "arn:aws:kms:" + r + ":" + a + ":key/" + id;
  if (t.type == "AWS::CloudTrail::Trail")
    return "arn:aws:cloudtrail:" + r + ":" + a + ":trail/" + id;
  if (t.type == "AWS::RDS::DBInstance") return "arn:aws:rds:" + r + ":" + a + ":db:" + id;
  if (t.type == "AWS::RDS::DBSnapshot") return "arn:aws:rds:" + r + ":" + a + ":snapshot:" + id;
  if (t.type == "AWS::GuardDuty::Detector")
    return "arn:aws:guardduty:" + r + ":" + a + ":detector/" + id;
  static const std::pair<const char*, const char*> kEc2[] = {
      {"AWS::EC2::SecurityGroup", "security-group"},
      {"AWS::EC2::NetworkAcl", "network-acl"},
      {"AWS::EC2::RouteTable", "route-table"},
      {"AWS::EC2::InternetGateway", "internet-gateway"},
      {"AWS::EC2::Instance", "instance"},
      {"AWS::EC2::VPC", "vpc"},
      {"AWS::EC2::Subnet", "subnet"},
      {"AWS::EC2::Volume", "volume"},
      {"AWS::EC2::FlowLog", "vpc-flow-log"}};
  for (const auto& [type, kind] : kEc2) {
    if (t.type == type) return "arn:aws:ec2:" + r + ":" + a + ":" + kind + "/" + id;
  }
  if (t.type == "AWS::EC2::Snapshot") return "arn:aws:ec2:" + r + "::snapshot/" + id;
  if (t.type == "AWS::EC2::Image") return "arn:aws:ec2:" + r + "::image/" + id;
  return std::string();
}

}  // namespace driftwatch::applier
