#include "app/flags.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "vocab/time_util.h"

namespace driftwatch::app {
namespace {

constexpr size_t kWidth = 100;   // usage lines stay under this many columns
constexpr size_t kHelpCol = 26;  // where a flag's help starts (longer flags: on the next line)

// Appends `text` to `out` filled to kWidth, every line starting at column `indent`; `column` is
// where the cursor stands on entry (a first line already begun). '\n' starts a new paragraph.
void Fill(const std::string& text, size_t indent, size_t column, std::string* out) {
  size_t start = 0;
  bool first_word = true;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string paragraph = text.substr(start, end - start);
    if (!first_word) {
      *out += '\n';
      out->append(indent, ' ');
      column = indent;
      first_word = true;
    }
    size_t pos = 0;
    while (pos < paragraph.size()) {
      const size_t space = paragraph.find(' ', pos);
      const size_t word_end = space == std::string::npos ? paragraph.size() : space;
      const size_t len = word_end - pos;
      if (len > 0) {
        if (!first_word && column + 1 + len > kWidth) {
          *out += '\n';
          out->append(indent, ' ');
          column = indent;
          first_word = true;
        }
        if (!first_word) {
          *out += ' ';
          ++column;
        }
        out->append(paragraph, pos, len);
        column += len;
        first_word = false;
      }
      pos = word_end + 1;
    }
    first_word = false;  // an empty paragraph still takes its line
    start = end + 1;
  }
  *out += '\n';
}

std::string JoinChoices(const std::vector<std::string>& choices, const char* sep,
                        const char* last_sep) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? last_sep : sep;
    out += choices[i];
  }
  return out;
}

std::string FlagWithValue(const FlagSpec& spec) {
  return spec.value.empty() ? spec.name : spec.name + " " + spec.value;
}

}  // namespace

FlagParser::FlagParser(std::string command, std::string description)
    : command_(std::move(command)), description_(std::move(description)) {}

FlagParser& FlagParser::Add(FlagSpec spec, OnValue on_value, std::function<void()> on_set) {
  if (spec.needs.empty()) spec.needs = "a value";
  flags_.push_back(Declared{std::move(spec), std::move(on_value), std::move(on_set)});
  return *this;
}

FlagParser& FlagParser::Flag(FlagSpec spec, std::string* target) {
  return Add(
      std::move(spec),
      [target](const std::string& v) {
        *target = v;
        return std::string();
      },
      nullptr);
}

FlagParser& FlagParser::Flag(FlagSpec spec, OnValue on_value) {
  return Add(std::move(spec), std::move(on_value), nullptr);
}

FlagParser& FlagParser::Choice(FlagSpec spec, std::vector<std::string> choices,
                               std::string* target) {
  if (spec.value.empty()) spec.value = JoinChoices(choices, "|", "|");
  const std::string name = spec.name;
  return Add(
      std::move(spec),
      [name, choices = std::move(choices), target](const std::string& v) {
        if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
          return "must be " + JoinChoices(choices, ", ", " or ") + ", not '" + v + "'";
        }
        *target = v;
        return std::string();
      },
      nullptr);
}

FlagParser& FlagParser::Integer(FlagSpec spec, int64_t min, int64_t max, int64_t* target) {
  return Add(
      std::move(spec),
      [min, max, target](const std::string& v) {
        int64_t n = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < min || n > max) {
          return "'" + v + "' is not a whole number in " + std::to_string(min) + ".." +
                 std::to_string(max);
        }
        *target = n;
        return std::string();
      },
      nullptr);
}

FlagParser& FlagParser::Time(FlagSpec spec, int64_t* target_ms, bool* given) {
  if (spec.value.empty()) spec.value = "TIME";
  if (spec.needs.empty()) spec.needs = "a time";
  return Add(
      std::move(spec),
      [target_ms, given](const std::string& v) {
        if (!ParseTimestamp(v, target_ms)) {
          return "'" + v + "' is not a time (e.g. 2026-11-02T03:00:00Z)";
        }
        if (given != nullptr) *given = true;
        return std::string();
      },
      nullptr);
}

FlagParser& FlagParser::Switch(FlagSpec spec, bool* target, bool value) {
  spec.value.clear();
  return Add(std::move(spec), nullptr, [target, value] { *target = value; });
}

FlagParser& FlagParser::Positional(std::string name, std::string help, size_t min, size_t max,
                                   std::vector<std::string>* target) {
  positionals_.push_back(PositionalSpec{std::move(name), std::move(help), min, max, target});
  return *this;
}

FlagParser& FlagParser::ExactlyOneOf(std::vector<std::string> names) {
  exactly_one_.push_back(std::move(names));
  return *this;
}

FlagParser& FlagParser::Epilog(std::string text) {
  epilog_ = std::move(text);
  return *this;
}

FlagParser::Declared* FlagParser::Find(const std::string& name) {
  for (Declared& d : flags_) {
    if (d.spec.name == name || (!d.spec.alias.empty() && d.spec.alias == name)) return &d;
  }
  return nullptr;
}

int FlagParser::Error(const std::string& message) const {
  std::fprintf(err_, "driftwatch %s: %s\n", command_.c_str(), message.c_str());
  return 2;
}

int FlagParser::Fail(const std::string& message) const { return Error(message); }

std::optional<int> FlagParser::Parse(const Args& args) {
  // --help anywhere before "--" answers, whatever else is wrong with the line.
  for (const std::string& a : args) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      const std::string usage = Usage();
      std::fwrite(usage.data(), 1, usage.size(), out_);
      return 0;
    }
  }
  std::vector<std::string> positional;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool looks_like_flag = !options_done && a.size() > 1 && a[0] == '-';
    if (!looks_like_flag) {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    const size_t eq = a.rfind("--", 0) == 0 ? a.find('=') : std::string::npos;
    const std::string name = eq == std::string::npos ? a : a.substr(0, eq);
    Declared* d = Find(name);
    if (d == nullptr) return Error("unknown option '" + name + "' (see --help)");
    ++d->seen;
    if (!d->on_value) {
      if (eq != std::string::npos) return Error(d->spec.name + " takes no value");
      d->on_set();
      continue;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Error(d->spec.name + " needs " + d->spec.needs);
    }
    if (std::string problem = d->on_value(value); !problem.empty()) {
      // A callback may phrase its problem as a predicate of the flag ("must be ...").
      const bool predicate = problem.rfind("must ", 0) == 0;
      return Error(d->spec.name + (predicate ? " " : ": ") + problem);
    }
  }

  size_t next = 0;
  for (const PositionalSpec& p : positionals_) {
    size_t taken = 0;
    while (next < positional.size() && taken < p.max) {
      p.target->push_back(positional[next++]);
      ++taken;
    }
    if (taken < p.min) return Error(p.name + " is required (see --help)");
  }
  if (next < positional.size()) {
    if (positionals_.size() == 1 && positionals_[0].max == 1) {
      return Error("one " + positionals_[0].name + " only, got '" + positionals_[0].target->back() +
                   "' and '" + positional[next] + "'");
    }
    return Error("unexpected argument '" + positional[next] + "' (see --help)");
  }
  for (const Declared& d : flags_) {
    if (d.spec.required && d.seen == 0) {
      return Error(FlagWithValue(d.spec) + " is required (see --help)");
    }
  }
  for (const std::vector<std::string>& group : exactly_one_) {
    int given = 0;
    for (const std::string& name : group) {
      if (const Declared* d = Find(name)) given += d->seen;
    }
    if (given != 1) return Error("give exactly one of " + JoinChoices(group, ", ", ", "));
  }
  return std::nullopt;
}

std::string FlagParser::Synopsis() const {
  std::vector<std::string> parts;
  std::vector<bool> grouped(flags_.size(), false);
  for (size_t i = 0; i < flags_.size(); ++i) {
    if (grouped[i]) continue;
    const FlagSpec& spec = flags_[i].spec;
    const std::vector<std::string>* group = nullptr;
    for (const auto& g : exactly_one_) {
      if (std::find(g.begin(), g.end(), spec.name) != g.end()) group = &g;
    }
    if (group != nullptr) {
      std::string text = "(";
      for (size_t j = 0; j < flags_.size(); ++j) {
        if (std::find(group->begin(), group->end(), flags_[j].spec.name) == group->end()) continue;
        grouped[j] = true;
        text += (text.size() > 1 ? " | " : "") + FlagWithValue(flags_[j].spec);
      }
      parts.push_back(text + ")");
    } else {
      parts.push_back(spec.required ? FlagWithValue(spec) : "[" + FlagWithValue(spec) + "]");
    }
  }
  for (const PositionalSpec& p : positionals_) {
    std::string text = p.name + (p.max > 1 ? "..." : "");
    parts.push_back(p.min == 0 ? "[" + text + "]" : text);
  }
  // Parts never break inside: fill them like words, with non-breaking spaces inside a part.
  std::string words;
  for (std::string part : parts) {
    std::replace(part.begin(), part.end(), ' ', '\x01');
    words += (words.empty() ? "" : " ") + part;
  }
  const std::string head = "usage: driftwatch " + command_ + " ";
  std::string out = head;
  Fill(words, head.size(), head.size(), &out);
  std::replace(out.begin(), out.end(), '\x01', ' ');
  return out;
}

std::string FlagParser::Usage() const {
  std::string out = Synopsis();
  if (!description_.empty()) {
    out += "  ";
    Fill(description_, 2, 2, &out);
  }
  auto item = [&](const std::string& left, const std::string& help) {
    out += "  " + left;
    size_t column = 2 + left.size();
    if (help.empty()) {
      out += '\n';
      return;
    }
    if (column + 2 > kHelpCol) {
      out += '\n';
      column = 0;
    }
    out.append(kHelpCol - column, ' ');
    Fill(help, kHelpCol, kHelpCol, &out);
  };
  for (const PositionalSpec& p : positionals_) item(p.name, p.help);
  for (const Declared& d : flags_) {
    std::string left = FlagWithValue(d.spec);
    if (!d.spec.alias.empty()) left = d.spec.alias + ", " + left;
    item(left, d.spec.help);
  }
  if (!epilog_.empty()) Fill(epilog_, 0, 0, &out);
  return out;
}

FlagSpec StateDirFlag() {
  return {.name = "--state",
          .value = "DIR",
          .needs = "a directory",
          .help = "the state directory",
          .required = true};
}

FlagSpec CategoryFlag() {
  return {.name = "--category",
          .value = "C",
          .needs = "a category",
          .help = "identity, network, data-protection, logging, inventory, patching"};
}

FlagParser::OnValue CategoryValue(Category* out, bool* given) {
  return [out, given](const std::string& v) {
    if (!ParseCategory(v, out)) return "unknown category '" + v + "'";
    *given = true;
    return std::string();
  };
}

}  // namespace driftwatch::app
