#include "config/config.h"

#include "config/policy_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace driftwatch {
namespace {

// Collects problems while walking the document; yaml-cpp's exceptions stay in this file.
class Walker {
 public:
  Walker(std::string file, std::vector<driftwatch::Problem>* problems)
      : file_(std::move(file)), problems_(problems) {}

  void Problem(const YAML::Node& node, const std::string& key, const std::string& message,
               ProblemCode code = ProblemCode::kInvalid) {
    int line = 0;
    if (node.IsDefined()) line = node.Mark().line + 1;
    ProblemAt(line, key, message, code);
  }
  void ProblemAt(int line, const std::string& key, const std::string& message,
                 ProblemCode code = ProblemCode::kInvalid) {
    driftwatch::Problem p = driftwatch::Problem::At(code, file_, line, message);
    p.key = key;
    problems_->push_back(std::move(p));
  }

  // Reports keys of `map` that are not in `known`.
  void CheckKeys(const YAML::Node& map, const std::string& prefix,
                 const std::set<std::string>& known) {
    if (!map.IsMap()) return;
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      if (known.count(k) == 0) {
        std::string list;
        for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
        Problem(kv.first, prefix.empty() ? k : prefix + "." + k,
                "unknown key (known here: " + list + ")", ProblemCode::kUnknownKey);
      }
    }
  }

  bool IsMapOrAbsent(const YAML::Node& n, const std::string& key) {
    if (!n.IsDefined() || n.IsNull()) return false;
    if (!n.IsMap()) {
      Problem(n, key, "must be a mapping");
      return false;
    }
    return true;
  }

  void String(const YAML::Node& n, const std::string& key, std::string* out) {
    if (!n.IsDefined() || n.IsNull()) return;
    if (!n.IsScalar()) {
      Problem(n, key, "must be a string");
      return;
    }
    *out = n.Scalar();
  }

  void Bool(const YAML::Node& n, const std::string& key, bool* out) {
    if (!n.IsDefined() || n.IsNull()) return;
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      Problem(n, key, "must be true or false");
      return;
    }
    *out = v;
  }

  void Int(const YAML::Node& n, const std::string& key, int lo, int hi, int* out) {
    if (!n.IsDefined() || n.IsNull()) return;
    long long v = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) {
      Problem(n, key, "must be an integer");
      return;
    }
    if (v < lo || v > hi) {
      Problem(n, key,
              "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                  " (got " + std::to_string(v) + ")");
      return;
    }
    *out = static_cast<int>(v);
  }

  // A list of strings; a single string is accepted as a list of one.
  void StringList(const YAML::Node& n, const std::string& key, std::vector<std::string>* out) {
    if (!n.IsDefined() || n.IsNull()) return;
    if (n.IsScalar()) {
      *out = {n.Scalar()};
      return;
    }
    if (!n.IsSequence()) {
      Problem(n, key, "must be a list of strings");
      return;
    }
    out->clear();
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        Problem(item, key, "every element must be a string");
        continue;
      }
      out->push_back(item.Scalar());
    }
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<driftwatch::Problem>* problems_;
};

// Replaces every ${NAME} in `value` with the environment variable NAME. Returns false and names
// the first missing variable in *missing.
bool SubstituteEnv(const std::string& value, std::string* out, std::string* missing) {
  out->clear();
  size_t i = 0;
  while (i < value.size()) {
    if (value.compare(i, 2, "${") == 0) {
      const size_t end = value.find('}', i + 2);
      if (end != std::string::npos) {
        const std::string name = value.substr(i + 2, end - i - 2);
        const char* env = name.empty() ? nullptr : std::getenv(name.c_str());
        if (env == nullptr) {
          *missing = name;
          return false;
        }
        out->append(env);
        i = end + 1;
        continue;
      }
    }
    out->push_back(value[i]);
    ++i;
  }
  return true;
}

bool ValidHostPort(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size()) return false;
  const std::string port = s.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  const long p = std::strtol(port.c_str(), nullptr, 10);
  return p >= 0 && p <= 65535;
}

bool ValidTopicName(const std::string& t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") return false;
  return std::all_of(t.begin(), t.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

void ParseKafka(Walker& w, const YAML::Node& k, KafkaConfig* out) {
  w.CheckKeys(k, "kafka",
              {"brokers", "topics", "group_id", "findings_topic", "changelog_topic", "properties",
               "batch_size", "batch_max_wait_ms", "embedded_partitions"});
  // brokers: a list, or one comma-separated string as librdkafka takes it.
  std::vector<std::string> brokers;
  w.StringList(k["brokers"], "kafka.brokers", &brokers);
  out->brokers.clear();
  for (const std::string& entry : brokers) {
    std::stringstream ss(entry);
    std::string one;
    while (std::getline(ss, one, ',')) {
      one.erase(0, one.find_first_not_of(" \t"));
      one.erase(one.find_last_not_of(" \t") + 1);
      if (one.empty()) continue;
      if (!ValidHostPort(one)) {
        w.Problem(k["brokers"], "kafka.brokers", "'" + one + "' is not host:port");
      }
      out->brokers.push_back(one);
    }
  }
  w.StringList(k["topics"], "kafka.topics", &out->topics);
  if (k["topics"].IsDefined() && out->topics.empty()) {
    w.Problem(k["topics"], "kafka.topics", "must name at least one topic");
  }
  if (out->topics.size() > 64) w.Problem(k["topics"], "kafka.topics", "at most 64 topics");
  for (const std::string& t : out->topics) {
    if (!ValidTopicName(t)) w.Problem(k["topics"], "kafka.topics", "'" + t + "' is not a topic name");
  }
  w.String(k["group_id"], "kafka.group_id", &out->group_id);
  if (out->group_id.empty()) w.Problem(k["group_id"], "kafka.group_id", "must not be empty");
  w.String(k["findings_topic"], "kafka.findings_topic", &out->findings_topic);
  if (!out->findings_topic.empty() && !ValidTopicName(out->findings_topic)) {
    w.Problem(k["findings_topic"], "kafka.findings_topic", "not a topic name");
  }
  for (const std::string& t : out->topics) {
    if (!out->findings_topic.empty() && t == out->findings_topic) {
      w.Problem(k["findings_topic"], "kafka.findings_topic",
                "must differ from the input topics (findings would be read back as input)");
    }
  }
  w.String(k["changelog_topic"], "kafka.changelog_topic", &out->changelog_topic);
  if (!out->changelog_topic.empty()) {
    if (!ValidTopicName(out->changelog_topic)) {
      w.Problem(k["changelog_topic"], "kafka.changelog_topic", "not a topic name");
    } else if (out->changelog_topic == out->findings_topic ||
               std::find(out->topics.begin(), out->topics.end(), out->changelog_topic) !=
                   out->topics.end()) {
      w.Problem(k["changelog_topic"], "kafka.changelog_topic",
                "must differ from the input topics and the findings topic");
    }
  }
  const YAML::Node props = k["properties"];
  if (w.IsMapOrAbsent(props, "kafka.properties")) {
    for (const auto& kv : props) {
      const std::string name = kv.first.Scalar();
      const std::string key = "kafka.properties." + name;
      if (!kv.second.IsScalar()) {
        w.Problem(kv.second, key, "must be a string");
        continue;
      }
      std::string value, missing;
      if (!SubstituteEnv(kv.second.Scalar(), &value, &missing)) {
        w.Problem(kv.second, key, "environment variable " + missing + " is not set");
        continue;
      }
      if (name == "bootstrap.servers" || name == "group.id" || name == "enable.auto.commit") {
        w.Problem(kv.first, key,
                  "set by driftwatch itself (use kafka.brokers / kafka.group_id); offsets are "
                  "committed by driftwatch after each durable batch");
        continue;
      }
      out->properties.emplace_back(name, value);
    }
  }
  w.Int(k["batch_size"], "kafka.batch_size", 1, 100000, &out->batch_size);
  w.Int(k["batch_max_wait_ms"], "kafka.batch_max_wait_ms", 1, 60000, &out->batch_max_wait_ms);
  w.Int(k["embedded_partitions"], "kafka.embedded_partitions", 1, 1024,
        &out->embedded_partitions);
}

void ParseMetrics(Walker& w, const YAML::Node& m, MetricsConfig* out) {
  w.CheckKeys(m, "metrics", {"listen", "basic_auth"});
  w.String(m["listen"], "metrics.listen", &out->listen);
  if (!out->listen.empty() && !ValidHostPort(out->listen)) {
    w.Problem(m["listen"], "metrics.listen", "must be host:port, e.g. 127.0.0.1:9464");
  }
  const YAML::Node auth = m["basic_auth"];
  if (w.IsMapOrAbsent(auth, "metrics.basic_auth")) {
    w.CheckKeys(auth, "metrics.basic_auth", {"username", "password_env"});
    w.String(auth["username"], "metrics.basic_auth.username", &out->basic_auth_username);
    w.String(auth["password_env"], "metrics.basic_auth.password_env",
             &out->basic_auth_password_env);
    if (out->basic_auth_username.empty() != out->basic_auth_password_env.empty()) {
      w.Problem(auth, "metrics.basic_auth", "username and password_env go together");
    } else if (!out->basic_auth_password_env.empty() &&
               std::getenv(out->basic_auth_password_env.c_str()) == nullptr) {
      w.Problem(auth["password_env"], "metrics.basic_auth.password_env",
                "environment variable " + out->basic_auth_password_env + " is not set");
    }
  }
}

// findings.format: "driftwatch" or "ocsf" for every sink, or a mapping {stdout, file, kafka}
// naming each sink's (a sink left out keeps "driftwatch"). "text", lines for people, only for
// stdout.
void ParseFindingsFormat(Walker& w, const YAML::Node& n, ServiceConfig* cfg) {
  if (!n.IsDefined() || n.IsNull()) return;
  auto one = [&w](const YAML::Node& v, const std::string& key, bool text_ok, std::string* out) {
    if (!v.IsDefined() || v.IsNull()) return;
    const bool known = v.IsScalar() && (v.Scalar() == "driftwatch" || v.Scalar() == "ocsf" ||
                                        (text_ok && v.Scalar() == "text"));
    if (!known) {
      if (v.IsScalar() && v.Scalar() == "text") {
        w.Problem(v, key, "text is for people on stdout only: use format: {stdout: text}");
      } else {
        w.Problem(v, key,
                  text_ok ? "must be driftwatch, ocsf or text" : "must be driftwatch or ocsf");
      }
      return;
    }
    *out = v.Scalar();
  };
  if (n.IsMap()) {
    w.CheckKeys(n, "findings.format", {"stdout", "file", "kafka"});
    one(n["stdout"], "findings.format.stdout", true, &cfg->findings_stdout_format);
    one(n["file"], "findings.format.file", false, &cfg->findings_file_format);
    one(n["kafka"], "findings.format.kafka", false, &cfg->findings_kafka_format);
    return;
  }
  std::string all;
  one(n, "findings.format", false, &all);
  if (all.empty()) return;
  cfg->findings_stdout_format = cfg->findings_file_format = cfg->findings_kafka_format = all;
}

}  // namespace

bool IsSecretProperty(const std::string& name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("password") != std::string::npos ||
         lower.find("secret") != std::string::npos || lower.find("key") != std::string::npos;
}

std::string MaskedValue(const std::string& name, const std::string& value) {
  return IsSecretProperty(name) ? std::string("****") : value;
}

Status ParseServiceConfig(const std::string& text, const std::string& file_name, ServiceConfig* out,
                          std::vector<Problem>* problems) {
  std::vector<Problem> local;
  std::vector<Problem>* all = problems != nullptr ? problems : &local;
  all->clear();
  ServiceConfig cfg;
  cfg.file = file_name;
  Walker w(file_name, all);
  bool syntax_error = false;
  try {
    const YAML::Node root = YAML::Load(text);
    if (root.IsDefined() && !root.IsNull()) {
      if (!root.IsMap()) {
        w.Problem(root, "", "the config must be a mapping of sections");
      } else {
        w.CheckKeys(root, "",
                    {"kafka", "state", "metrics", "rules", "policy", "dead_letter", "findings"});
        if (w.IsMapOrAbsent(root["kafka"], "kafka")) ParseKafka(w, root["kafka"], &cfg.kafka);
        const YAML::Node state = root["state"];
        if (w.IsMapOrAbsent(state, "state")) {
          w.CheckKeys(state, "state",
                      {"path", "activity_index", "cache_mb", "history_retention_days",
                       "activity_retention_days"});
          w.String(state["path"], "state.path", &cfg.state_path);
          w.Bool(state["activity_index"], "state.activity_index", &cfg.activity_index);
          w.Int(state["cache_mb"], "state.cache_mb", 0, 65536, &cfg.cache_mb);
          w.Int(state["history_retention_days"], "state.history_retention_days", 0, 36500,
                &cfg.history_retention_days);
          w.Int(state["activity_retention_days"], "state.activity_retention_days", 0, 36500,
                &cfg.activity_retention_days);
        }
        if (w.IsMapOrAbsent(root["metrics"], "metrics")) {
          ParseMetrics(w, root["metrics"], &cfg.metrics);
        }
        const YAML::Node rules = root["rules"];
        if (w.IsMapOrAbsent(rules, "rules")) {
          w.CheckKeys(rules, "rules", {"paths"});
          w.StringList(rules["paths"], "rules.paths", &cfg.rules_paths);
        }
        // policy: read by the rules' policy loader (config/policy_loader.h), below.
        const YAML::Node dl = root["dead_letter"];
        if (w.IsMapOrAbsent(dl, "dead_letter")) {
          w.CheckKeys(dl, "dead_letter", {"path", "topic"});
          w.String(dl["path"], "dead_letter.path", &cfg.dead_letter_path);
          w.String(dl["topic"], "dead_letter.topic", &cfg.dead_letter_topic);
          if (!cfg.dead_letter_topic.empty() && !ValidTopicName(cfg.dead_letter_topic)) {
            w.Problem(dl["topic"], "dead_letter.topic", "not a topic name");
          }
        }
        const YAML::Node findings = root["findings"];
        if (w.IsMapOrAbsent(findings, "findings")) {
          w.CheckKeys(findings, "findings", {"path", "stdout", "format"});
          w.String(findings["path"], "findings.path", &cfg.findings_path);
          w.Bool(findings["stdout"], "findings.stdout", &cfg.findings_stdout);
          ParseFindingsFormat(w, findings["format"], &cfg);
        }
      }
    }
  } catch (const YAML::Exception& e) {
    syntax_error = true;
    w.ProblemAt(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "YAML syntax: " + e.msg,
                ProblemCode::kSyntax);
  }
  if (!syntax_error) {
    // The policy section has its own loader; its problems come as "file:line: policy.key: what".
    std::vector<std::string> policy_problems;
    Policy policy;
    if (LoadPolicyFromYaml(text, file_name, &policy, &policy_problems).ok()) {
      cfg.policy = std::move(policy);
    } else {
      if (policy_problems.empty()) policy_problems.push_back("policy: invalid");
      for (const std::string& p : policy_problems) {
        Problem problem = Problem::At(ProblemCode::kInvalid, file_name, 0, p);
        const std::string prefix = file_name + ":";
        if (p.rfind(prefix, 0) == 0) {
          const size_t colon = p.find(": ", prefix.size());
          if (colon != std::string::npos) {
            problem.line = std::atoi(p.substr(prefix.size(), colon - prefix.size()).c_str());
            std::string rest = p.substr(colon + 2);
            const size_t key_end = rest.find(": ");
            if (key_end != std::string::npos) {
              problem.key = rest.substr(0, key_end);
              rest = rest.substr(key_end + 2);
            }
            problem.message = rest;
          }
        }
        all->push_back(std::move(problem));
      }
    }
  }
  if (!all->empty()) {
    std::string message = std::to_string(all->size()) + " problem(s) in " +
                          (file_name.empty() ? std::string("config") : file_name) + ":";
    for (const Problem& p : *all) message += "\n  " + ProblemText(p);
    return Status::Error(message);
  }
  *out = std::move(cfg);
  return Status::Ok();
}

Status LoadServiceConfig(const std::string& path, ServiceConfig* out,
                         std::vector<Problem>* problems) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (problems != nullptr) {
      *problems = {Problem::At(ProblemCode::kUnreadable, path, 0, "cannot read the file")};
    }
    return Status::IOError(path + ": cannot read the config file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseServiceConfig(ss.str(), path, out, problems);
}

}  // namespace driftwatch
