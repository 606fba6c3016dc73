// `driftwatch findings close ID... --reason TEXT [--by WHO] [--state DIR] [--config FILE]
// [--brokers HOST:PORT] [--topic T]`: closes findings by hand.
//
// The close is a record of the stream (vocab/event.h, a CloseFinding control record), so that it
// is applied exactly once by whoever owns the finding's account, recorded (who, when, why) in the
// finding, emitted on the findings outputs as a status change, and applied again by a replay of
// the topic. With Kafka (--brokers or kafka.brokers in --config) the record is produced to the
// first input topic, keyed by the finding's account like the CloudTrail records producers send,
// and the running service applies it. Without Kafka the state directory must not be in use: the
// record is applied to it directly, through the same pipeline, and the change printed as NDJSON.
// Unknown and already resolved ids are refused before anything is sent (exit 2).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/flags.h"
#include "app/wiring.h"
#include "config/config.h"
#include "exporters/finding_sinks.h"
#include "kafka/kafka_producer.h"
#include "vocab/event.h"
#include "vocab/finding.h"
#include "vocab/time_util.h"

namespace driftwatch::app {
namespace {

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string DefaultCloser() {
  for (const char* name : {"DRIFTWATCH_USER", "USER", "LOGNAME"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  }
  return "unknown";
}

// The control record for closing `f` (format: vocab/event.h).
std::string CloseRecord(const Finding& f, const std::string& by, const std::string& reason,
                        int64_t now_ms) {
  nlohmann::ordered_json r;
  r["eventVersion"] = "1.08";
  r["eventSource"] = kControlEventSource;
  r["eventName"] = kCloseFindingEventName;
  r["eventID"] = "close-" + f.finding_id + "-" + std::to_string(now_ms);
  r["eventTime"] = FormatTimestamp(now_ms);
  r["recipientAccountId"] = f.resource.account;
  r["awsRegion"] = f.resource.region;
  r["userIdentity"] = {{"type", "driftwatch"}, {"arn", by}};
  r["requestParameters"] = {{"findingId", f.finding_id}, {"reason", reason}};
  return r.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

int RunFindingsClose(const Args& args) {
  std::vector<std::string> ids;
  std::string reason, by = DefaultCloser(), state_dir, config_path, brokers, topic;
  FlagParser flags("findings close",
                   "close findings by hand, through the stream: the service that owns each "
                   "finding applies the close once and emits it as a status change");
  flags.Positional("ID", "finding ids (driftwatch findings shows them)", 1, SIZE_MAX, &ids)
      .Flag({.name = "--reason",
             .value = "TEXT",
             .needs = "a reason",
             .help = "why, recorded in the finding (resolution_detail.reason)",
             .required = true},
            &reason)
      .Flag({.name = "--by",
             .value = "WHO",
             .needs = "a name",
             .help = "who closes (default: $DRIFTWATCH_USER, else $USER)"},
            &by)
      .Flag({.name = "--state",
             .value = "DIR",
             .needs = "a directory",
             .help = "the state directory holding the findings (default: state.path of "
                     "--config)"},
            &state_dir)
      .Flag({.name = "--config",
             .value = "FILE",
             .needs = "a file",
             .help = "the service's config: Kafka brokers, topics and properties, state.path"},
            &config_path)
      .Flag({.name = "--brokers",
             .value = "HOST:PORT",
             .needs = "a broker list",
             .help = "Kafka bootstrap servers (default: kafka.brokers of --config)"},
            &brokers)
      .Flag({.name = "--topic",
             .value = "T",
             .needs = "a topic",
             .help = "the input topic the service reads (default: the first of kafka.topics)"},
            &topic)
      .Epilog(
          "Without Kafka the state directory is changed directly (it must not be in use).\n"
          "exit status: 0 closed or sent, 2 usage error, unknown or already resolved finding, "
          "unreadable state or Kafka error");
  if (auto done = flags.Parse(args)) return *done;

  ServiceConfig cfg;
  if (!config_path.empty()) {
    if (Status s = LoadServiceConfig(config_path, &cfg); !s.ok()) {
      std::fprintf(stderr, "driftwatch findings close: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (state_dir.empty()) state_dir = cfg.state_path;
  if (state_dir.empty()) return flags.Fail("--state DIR is required (or state.path in --config)");
  if (brokers.empty() && !cfg.kafka.brokers.empty()) {
    for (const std::string& b : cfg.kafka.brokers) brokers += (brokers.empty() ? "" : ",") + b;
  }
  if (topic.empty()) topic = cfg.kafka.topics.front();

  // Refuse unknown and resolved ids before sending anything.
  std::vector<Finding> to_close;
  {
    std::unique_ptr<StateStore> store;
    if (Status s = OpenExistingStateStore(state_dir, &store); !s.ok()) {
      std::fprintf(stderr, "driftwatch findings close: %s\n", s.message().c_str());
      return 2;
    }
    for (const std::string& id : ids) {
      Finding f;
      Status s = store->GetFinding(id, &f);
      if (!s.ok() && !s.IsNotFound()) {
        std::fprintf(stderr, "driftwatch findings close: %s\n", s.message().c_str());
        return 2;
      }
      if (s.IsNotFound()) {
        std::fprintf(stderr, "driftwatch findings close: no finding '%s' in %s\n", id.c_str(),
                     state_dir.c_str());
        return 2;
      }
      if (f.status != FindingStatus::kOpen) {
        std::fprintf(stderr,
                     "driftwatch findings close: finding '%s' (%s) is already resolved (%s at "
                     "%s)\n",
                     id.c_str(), f.rule_id.c_str(), std::string(ResolutionName(f.resolution)).c_str(),
                     FormatTimestamp(f.resolved_at_ms).c_str());
        return 2;
      }
      to_close.push_back(std::move(f));
    }
  }
  const int64_t now = WallClockMs();

  if (!brokers.empty()) {
    KafkaProducerOptions po;
    po.brokers = brokers;
    po.properties = cfg.kafka.properties;
    std::unique_ptr<KafkaProducer> producer;
    if (Status s = KafkaProducer::Open(po, &producer); !s.ok()) {
      std::fprintf(stderr, "driftwatch findings close: %s\n", s.message().c_str());
      return 2;
    }
    for (const Finding& f : to_close) {
      Status s = producer->Produce(topic, f.resource.account, CloseRecord(f, by, reason, now));
      if (!s.ok()) {
        std::fprintf(stderr, "driftwatch findings close: %s\n", s.message().c_str());
        return 2;
      }
    }
    if (Status s = producer->Flush(15000); !s.ok()) {
      std::fprintf(stderr, "driftwatch findings close: %s\n", s.message().c_str());
      return 2;
    }
    for (const Finding& f : to_close) {
      std::printf("close of %s (%s, %s %s) sent to %s\n", f.finding_id.c_str(), f.rule_id.c_str(),
                  f.resource.type.c_str(), f.resource.id.c_str(), topic.c_str());
    }
    return 0;
  }

  // No Kafka: apply the records to the state directory through the pipeline.
  std::unique_ptr<StateStore> store;
  if (Status s = OpenStateStore(state_dir, &store); !s.ok()) {
    std::fprintf(stderr,
                 "driftwatch findings close: %s (is a service using it? give --brokers or "
                 "--config to close through Kafka)\n",
                 s.message().c_str());
    return 2;
  }
  std::unique_ptr<RuleEngine> rules;
  std::vector<std::string> problems;
  if (Status s = MakeRuleEngine(cfg.rules_paths.empty() ? DefaultRulePaths() : cfg.rules_paths,
                                cfg.policy, &rules, &problems);
      !s.ok()) {
    for (const std::string& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    std::fprintf(stderr, "driftwatch findings close: %s\n", s.message().c_str());
    return 2;
  }
  std::unique_ptr<EventDecoder> decoder = MakeDecoder();
  NdjsonFindingSink out(stdout);
  PipelineParts parts;
  parts.decoder = decoder.get();
  parts.store = store.get();
  parts.rules = rules.get();
  parts.sinks = {&out};
  Pipeline pipeline(std::move(parts));
  std::vector<std::string> records;
  for (const Finding& f : to_close) records.push_back(CloseRecord(f, by, reason, now));
  std::vector<PipelineRecord> batch;
  for (const std::string& r : records) batch.push_back({r, "findings close", "", 0});
  if (Status s = pipeline.ProcessBatch(batch); !s.ok()) {
    std::fprintf(stderr, "driftwatch findings close: %s\n", s.message().c_str());
    return 2;
  }
  return 0;
}

}  // namespace driftwatch::app
