#pragma once
// YAML files as a plain data tree with file:line on every node, so that loaders above config/
// can report every problem with its position without seeing yaml-cpp. yaml-cpp's exceptions are
// caught here and become a Status naming file:line.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vocab/status.h"

namespace driftwatch {

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  struct Entry;

  Kind kind = Kind::kNull;
  std::string scalar;           // kScalar: the text as written (unquoted)
  bool quoted = false;          // kScalar written in quotes: always a string, never a number
  std::vector<YamlNode> items;  // kSequence
  std::vector<Entry> entries;   // kMap, in file order (duplicate keys kept: callers report them)
  int line = 0;                 // 1-based; 0 when unknown
  int column = 0;               // 1-based

  bool is_null() const { return kind == Kind::kNull; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  bool is_map() const { return kind == Kind::kMap; }
  // First entry with this key, nullptr when absent or not a map.
  const YamlNode* Find(std::string_view key) const;
  // "scalar", "list", "map" or "null", for messages.
  std::string_view KindName() const;
};

struct YamlNode::Entry {
  std::string key;
  int line = 0;  // line of the key
  YamlNode value;
};

// Parses one YAML document. An empty text gives a null root. On a syntax error returns
// "file:line:col: message" and leaves `out` untouched.
Status ParseYaml(std::string_view text, std::string_view file_name, YamlNode* out);

// Reads and parses a file.
Status LoadYamlFile(const std::string& path, YamlNode* out);

// A rule path is a file or a directory; a directory yields its *.yaml / *.yml files (not
// recursive), sorted by name so that load order and messages are reproducible.
Status ListRuleFiles(const std::string& path, std::vector<std::string>* files);

// Reads a whole file into `out`.
Status ReadTextFile(const std::string& path, std::string* out);

}  // namespace driftwatch
