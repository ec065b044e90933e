// For tests only: a minimal well-formedness check for the SVG tocsin writes (heat map, model
// plots), without an XML library: nesting, quoting and escaping, and the start tags in order.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace tocsin::test_support {

struct Element {
  std::string name;
  std::string tag;   // the whole start tag
  std::string text;  // the text right after the start tag, up to the next '<'
};

// A minimal XML check: tags nest and close in order, attribute values are quoted, text holds no
// raw '<' or bare '&'. Returns the start tags in document order; fails the test on a problem.
inline std::vector<Element> parse_xml(const std::string& doc) {
  std::vector<Element> elements;
  std::vector<std::string> open;
  size_t i = 0;
  while (i < doc.size()) {
    if (doc[i] == '&') {
      const size_t semi = doc.find(';', i);
      EXPECT_NE(semi, std::string::npos);
      const std::string entity = doc.substr(i, semi - i + 1);
      EXPECT_TRUE(entity == "&lt;" || entity == "&gt;" || entity == "&amp;" || entity == "&quot;" || entity == "&apos;")
          << entity;
      i = semi + 1;
      continue;
    }
    if (doc[i] != '<') {
      ++i;
      continue;
    }
    size_t end = i + 1;
    bool in_quote = false;
    while (end < doc.size() && (in_quote || doc[end] != '>')) {
      if (doc[end] == '"') in_quote = !in_quote;
      EXPECT_FALSE(in_quote && doc[end] == '<') << "raw < in an attribute at " << end;
      ++end;
    }
    if (end >= doc.size()) {
      ADD_FAILURE() << "unterminated tag at " << i;
      return elements;
    }
    const std::string tag = doc.substr(i, end - i + 1);
    if (tag.starts_with("</")) {
      const std::string name = tag.substr(2, tag.size() - 3);
      if (open.empty() || open.back() != name) {
        ADD_FAILURE() << "closing " << name << " but open is " << (open.empty() ? "nothing" : open.back());
        return elements;
      }
      open.pop_back();
    } else {
      const size_t name_end = tag.find_first_of(" />", 1);
      const std::string name = tag.substr(1, name_end - 1);
      EXPECT_FALSE(name.empty()) << "a raw '<' in text: " << tag;
      const size_t next = doc.find('<', end + 1);
      elements.push_back({name, tag, doc.substr(end + 1, next == std::string::npos ? 0 : next - end - 1)});
      if (!tag.ends_with("/>")) open.push_back(name);
    }
    i = end + 1;
  }
  EXPECT_TRUE(open.empty()) << "unclosed " << (open.empty() ? "" : open.back());
  return elements;
}

// The value of attribute `name` of a start tag; "" when absent.
inline std::string attr(const Element& e, std::string_view name) {
  const std::string key = " " + std::string(name) + "=\"";
  const size_t at = e.tag.find(key);
  if (at == std::string::npos) return {};
  const size_t start = at + key.size();
  return e.tag.substr(start, e.tag.find('"', start) - start);
}

}  // namespace tocsin::test_support
