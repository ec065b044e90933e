#include "core/regex.h"

#include <re2/re2.h>

#include <fmt/format.h>

#include <vector>

namespace tocsin::core {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;  // Go also takes Unicode letters and digits
}

// Bytes in the UTF-8 sequence that starts with `lead` (1 for a stray continuation byte).
size_t utf8_width(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// Go's Regexp.expand: appends `replacement` to `out` with its $ references resolved against
// `groups` (groups[0] is the whole match; an empty data() means the group did not take part).
void expand(std::string& out, std::string_view replacement, const re2::RE2& re,
            const std::vector<std::string_view>& groups) {
  while (!replacement.empty()) {
    const size_t dollar = replacement.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(replacement.substr(0, dollar));
    replacement.remove_prefix(dollar + 1);
    if (!replacement.empty() && replacement.front() == '$') {
      out += '$';
      replacement.remove_prefix(1);
      continue;
    }
    const bool brace = !replacement.empty() && replacement.front() == '{';
    size_t i = brace ? 1 : 0;
    const size_t start = i;
    while (i < replacement.size() && is_name_char(replacement[i])) ++i;
    const std::string_view name = replacement.substr(start, i - start);
    if (name.empty() || (brace && (i >= replacement.size() || replacement[i] != '}'))) {
      out += '$';  // malformed: the '$' is literal text, as in Go
      continue;
    }
    replacement.remove_prefix(brace ? i + 1 : i);
    int number = -1;
    if (name.find_first_not_of("0123456789") == std::string_view::npos && name.size() < 9) {
      number = 0;
      for (char c : name) number = number * 10 + (c - '0');
    }
    if (number < 0) {
      const auto& names = re.NamedCapturingGroups();
      if (auto it = names.find(std::string(name)); it != names.end()) number = it->second;
    }
    if (number >= 0 && static_cast<size_t>(number) < groups.size() && groups[number].data() != nullptr) {
      out.append(groups[number]);
    }
  }
  out.append(replacement);
}

}  // namespace

Result<Regex> Regex::compile(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);  // the error goes to the caller, not to stderr
  auto re = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    return std::unexpected(Error::invalid_argument(fmt::format("bad regex \"{}\": {}", pattern, re->error())));
  }
  return Regex(std::move(re));
}

bool Regex::full_match(std::string_view text) const {
  return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

bool Regex::search(std::string_view text) const {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

std::string Regex::replace_all(std::string_view text, std::string_view replacement) const {
  if (text.data() == nullptr) text = std::string_view("", 0);  // match offsets are taken from data()
  const re2::StringPiece input(text.data(), text.size());
  std::vector<re2::StringPiece> pieces(static_cast<size_t>(re_->NumberOfCapturingGroups()) + 1);
  std::vector<std::string_view> groups(pieces.size());
  std::string out;
  size_t search_pos = 0;
  size_t last_match_end = 0;
  // Go's replaceAll loop: an empty match right after a match is not replaced, and the search
  // always moves on by at least one character.
  while (search_pos <= text.size()) {
    if (!re_->Match(input, search_pos, text.size(), re2::RE2::UNANCHORED, pieces.data(),
                    static_cast<int>(pieces.size()))) {
      break;
    }
    const size_t match_start = static_cast<size_t>(pieces[0].data() - text.data());
    const size_t match_end = match_start + pieces[0].size();
    out.append(text.substr(last_match_end, match_start - last_match_end));
    if (match_end > last_match_end || match_start == 0) {
      for (size_t g = 0; g < pieces.size(); ++g) {
        groups[g] = pieces[g].data() != nullptr ? std::string_view(pieces[g].data(), pieces[g].size()) : std::string_view();
      }
      expand(out, replacement, *re_, groups);
    }
    last_match_end = match_end;
    const size_t width = search_pos < text.size() ? utf8_width(static_cast<unsigned char>(text[search_pos])) : 1;
    search_pos = search_pos + width > match_end ? search_pos + width : match_end;
  }
  if (last_match_end < text.size()) out.append(text.substr(last_match_end));
  return out;
}

const std::string& Regex::pattern() const { return re_->pattern(); }

}  // namespace tocsin::core
