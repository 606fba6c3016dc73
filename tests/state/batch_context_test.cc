// BatchContext's reads without copies: ReadResource and PeekFinding answer as GetResource and
// GetFinding do, from the batch's own writes first, then the cache, then the store.

#include "state/batch_context.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "state/memory_store.h"
#include "state/state_cache.h"

namespace driftwatch {
namespace {

Finding MakeFinding(const std::string& id, FindingStatus status) {
  Finding f;
  f.finding_id = id;
  f.status = status;
  f.rule_id = "R1";
  return f;
}

TEST(BatchContextTest, ReadResourceSeesTheBatchThenTheCacheThenTheStore) {
  MemoryStore store;
  WriteSet w;
  w.put_resources.emplace_back("stored", R"({"v":"store"})");
  w.put_resources.emplace_back("cached", R"({"v":"store, older"})");
  ASSERT_TRUE(store.Commit(w).ok());
  StateCache cache(1 << 20);
  cache.PutResource(
      "cached",
      StateCache::Resource{true, R"({"v":"cache"})",
                           std::make_shared<const nlohmann::json>(nlohmann::json{{"v", "cache"}})});
  BatchContext ctx(&store, &cache);
  ctx.PutResource("batch", R"({"v":"batch"})",
                  std::make_shared<const nlohmann::json>(nlohmann::json{{"v", "batch"}}));
  ctx.DeleteResource("stored-but-deleted");

  const std::string* text = nullptr;
  std::shared_ptr<const nlohmann::json> parsed;
  ASSERT_TRUE(ctx.ReadResource("batch", &text, &parsed));
  EXPECT_EQ(*text, R"({"v":"batch"})");
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ((*parsed)["v"], "batch");

  ASSERT_TRUE(ctx.ReadResource("cached", &text, &parsed));
  EXPECT_EQ(*text, R"({"v":"cache"})");
  ASSERT_NE(parsed, nullptr);

  ASSERT_TRUE(ctx.ReadResource("stored", &text, &parsed));
  EXPECT_EQ(*text, R"({"v":"store"})");
  EXPECT_EQ(parsed, nullptr);  // read as text: no parsed form yet
  // The store's answer is now the cache's too, and GetResource copies the same text.
  ASSERT_NE(cache.FindResource("stored"), nullptr);
  std::string copy;
  ASSERT_TRUE(ctx.GetResource("stored", &copy));
  EXPECT_EQ(copy, R"({"v":"store"})");

  EXPECT_FALSE(ctx.ReadResource("stored-but-deleted", &text, &parsed));
  EXPECT_FALSE(ctx.ReadResource("nowhere", &text, &parsed));
  EXPECT_TRUE(ctx.read_status().ok());
}

TEST(BatchContextTest, PeekFindingAnswersAsGetFindingWithoutACache) {
  MemoryStore store;
  WriteSet w;
  w.findings.push_back(MakeFinding("stored", FindingStatus::kResolved));
  ASSERT_TRUE(store.Commit(w).ok());
  BatchContext ctx(&store);
  ctx.PutFinding(MakeFinding("batch", FindingStatus::kOpen), /*status_changed=*/true);

  const Finding* f = nullptr;
  ASSERT_TRUE(ctx.PeekFinding("batch", &f));
  EXPECT_EQ(f->status, FindingStatus::kOpen);
  ASSERT_TRUE(ctx.PeekFinding("stored", &f));
  EXPECT_EQ(f->finding_id, "stored");
  EXPECT_EQ(f->status, FindingStatus::kResolved);
  EXPECT_FALSE(ctx.PeekFinding("nowhere", &f));

  Finding copy;
  ASSERT_TRUE(ctx.GetFinding("stored", &copy));
  EXPECT_EQ(copy.status, FindingStatus::kResolved);
  EXPECT_FALSE(ctx.GetFinding("nowhere", &copy));
  // A later put in the batch is what the next peek sees.
  ctx.PutFinding(MakeFinding("stored", FindingStatus::kOpen), /*status_changed=*/true);
  ASSERT_TRUE(ctx.PeekFinding("stored", &f));
  EXPECT_EQ(f->status, FindingStatus::kOpen);
}

TEST(BatchContextTest, PeekFindingLearnsAbsenceIntoTheCache) {
  MemoryStore store;
  StateCache cache(1 << 20);
  BatchContext ctx(&store, &cache);
  const Finding* f = nullptr;
  EXPECT_FALSE(ctx.PeekFinding("nowhere", &f));
  const StateCache::FindingEntry* entry = cache.FindFinding("nowhere");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(entry->exists);
}

}  // namespace
}  // namespace driftwatch
