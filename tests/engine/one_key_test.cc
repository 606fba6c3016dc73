// One resource, one key: a resource named by ARN in one call and by name or id in another (trails,
// roles, buckets, keys, groups) is the same resource in state and findings. Checked on the sample
// incident, the incident scenario and the third-party corpus (../shared/corpus, every stream,
// Config file and labelled event), run through the decoder, appliers and built-in pack.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/pipeline.h"
#include "ingest/event_decoder.h"
#include "rules/rule_engine_impl.h"
#include "state/memory_store.h"
#include "vocab/event.h"

namespace driftwatch {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kSourceDir = DW_SOURCE_DIR;

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// The records of every input: whole lines, and the `event` of labelled cases (wrapped in its
// EventBridge envelope when the case says so: the event is then the detail).
std::vector<std::string> Inputs(std::string* missing) {
  std::vector<std::string> records;
  for (const std::string& f : {kSourceDir + "/config/samples/incident.ndjson",
                               kSourceDir + "/tests/data/incident/scenario.ndjson"}) {
    for (std::string& l : Lines(f)) records.push_back(std::move(l));
  }
  const std::string corpus = kSourceDir + "/../shared/corpus";
  if (!fs::is_directory(corpus)) {
    *missing = corpus;
    return records;
  }
  for (const char* dir : {"streams", "config"}) {
    for (const auto& entry : fs::directory_iterator(corpus + "/" + dir)) {
      for (std::string& l : Lines(entry.path().string())) records.push_back(std::move(l));
    }
  }
  for (const auto& entry : fs::directory_iterator(corpus + "/labelled")) {
    for (const std::string& l : Lines(entry.path().string())) {
      json c = json::parse(l, nullptr, false);
      if (!c.is_object() || !c.contains("event")) continue;
      records.push_back(c["event"].dump());
    }
  }
  return records;
}

TEST(OneKeyTest, ResourcesNamedByArnAndByNameAreOneResource) {
  std::string missing;
  const std::vector<std::string> records = Inputs(&missing);
  ASSERT_TRUE(missing.empty()) << "the shared corpus is not at " << missing
                               << ": it is laid beside the repository (../shared)";
  MemoryStore store;
  RuleLoadResult result;
  auto rules = CompiledRuleEngine::Load({kSourceDir + "/config/rules"}, Policy{}, &result);
  ASSERT_NE(rules, nullptr) << result.ToText();
  SimdjsonEventDecoder decoder;
  PipelineParts parts;
  parts.decoder = &decoder;
  parts.store = &store;
  parts.rules = rules.get();
  Pipeline pipeline(std::move(parts));
  for (size_t i = 0; i < records.size(); i += 100) {
    std::vector<PipelineRecord> batch;
    for (size_t k = i; k < records.size() && k < i + 100; ++k) {
      batch.push_back({records[k], "corpus", "", 0});
    }
    ASSERT_TRUE(pipeline.ProcessBatch(batch).ok());
  }

  // Every resource: its key's id is what CanonicalResourceId makes of its id or of its ARN.
  std::map<std::string, std::string> identities;  // account|region|type|canonical id -> key
  int resources = 0, by_arn = 0;
  ASSERT_TRUE(store
                  .ScanResources([&](std::string_view key_view, std::string_view text) {
                    const std::string key(key_view);
                    const size_t a = key.find('|'), b = key.find('|', a + 1),
                                 c = key.find('|', b + 1);
                    const std::string type = key.substr(b + 1, c - b - 1);
                    const std::string id = key.substr(c + 1);
                    ++resources;
                    EXPECT_EQ(CanonicalResourceId(type, id), id) << "keyed by ARN: " << key;
                    json doc = json::parse(text, nullptr, false);
                    const std::string arn =
                        doc.is_object() ? doc.value("ARN", std::string()) : std::string();
                    const std::string from_arn = CanonicalResourceId(type, arn);
                    if (!arn.empty() && from_arn != arn) {
                      ++by_arn;
                      EXPECT_EQ(from_arn, id) << "the ARN names another resource: " << key
                                              << " ARN " << arn;
                    }
                    auto [it, fresh] =
                        identities.emplace(key.substr(0, c + 1) + CanonicalResourceId(type, id), key);
                    EXPECT_TRUE(fresh) << key << " and " << it->second << " are one resource";
                    return true;
                  })
                  .ok());
  EXPECT_GT(resources, 50);
  EXPECT_GT(by_arn, 10) << "resources whose ARN names them";
  ASSERT_TRUE(store
                  .ScanFindings([&](const Finding& f) {
                    EXPECT_EQ(CanonicalResourceId(f.resource.type, f.resource.id), f.resource.id)
                        << f.rule_id << " names its resource by ARN: " << f.resource.id;
                    return true;
                  })
                  .ok());
}

}  // namespace
}  // namespace driftwatch
