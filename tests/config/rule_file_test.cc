#include "config/rule_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace driftwatch {
namespace {

TEST(RuleFileTest, TreeKeepsLinesKindsAndOrder) {
  const char* text =
      "- rule: a\n"
      "  title: \"quoted\"\n"
      "  ports: [22, 80]\n"
      "  nested:\n"
      "    key: value\n"
      "  empty:\n";
  YamlNode root;
  ASSERT_TRUE(ParseYaml(text, "f.yaml", &root).ok());
  ASSERT_TRUE(root.is_sequence());
  ASSERT_EQ(root.items.size(), 1u);
  const YamlNode& rule = root.items[0];
  ASSERT_TRUE(rule.is_map());
  ASSERT_EQ(rule.entries.size(), 5u);
  EXPECT_EQ(rule.entries[0].key, "rule");
  EXPECT_EQ(rule.entries[0].line, 1);
  EXPECT_EQ(rule.entries[1].key, "title");
  EXPECT_EQ(rule.entries[1].line, 2);
  EXPECT_TRUE(rule.Find("title")->quoted);
  EXPECT_FALSE(rule.Find("rule")->quoted);
  const YamlNode* ports = rule.Find("ports");
  ASSERT_TRUE(ports->is_sequence());
  EXPECT_EQ(ports->items[1].scalar, "80");
  EXPECT_EQ(ports->line, 3);
  EXPECT_EQ(rule.Find("nested")->Find("key")->scalar, "value");
  EXPECT_EQ(rule.Find("nested")->Find("key")->line, 5);
  EXPECT_TRUE(rule.Find("empty")->is_null());
  EXPECT_EQ(rule.Find("missing"), nullptr);
}

TEST(RuleFileTest, SyntaxErrorNamesFileAndLine) {
  YamlNode root;
  Status s = ParseYaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml", &root);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("bad.yaml:", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("YAML syntax error"), std::string::npos);
}

TEST(RuleFileTest, DuplicateKeysAreKeptForCallersToReport) {
  YamlNode root;
  ASSERT_TRUE(ParseYaml("a: 1\na: 2\n", "d.yaml", &root).ok());
  ASSERT_EQ(root.entries.size(), 2u);
  EXPECT_EQ(root.entries[1].line, 2);
}

TEST(RuleFileTest, EmptyTextIsANullRoot) {
  YamlNode root;
  ASSERT_TRUE(ParseYaml("", "e.yaml", &root).ok());
  EXPECT_TRUE(root.is_null());
}

TEST(RuleFileTest, ListsYamlFilesOfADirectorySorted) {
  const auto dir = std::filesystem::temp_directory_path() / "dw_rule_file_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const char* name : {"b.yaml", "a.yml", "c.txt"}) std::ofstream(dir / name) << "[]\n";
  std::vector<std::string> files;
  ASSERT_TRUE(ListRuleFiles(dir.string(), &files).ok());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_NE(files[0].find("a.yml"), std::string::npos);
  EXPECT_NE(files[1].find("b.yaml"), std::string::npos);
  std::vector<std::string> none;
  EXPECT_FALSE(ListRuleFiles((dir / "missing").string(), &none).ok());
  YamlNode root;
  EXPECT_TRUE(LoadYamlFile((dir / "b.yaml").string(), &root).ok());
  EXPECT_TRUE(root.is_sequence());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace driftwatch
