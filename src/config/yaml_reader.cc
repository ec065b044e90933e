#include "config/yaml_reader.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

namespace tocsin::config::yaml {

using core::Error;
using core::Result;

int line_of(const YAML::Node& n, int fallback) {
  if (!n.IsDefined()) return fallback;
  const int line = n.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

bool is_plain(const YAML::Node& n) { return n.Tag() != "!"; }  // "!" marks a quoted scalar

std::string describe(const YAML::Node& n, Quotes quotes) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return quotes == Quotes::kPlain || is_plain(n) ? fmt::format("\"{}\"", n.Scalar())
                                                     : fmt::format("the quoted string \"{}\"", n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "something else";
}

std::string join_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

std::string item_path(std::string_view parent, size_t index) { return fmt::format("{}[{}]", parent, index); }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string join(Keys items) {
  std::string out;
  for (auto item : items) out += fmt::format("{}{}", out.empty() ? "" : ", ", item);
  return out;
}

std::optional<double> to_number(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

std::optional<int64_t> to_integer(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

Result<std::string> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return std::unexpected(Error::not_found(fmt::format("cannot read {}", file.string())).at({file.string(), 0, 0}));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

// Sees the parser's events without building nodes; remembers where the second document starts.
class DocumentCounter : public YAML::EventHandler {
 public:
  int documents = 0;
  int second_line = 0;
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second_line = mark.line >= 0 ? mark.line + 1 : 0;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

Result<YAML::Node> parse_document(std::string_view text, const std::string& file) {
  try {
    // Not YAML::LoadAll: yaml-cpp 0.7 never gets past a stray flow entry at the top level, and
    // on "," it makes empty documents until memory runs out (found by fuzz/config_fuzz.cc). The
    // first document is loaded; a second pass only looks for the start of a second one.
    YAML::Node doc = YAML::Load(std::string(text));
    std::stringstream in{std::string(text)};
    YAML::Parser parser(in);
    DocumentCounter counter;
    if (parser.HandleNextDocument(counter) && parser.HandleNextDocument(counter)) {
      return std::unexpected(
          Error::invalid_argument("expected one YAML document, found more").at({file, counter.second_line, 0}));
    }
    return doc;
  } catch (const YAML::Exception& e) {
    return std::unexpected(Error::invalid_argument(fmt::format("bad YAML: {}", e.msg))
                               .at({file, e.mark.line >= 0 ? e.mark.line + 1 : 0, 0}));
  }
}

Error Reader::error(int line, std::string_view path, std::string message) const {
  return Error::invalid_argument(std::move(message)).at({file_, line, 0}).field(std::string(path));
}

Error Reader::error(const Node& n, std::string message) const { return error(n.line, n.path, std::move(message)); }

Result<Map> Reader::map(const Node& n, Keys allowed) const {
  Map m{n, {}};
  if (n.yaml.IsNull() || !n.yaml.IsDefined()) return m;
  if (!n.yaml.IsMap()) return std::unexpected(error(n, fmt::format("expected a map, got {}", describe(n.yaml))));
  std::map<std::string, int> seen;  // key -> line
  for (auto it = n.yaml.begin(); it != n.yaml.end(); ++it) {
    const int key_line = line_of(it->first, n.line);
    if (!it->first.IsScalar()) {
      return std::unexpected(
          error(key_line, n.path, fmt::format("expected a string key, got {}", describe(it->first))));
    }
    const std::string key = it->first.Scalar();
    const std::string path = join_path(n.path, key);
    if (auto [at, fresh] = seen.emplace(key, key_line); !fresh) {
      return std::unexpected(
          error(key_line, path, fmt::format("duplicate key \"{}\" (first on line {})", key, at->second)));
    }
    if (allowed.size() > 0 && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      // `{title: a, b}` is a classic: the comma ends the value and "b" becomes a key.
      const bool split_value = style_.flow_map_hint && it->second.IsNull() && key.find(' ') != std::string::npos;
      return std::unexpected(error(
          key_line, path,
          fmt::format(
              "unknown key \"{}\"; expected one of: {}{}", key, join(allowed),
              split_value ? " (a comma inside a {...} flow map ends the value before it; quote that value)" : "")));
    }
    // A value is blamed on its key's line: yaml-cpp marks an empty value at the next token.
    m.entries.emplace_back(key, Node{it->second, path, key_line});
  }
  return m;
}

Result<Node> Reader::required(const Map& m, std::string_view key) const {
  if (const Node* n = m.find(key)) return *n;
  return std::unexpected(
      error(m.self.line, join_path(m.self.path, key), fmt::format("missing required field \"{}\"", key)));
}

Result<std::vector<Node>> Reader::list(const Node& n) const {
  std::vector<Node> items;
  if (n.yaml.IsNull() || !n.yaml.IsDefined()) return items;
  if (!n.yaml.IsSequence()) return std::unexpected(error(n, fmt::format("expected a list, got {}", describe(n.yaml))));
  size_t i = 0;
  for (auto it = n.yaml.begin(); it != n.yaml.end(); ++it, ++i) {
    // A null item's mark points past it; blame the list instead.
    const int line = it->IsNull() ? n.line : line_of(*it, n.line);
    items.push_back(Node{*it, item_path(n.path, i), line});
  }
  return items;
}

Result<std::string> Reader::string(const Node& n) const {
  if (!n.yaml.IsScalar()) return std::unexpected(error(n, fmt::format("expected a string, got {}", describe(n.yaml))));
  return n.yaml.Scalar();
}

Result<std::string> Reader::nonempty_string(const Node& n) const {
  std::string s = TOCSIN_TRY(string(n));
  if (s.empty()) return std::unexpected(error(n, "expected a non-empty string"));
  return s;
}

}  // namespace tocsin::config::yaml
