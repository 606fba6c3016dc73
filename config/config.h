#pragma once
// The service configuration of `driftwatch run`: one YAML file, validated at start. Every problem
// is reported at once with file:line and the key; nothing is half-applied. Every key, its default
// and its bounds are documented in config/driftwatch.example.yaml.
//
// Secrets: kafka.properties values may be "${ENV_NAME}" (or contain such references); they are
// resolved from the environment at load time. Never log a resolved value: log keys, and use
// MaskedValue() for anything shown to people.

#include <string>
#include <utility>
#include <vector>

#include "config/policy.h"
#include "vocab/problem.h"
#include "vocab/status.h"

namespace driftwatch {

struct KafkaConfig {
  // Empty: start the embedded broker (librdkafka's mock cluster on loopback), for trying things.
  std::vector<std::string> brokers;
  std::vector<std::string> topics = {"cloudtrail"};  // 1..64 topics
  std::string group_id = "driftwatch";
  std::string findings_topic;  // "": findings are not produced to Kafka
  // Compacted topic that hands state over between group members (kafka/changelog.h); "": off,
  // each member keeps only what its own partitions built.
  std::string changelog_topic;
  // Passed to librdkafka as is, after ${ENV} substitution, in file order.
  std::vector<std::pair<std::string, std::string>> properties;
  int batch_size = 1000;          // records per state WriteBatch, 1..100000
  int batch_max_wait_ms = 100;    // longest wait to fill a batch, 1..60000
  int embedded_partitions = 8;    // partitions per topic of the embedded broker, 1..1024
};

struct MetricsConfig {
  std::string listen = "127.0.0.1:9464";  // host:port; "" turns the listener off
  std::string basic_auth_username;        // "" = no authentication
  std::string basic_auth_password_env;    // name of the environment variable holding it
};

struct ServiceConfig {
  KafkaConfig kafka;
  std::string state_path;  // "": a fresh temporary directory (lost at exit)
  // state.activity_index: index every call (read-only and failed ones too) by principal, access
  // key, source IP and session, for `driftwatch incident` on the live state.
  bool activity_index = true;
  // state.cache_mb: memory for resource documents and findings kept between batches, so that
  // resources the stream keeps changing are not read from RocksDB and parsed again. 0 = off.
  int cache_mb = 64;
  // state.history_retention_days / state.activity_retention_days: history entries and indexed
  // calls older than this many days of event time behind the state's watermark are dropped, in
  // RocksDB and, as tombstones, in the changelog topic (state/retention.h). 0 keeps everything.
  // Current documents, findings, seen ids and positions are never dropped.
  int history_retention_days = 400;
  int activity_retention_days = 90;
  MetricsConfig metrics;
  std::vector<std::string> rules_paths;  // empty: the built-in pack (config/rules)
  Policy policy;  // the `policy:` section (config/policy_loader.h); defaults when absent
  std::string dead_letter_path;   // NDJSON file of undecodable records, "" = none
  std::string dead_letter_topic;  // Kafka topic of undecodable records, "" = none
  std::string findings_path;      // NDJSON file findings are appended to, "" = none
  bool findings_stdout = true;    // findings on stdout
  // findings.format: how each sink writes findings, "driftwatch" (FindingToJson, the default) or
  // "ocsf" (OCSF 1.8.0, exporters/ocsf.h). One value for every sink, or one per sink. stdout may
  // also be "text": one line for people per status change and, at exit, what is still open
  // (exporters/finding_sinks.h, TextFindingSink).
  std::string findings_stdout_format = "driftwatch";
  std::string findings_file_format = "driftwatch";
  std::string findings_kafka_format = "driftwatch";  // the kafka.findings_topic
  std::string file;               // where this config came from ("" = built-in defaults)
};

// Config problems are vocab/problem.h's Problem with `key` set (dotted path, e.g.
// "kafka.batch_size"); ProblemText renders them "file:line: key: message".

// Loads and validates `path`. On failure returns an error whose message lists the problems, one a
// line, and fills `problems` (when given) with all of them.
Status LoadServiceConfig(const std::string& path, ServiceConfig* out,
                         std::vector<Problem>* problems = nullptr);
// Same, from text (tests); `file_name` is used in problem reports.
Status ParseServiceConfig(const std::string& text, const std::string& file_name, ServiceConfig* out,
                          std::vector<Problem>* problems = nullptr);

// True when a librdkafka property carries a secret (its name contains password, secret or key,
// any case): its value is never shown.
bool IsSecretProperty(const std::string& name);
// The value as it may be logged: "****" for secret properties, else the value.
std::string MaskedValue(const std::string& name, const std::string& value);

}  // namespace driftwatch
