#pragma once

// The YAML reading toolkit shared by tocsin.yaml (config/loader.cc) and drill scenarios
// (drill/scenario.cc): a node with the field path and line to blame, maps with checked keys in
// document order, and the generic readers whose errors read `file:line: field: message`.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tocsin::config::yaml {

using Keys = std::span<const std::string_view>;

// A YAML node and where to blame it: the field path and a 1-based line.
struct Node {
  YAML::Node yaml;
  std::string path;
  int line = 0;
};

// A map whose keys were checked (known, unique, scalar); values keep document order.
struct Map {
  Node self;
  std::vector<std::pair<std::string, Node>> entries;

  const Node* find(std::string_view key) const {
    for (const auto& entry : entries) {
      if (entry.first == key) return &entry.second;
    }
    return nullptr;
  }
};

// yaml-cpp marks are 0-based and -1 when unset.
int line_of(const YAML::Node& n, int fallback);

bool is_plain(const YAML::Node& n);  // false for a quoted scalar

// How a value is named in messages: kMark says `the quoted string "x"` for a quoted scalar
// (tocsin.yaml), kPlain says `"x"` either way (scenarios).
enum class Quotes { kMark, kPlain };
std::string describe(const YAML::Node& n, Quotes quotes = Quotes::kMark);

std::string join_path(std::string_view parent, std::string_view key);
std::string item_path(std::string_view parent, size_t index);
std::string join(const std::vector<std::string>& items);
std::string join(Keys items);

// A whole string as a number; a leading '+' is allowed.
std::optional<double> to_number(std::string_view s);
std::optional<int64_t> to_integer(std::string_view s);

// The file's text, or "cannot read <file>".
core::Result<std::string> read_file(const std::filesystem::path& file);
// One YAML document (none reads as a null node); errors name the file and line.
core::Result<YAML::Node> parse_document(std::string_view text, const std::string& file);

// Base of a parser: errors at this file, and the generic readers. A null node reads as an empty
// map or list.
class Reader {
 public:
  struct Style {
    Quotes quotes = Quotes::kMark;
    bool flow_map_hint = true;  // an unknown key with a space hints at a comma in a {...} flow map
  };

 protected:
  Reader(std::string file, Style style) : file_(std::move(file)), style_(style) {}

  core::Error error(int line, std::string_view path, std::string message) const;
  core::Error error(const Node& n, std::string message) const;
  std::string describe(const YAML::Node& n) const { return yaml::describe(n, style_.quotes); }

  // `allowed` empty = any key (label maps and the like).
  core::Result<Map> map(const Node& n, Keys allowed) const;
  core::Result<Node> required(const Map& m, std::string_view key) const;
  core::Result<std::vector<Node>> list(const Node& n) const;
  core::Result<std::string> string(const Node& n) const;
  core::Result<std::string> nonempty_string(const Node& n) const;

  std::string file_;  // the file being read

 private:
  Style style_;
};

}  // namespace tocsin::config::yaml
