#include "config/rule_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace driftwatch {
namespace {

void Convert(const YAML::Node& node, YamlNode* out) {
  const YAML::Mark mark = node.Mark();
  out->line = mark.line >= 0 ? mark.line + 1 : 0;
  out->column = mark.column >= 0 ? mark.column + 1 : 0;
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      out->kind = YamlNode::Kind::kScalar;
      out->scalar = node.Scalar();
      // yaml-cpp marks plain scalars with tag "?", quoted ones with "!".
      out->quoted = node.Tag() == "!";
      break;
    case YAML::NodeType::Sequence:
      out->kind = YamlNode::Kind::kSequence;
      out->items.resize(node.size());
      for (size_t i = 0; i < node.size(); ++i) Convert(node[i], &out->items[i]);
      break;
    case YAML::NodeType::Map:
      out->kind = YamlNode::Kind::kMap;
      for (auto it = node.begin(); it != node.end(); ++it) {
        YamlNode::Entry entry;
        const YAML::Mark key_mark = it->first.Mark();
        entry.line = key_mark.line >= 0 ? key_mark.line + 1 : out->line;
        entry.key = it->first.IsScalar() ? it->first.Scalar() : std::string("<complex key>");
        Convert(it->second, &entry.value);
        if (entry.value.line == 0) entry.value.line = entry.line;
        out->entries.push_back(std::move(entry));
      }
      break;
    default:
      out->kind = YamlNode::Kind::kNull;
      break;
  }
}

}  // namespace

const YamlNode* YamlNode::Find(std::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (const Entry& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

std::string_view YamlNode::KindName() const {
  switch (kind) {
    case Kind::kScalar:
      return "scalar";
    case Kind::kSequence:
      return "list";
    case Kind::kMap:
      return "map";
    case Kind::kNull:
      break;
  }
  return "null";
}

Status ParseYaml(std::string_view text, std::string_view file_name, YamlNode* out) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    YamlNode tree;
    Convert(root, &tree);
    if (tree.line == 0) tree.line = 1;
    *out = std::move(tree);
    return Status::Ok();
  } catch (const YAML::Exception& e) {
    std::ostringstream msg;
    msg << file_name << ':' << (e.mark.line >= 0 ? e.mark.line + 1 : 0) << ':'
        << (e.mark.column >= 0 ? e.mark.column + 1 : 0) << ": YAML syntax error: " << e.msg;
    return Status::Error(msg.str());
  } catch (const std::exception& e) {
    return Status::Error(std::string(file_name) + ": YAML error: " + e.what());
  }
}

Status ReadTextFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": read error");
  *out = ss.str();
  return Status::Ok();
}

Status LoadYamlFile(const std::string& path, YamlNode* out) {
  std::string text;
  Status s = ReadTextFile(path, &text);
  if (!s.ok()) return s;
  return ParseYaml(text, path, out);
}

Status ListRuleFiles(const std::string& path, std::vector<std::string>* files) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (std::filesystem::is_directory(p, ec)) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
      if (!entry.is_regular_file()) continue;
      const std::string ext = entry.path().extension().string();
      if (ext == ".yaml" || ext == ".yml") found.push_back(entry.path().string());
    }
    if (ec) return Status::IOError(path + ": " + ec.message());
    std::sort(found.begin(), found.end());
    files->insert(files->end(), found.begin(), found.end());
    return Status::Ok();
  }
  if (std::filesystem::is_regular_file(p, ec)) {
    files->push_back(path);
    return Status::Ok();
  }
  return Status::NotFound(path + ": no such file or directory");
}

}  // namespace driftwatch
