#include "notify/template.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "notify/template_functions.h"

namespace tocsin::notify {

using core::Error;
using core::Result;
using core::Status;

// ---------------------------------------------------------------------------------------------
// TemplateValue

// A method set that does not fit the kind (kKV on a list) is dropped, so the executor can rely on it.
TemplateValue::TemplateValue(List list, Methods methods)
    : data_(std::make_shared<const List>(std::move(list))),
      methods_(methods == Methods::kPairs || methods == Methods::kAlerts ? methods : Methods::kNone) {}

TemplateValue::TemplateValue(Map map, Methods methods)
    : data_(std::make_shared<const Map>(std::move(map))),
      methods_(methods == Methods::kKV ? methods : Methods::kNone) {}

TemplateValue TemplateValue::kv(const core::Labels& labels) {
  Map map;
  for (const auto& l : labels) map.emplace(l.name, l.value);
  return {std::move(map), Methods::kKV};
}

TemplateValue TemplateValue::kv(const std::map<std::string, std::string>& pairs) {
  Map map;
  for (const auto& [name, value] : pairs) map.emplace(name, value);
  return {std::move(map), Methods::kKV};
}

const TemplateValue* TemplateValue::find(std::string_view key) const {
  if (kind() != Kind::kMap) return nullptr;
  const auto& map = as_map();
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

bool TemplateValue::truthy() const {
  switch (kind()) {
    case Kind::kNull:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kNumber:
      return as_number() != 0;
    case Kind::kString:
      return !as_string().empty();
    case Kind::kList:
      return !as_list().empty();
    case Kind::kMap:
      return !as_map().empty();
  }
  return false;
}

namespace {

std::string format_number(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "+Inf" : "-Inf";
  if (x == std::trunc(x) && std::fabs(x) < 1e15) return fmt::format("{}", static_cast<int64_t>(x));
  return fmt::format("{}", x);
}

}  // namespace

std::string TemplateValue::to_string() const {
  switch (kind()) {
    case Kind::kNull:
      return "";
    case Kind::kBool:
      return as_bool() ? "true" : "false";
    case Kind::kNumber:
      return format_number(as_number());
    case Kind::kString:
      return as_string();
    case Kind::kList: {
      std::string out = "[";
      for (const auto& v : as_list()) {
        if (out.size() > 1) out += ' ';
        out += v.to_string();
      }
      return out + "]";
    }
    case Kind::kMap: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, v] : as_map()) {
        if (!first) out += ' ';
        first = false;
        out += k + ":" + v.to_string();
      }
      return out + "]";
    }
  }
  return "";
}

namespace {

using Kind = TemplateValue::Kind;
using Methods = TemplateValue::Methods;
using template_functions::Args;
using template_functions::Function;
using template_functions::is_alnum;
using template_functions::is_alpha;
using template_functions::is_digit;
using template_functions::kind_name;
using template_functions::quote;

std::pair<int, int> line_column(std::string_view source, size_t offset) {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int>(offset - line_start) + 1};
}

Error error_at(std::string_view source, size_t offset, std::string_view what) {
  const auto [line, column] = line_column(source, offset);
  return Error::invalid_argument(fmt::format("{}:{}: {}", line, column, what)).at({"", line, column});
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Result<TemplateValue> fail(std::string message) { return std::unexpected(Error::invalid_argument(std::move(message))); }

// ---------------------------------------------------------------------------------------------
// Lexer: the source becomes text tokens and, between {{ and }}, action tokens. Trim markers and
// comments are handled here, so the parser never sees them.

enum class Tok {
  kText,
  kOpen,
  kClose,
  kIdent,
  kField,
  kDot,
  kVariable,
  kString,
  kNumber,
  kPipe,
  kLParen,
  kRParen,
  kDeclare,
  kAssign,
  kComma,
  kEof,
};

struct Token {
  Tok kind = Tok::kEof;
  std::string text;  // text; identifier; field name without '.'; "$x"; decoded string; number spelling
  size_t offset = 0;
  bool space_before = false;  // whitespace separates it from the previous token
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::kText:
      return "text";
    case Tok::kOpen:
      return "\"{{\"";
    case Tok::kClose:
      return "\"}}\"";
    case Tok::kIdent:
      return fmt::format("\"{}\"", t.text);
    case Tok::kField:
      return fmt::format("\".{}\"", t.text);
    case Tok::kDot:
      return "\".\"";
    case Tok::kVariable:
      return fmt::format("variable {}", t.text);
    case Tok::kString:
      return fmt::format("string {}", quote(t.text));
    case Tok::kNumber:
      return fmt::format("number {}", t.text);
    case Tok::kPipe:
      return "\"|\"";
    case Tok::kLParen:
      return "\"(\"";
    case Tok::kRParen:
      return "\")\"";
    case Tok::kDeclare:
      return "\":=\"";
    case Tok::kAssign:
      return "\"=\"";
    case Tok::kComma:
      return "\",\"";
    case Tok::kEof:
      return "the end of the template";
  }
  return "?";
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  Result<std::vector<Token>> run() {
    while (true) {
      const size_t open = src_.find("{{", pos_);
      std::string_view text = src_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_);
      const bool trim_trailing =
          open != std::string_view::npos && open + 3 < src_.size() && src_[open + 2] == '-' && is_space(src_[open + 3]);
      if (trim_leading_) {
        while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
      }
      if (trim_trailing) {
        while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
      }
      if (!text.empty()) push(Tok::kText, std::string(text), static_cast<size_t>(text.data() - src_.data()));
      if (open == std::string_view::npos) break;
      pos_ = open + (trim_trailing ? 4 : 2);
      if (src_.substr(pos_).starts_with("/*")) {
        TOCSIN_RETURN_IF_ERROR(skip_comment(open));
      } else {
        push(Tok::kOpen, "", open);
        TOCSIN_RETURN_IF_ERROR(lex_action(open));
      }
    }
    push(Tok::kEof, "", src_.size());
    return std::move(tokens_);
  }

 private:
  void push(Tok kind, std::string text, size_t offset, bool space_before = false) {
    tokens_.push_back({kind, std::move(text), offset, space_before});
  }

  // A comment runs from "/*" to "*/" and must end the action: "*/}}" or "*/ -}}".
  Status skip_comment(size_t open) {
    const size_t end = src_.find("*/", pos_ + 2);
    if (end == std::string_view::npos) return std::unexpected(error_at(src_, open, "unclosed comment"));
    pos_ = end + 2;
    const std::string_view rest = src_.substr(pos_);
    if (rest.starts_with("}}")) {
      pos_ += 2;
      trim_leading_ = false;
    } else if (rest.size() >= 4 && is_space(rest[0]) && rest.substr(1).starts_with("-}}")) {
      pos_ += 4;
      trim_leading_ = true;
    } else {
      return std::unexpected(error_at(src_, pos_, "expected \"}}\" right after the comment"));
    }
    return core::ok();
  }

  // The tokens of one action, from after "{{" through "}}"; `open` is where "{{" is.
  Status lex_action(size_t open) {
    while (true) {
      const size_t before = pos_;
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      const bool space = pos_ > before;
      if (pos_ >= src_.size()) return std::unexpected(error_at(src_, open, "unclosed action: expected \"}}\""));
      const std::string_view rest = src_.substr(pos_);
      if (rest.starts_with("}}")) {
        push(Tok::kClose, "", pos_);
        pos_ += 2;
        trim_leading_ = false;
        return core::ok();
      }
      if (space && rest.starts_with("-}}")) {
        push(Tok::kClose, "", pos_);
        pos_ += 3;
        trim_leading_ = true;
        return core::ok();
      }
      const size_t start = pos_;
      const char c = src_[pos_];
      const char next = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
      if (c == '|' || c == '(' || c == ')' || c == ',' || c == '=') {
        const Tok kind = c == '|'   ? Tok::kPipe
                         : c == '(' ? Tok::kLParen
                         : c == ')' ? Tok::kRParen
                         : c == ',' ? Tok::kComma
                                    : Tok::kAssign;
        push(kind, std::string(1, c), start, space);
        ++pos_;
      } else if (c == ':') {
        if (next != '=') return std::unexpected(error_at(src_, pos_, "expected \":=\""));
        push(Tok::kDeclare, ":=", start, space);
        pos_ += 2;
      } else if (c == '"') {
        std::string value = TOCSIN_TRY(lex_quoted());
        push(Tok::kString, std::move(value), start, space);
      } else if (c == '`') {
        const size_t end = src_.find('`', pos_ + 1);
        if (end == std::string_view::npos) return std::unexpected(error_at(src_, pos_, "unterminated raw string"));
        push(Tok::kString, std::string(src_.substr(pos_ + 1, end - pos_ - 1)), start, space);
        pos_ = end + 1;
      } else if (c == '$') {
        ++pos_;
        while (pos_ < src_.size() && is_alnum(src_[pos_])) ++pos_;
        push(Tok::kVariable, std::string(src_.substr(start, pos_ - start)), start, space);
      } else if (c == '.' && is_alpha(next)) {
        ++pos_;
        while (pos_ < src_.size() && is_alnum(src_[pos_])) ++pos_;
        push(Tok::kField, std::string(src_.substr(start + 1, pos_ - start - 1)), start, space);
      } else if (is_digit(c) || ((c == '-' || c == '+' || c == '.') && is_digit(next))) {
        ++pos_;
        while (pos_ < src_.size() &&
               (is_alnum(src_[pos_]) || src_[pos_] == '.' ||
                ((src_[pos_] == '-' || src_[pos_] == '+') && (src_[pos_ - 1] == 'e' || src_[pos_ - 1] == 'E')))) {
          ++pos_;
        }
        push(Tok::kNumber, std::string(src_.substr(start, pos_ - start)), start, space);
      } else if (c == '.') {
        push(Tok::kDot, ".", start, space);
        ++pos_;
      } else if (is_alpha(c)) {
        while (pos_ < src_.size() && is_alnum(src_[pos_])) ++pos_;
        push(Tok::kIdent, std::string(src_.substr(start, pos_ - start)), start, space);
      } else if (c == '}') {
        const auto [line, column] = line_column(src_, open);
        return std::unexpected(
            error_at(src_, pos_, fmt::format("expected \"}}}}\" to close the action at {}:{}", line, column)));
      } else {
        return std::unexpected(
            error_at(src_, pos_, fmt::format("unexpected character {} in action", quote(std::string(1, c)))));
      }
    }
  }

  // A double-quoted string with Go's escapes (\n \t \\ \" \xHH \uHHHH …), from the quote at pos_.
  Result<std::string> lex_quoted() {
    const size_t start = pos_;
    std::string out;
    for (++pos_; pos_ < src_.size(); ++pos_) {
      const char c = src_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\n') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (++pos_ >= src_.size()) break;
      const char e = src_[pos_];
      // Single-character escapes: the letter after the backslash, then what it stands for.
      static constexpr std::string_view kSimple = "n\nt\tr\ra\ab\bf\fv\v\\\\\"\"''";
      switch (e) {
        case 'x':
        case 'u':
        case 'U': {
          const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          const std::string_view hex = src_.substr(pos_ + 1, digits);
          const auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), cp, 16);
          if (hex.size() != digits || ec != std::errc() || ptr != hex.data() + hex.size()) {
            return std::unexpected(error_at(src_, pos_ - 1, fmt::format("bad \\{} escape in string", e)));
          }
          if (e == 'x') {
            out += static_cast<char>(cp);
          } else {
            append_utf8(out, cp);
          }
          pos_ += digits;
          break;
        }
        default: {
          const size_t i = kSimple.find(e);
          if (i == std::string_view::npos || i % 2 != 0) {
            return std::unexpected(error_at(src_, pos_ - 1, fmt::format("unknown escape \\{} in string", e)));
          }
          out += kSimple[i + 1];
        }
      }
    }
    return std::unexpected(error_at(src_, start, "unterminated quoted string"));
  }

  std::string_view src_;
  size_t pos_ = 0;
  bool trim_leading_ = false;  // the last action ended with " -}}"
  std::vector<Token> tokens_;
};

// ---------------------------------------------------------------------------------------------
// The tree.

struct Pipeline;

struct Expr {
  enum class Type { kDot, kVariable, kLiteral, kFunction, kPipeline };
  Type type = Type::kDot;
  size_t offset = 0;
  std::string name;  // variable ("$", "$x") or function name
  const Function* function = nullptr;
  TemplateValue literal;
  std::shared_ptr<const Pipeline> pipeline;  // parenthesized
  std::vector<std::string> fields;           // .A.B after the term
};

struct Command {
  size_t offset = 0;
  std::vector<Expr> args;  // args[0] is the function, method or value
};

struct Pipeline {
  size_t offset = 0;
  std::vector<std::string> decl;  // $x := … (range: $i, $x := …)
  bool assign = false;            // $x = …
  std::vector<Command> commands;  // joined by '|'
};

struct Node {
  enum class Type { kText, kAction, kIf, kRange, kWith };
  Type type = Type::kText;
  size_t offset = 0;
  std::string text;
  Pipeline pipeline;
  std::vector<Node> body;
  std::vector<Node> else_body;  // `else if` is an If node alone in else_body
};

}  // namespace

struct Template::Tree {
  std::string source;
  std::vector<Node> nodes;
};

namespace {

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over the tokens. Variables are checked here (an undefined $x is a
// parse error), with Go's scoping: a variable lives to the end of the control structure
// ({{if}}, {{range}}, {{with}}, or the branch) that declares it.

constexpr int kMaxDepth = 100;  // nested controls and parentheses

bool is_keyword(std::string_view s) {
  for (std::string_view k :
       {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}) {
    if (s == k) return true;
  }
  return false;
}

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> tokens) : src_(src), tokens_(std::move(tokens)) {}

  Result<std::vector<Node>> parse() {
    Block top = TOCSIN_TRY(parse_list());
    if (top.end == End::kEnd) return std::unexpected(error_at(src_, end_offset_, "unexpected {{end}}"));
    if (top.end == End::kElse) return std::unexpected(error_at(src_, end_offset_, "unexpected {{else}}"));
    return std::move(top.nodes);
  }

 private:
  enum class End { kEof, kEnd, kElse };
  struct Block {
    std::vector<Node> nodes;
    End end = End::kEof;  // what ended it; for kElse, the rest of that action is still to parse
  };

  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  Error error(const Token& t, std::string_view what) const { return error_at(src_, t.offset, what); }
  Error expected(std::string_view what, const Token& found) const {
    return error(found, fmt::format("expected {}, found {}", what, describe(found)));
  }
  bool declared(std::string_view name) const { return std::find(vars_.begin(), vars_.end(), name) != vars_.end(); }

  Status expect_close(std::string_view after) {
    if (peek().kind != Tok::kClose) return std::unexpected(expected(fmt::format("\"}}}}\" after {}", after), peek()));
    next();
    return core::ok();
  }

  // Items up to {{end}}, {{else}} or the end of the template.
  Result<Block> parse_list() {
    Block block;
    auto& nodes = block.nodes;
    const size_t mark = vars_.size();
    while (true) {
      const Token& t = next();
      if (t.kind == Tok::kEof) {
        block.end = End::kEof;
        break;
      }
      if (t.kind == Tok::kText) {
        nodes.push_back({Node::Type::kText, t.offset, t.text, {}, {}, {}});
        continue;
      }
      // t is "{{".
      const Token& k = peek();
      if (k.kind == Tok::kIdent && (k.text == "end" || k.text == "else")) {
        next();
        end_offset_ = k.offset;
        if (k.text == "end") {
          TOCSIN_RETURN_IF_ERROR(expect_close("end"));
          block.end = End::kEnd;
        } else {
          block.end = End::kElse;
        }
        break;
      }
      if (k.kind == Tok::kIdent && (k.text == "if" || k.text == "range" || k.text == "with")) {
        next();
        const auto type = k.text == "if" ? Node::Type::kIf : k.text == "range" ? Node::Type::kRange : Node::Type::kWith;
        nodes.push_back(TOCSIN_TRY(parse_control(type, k)));
        continue;
      }
      if (k.kind == Tok::kIdent && is_keyword(k.text)) {
        return std::unexpected(error(k, fmt::format("{{{{{}}}}} is not supported", k.text)));
      }
      Node node{Node::Type::kAction, t.offset, {}, TOCSIN_TRY(parse_pipeline("command", 1)), {}, {}};
      TOCSIN_RETURN_IF_ERROR(expect_close("the pipeline"));
      nodes.push_back(std::move(node));
    }
    vars_.resize(mark);
    return block;
  }

  Result<Node> parse_control(Node::Type type, const Token& keyword) {
    if (++depth_ > kMaxDepth) return std::unexpected(error(keyword, "nested too deeply"));
    const size_t mark = vars_.size();
    Node node{type, keyword.offset, {}, {}, {}, {}};
    node.pipeline = TOCSIN_TRY(parse_pipeline(keyword.text, type == Node::Type::kRange ? 2 : 1));
    TOCSIN_RETURN_IF_ERROR(expect_close(fmt::format("the {} pipeline", keyword.text)));
    Block body = TOCSIN_TRY(parse_list());
    node.body = std::move(body.nodes);
    End end = body.end;
    if (end == End::kElse) {
      const Token& t = peek();
      if (t.kind == Tok::kIdent &&
          ((type == Node::Type::kIf && t.text == "if") || (type == Node::Type::kWith && t.text == "with"))) {
        // {{else if …}} … {{end}} is {{else}}{{if …}} … {{end}}{{end}}: the nested control takes
        // the one {{end}}.
        next();
        node.else_body.push_back(TOCSIN_TRY(parse_control(type, t)));
        end = End::kEnd;
      } else {
        TOCSIN_RETURN_IF_ERROR(expect_close("else"));
        Block else_body = TOCSIN_TRY(parse_list());
        node.else_body = std::move(else_body.nodes);
        end = else_body.end;
        if (end == End::kElse) {
          return std::unexpected(error_at(
              src_, end_offset_,
              fmt::format("expected {{{{end}}}}, found a second {{{{else}}}} for the {{{{{}}}}}", keyword.text)));
        }
      }
    }
    if (end == End::kEof) {
      return std::unexpected(error(keyword, fmt::format("{{{{{}}}}} has no matching {{{{end}}}}", keyword.text)));
    }
    vars_.resize(mark);
    --depth_;
    return node;
  }

  // [decl] command ('|' command)*. `max_vars`: 0 = no declaration allowed, 2 = range's "$i, $x :=".
  Result<Pipeline> parse_pipeline(std::string_view context, int max_vars) {
    Pipeline p;
    p.offset = peek().offset;
    if (max_vars > 0 && peek().kind == Tok::kVariable) {
      if (peek(1).kind == Tok::kDeclare || peek(1).kind == Tok::kAssign) {
        p.decl.push_back(peek().text);
        p.assign = peek(1).kind == Tok::kAssign;
      } else if (peek(1).kind == Tok::kComma && peek(2).kind == Tok::kVariable && peek(3).kind == Tok::kDeclare) {
        if (max_vars < 2) return std::unexpected(error(peek(1), fmt::format("too many declarations in {}", context)));
        p.decl = {peek().text, peek(2).text};
      }
      for (const auto& name : p.decl) {
        if (name == "$") return std::unexpected(error(peek(), "cannot declare or assign $"));
        if (p.assign && !declared(name))
          return std::unexpected(error(peek(), fmt::format("undefined variable {}", name)));
      }
      for (size_t i = 0; i < p.decl.size() * 2; ++i) next();
    }
    while (true) {
      p.commands.push_back(TOCSIN_TRY(parse_command(context)));
      if (peek().kind != Tok::kPipe) break;
      next();
    }
    if (!p.assign) vars_.insert(vars_.end(), p.decl.begin(), p.decl.end());
    return p;
  }

  Result<Command> parse_command(std::string_view context) {
    Command c;
    c.offset = peek().offset;
    while (true) {
      const Token& t = peek();
      if (t.kind == Tok::kClose || t.kind == Tok::kPipe || t.kind == Tok::kRParen || t.kind == Tok::kEof) break;
      if (!c.args.empty() && !t.space_before)
        return std::unexpected(error(t, fmt::format("missing space before {}", describe(t))));
      c.args.push_back(TOCSIN_TRY(parse_operand()));
    }
    if (c.args.empty()) return std::unexpected(expected(fmt::format("a value for {}", context), peek()));
    return c;
  }

  Result<Expr> parse_operand() {
    const Token& t = next();
    Expr e;
    e.offset = t.offset;
    switch (t.kind) {
      case Tok::kDot:
        break;
      case Tok::kField:
        e.fields.push_back(t.text);
        break;
      case Tok::kVariable:
        if (!declared(t.text)) return std::unexpected(error(t, fmt::format("undefined variable {}", t.text)));
        e.type = Expr::Type::kVariable;
        e.name = t.text;
        break;
      case Tok::kString:
        e.type = Expr::Type::kLiteral;
        e.literal = t.text;
        break;
      case Tok::kNumber: {
        e.type = Expr::Type::kLiteral;
        e.literal = TOCSIN_TRY(parse_number(t));
        break;
      }
      case Tok::kIdent:
        if (t.text == "true" || t.text == "false" || t.text == "nil") {
          e.type = Expr::Type::kLiteral;
          if (t.text != "nil") e.literal = t.text == "true";
        } else if (is_keyword(t.text)) {
          return std::unexpected(error(t, fmt::format("unexpected keyword \"{}\" in an operand", t.text)));
        } else {
          e.type = Expr::Type::kFunction;
          e.name = t.text;
          e.function = template_functions::find(t.text);
          if (!e.function) return std::unexpected(error(t, fmt::format("function \"{}\" not defined", t.text)));
        }
        break;
      case Tok::kLParen: {
        if (++depth_ > kMaxDepth) return std::unexpected(error(t, "nested too deeply"));
        e.type = Expr::Type::kPipeline;
        e.pipeline = std::make_shared<const Pipeline>(TOCSIN_TRY(parse_pipeline("the parenthesized pipeline", 0)));
        if (peek().kind != Tok::kRParen) return std::unexpected(expected("\")\"", peek()));
        next();
        --depth_;
        break;
      }
      default:
        return std::unexpected(error(t, fmt::format("unexpected {} in an operand", describe(t))));
    }
    while (peek().kind == Tok::kField && !peek().space_before) {
      if (e.type == Expr::Type::kLiteral || e.type == Expr::Type::kFunction) {
        return std::unexpected(error(peek(), fmt::format("unexpected {} after {}", describe(peek()), describe(t))));
      }
      e.fields.push_back(next().text);
    }
    return e;
  }

  Result<TemplateValue> parse_number(const Token& t) const {
    std::string_view s = t.text;
    const bool negative = s.starts_with('-');
    if (s.starts_with('-') || s.starts_with('+')) s.remove_prefix(1);
    double value = 0;
    const char* end = s.data() + s.size();
    std::from_chars_result r{};
    if (s.starts_with("0x") || s.starts_with("0X")) {
      uint64_t n = 0;
      r = std::from_chars(s.data() + 2, end, n, 16);
      value = static_cast<double>(n);
    } else {
      r = std::from_chars(s.data(), end, value);
    }
    if (r.ec != std::errc() || r.ptr != end) {
      return std::unexpected(error(t, fmt::format("bad number syntax: \"{}\"", t.text)));
    }
    return negative ? -value : value;
  }

  std::string_view src_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::vector<std::string> vars_{"$"};
  size_t end_offset_ = 0;  // where the {{end}} or {{else}} that ended the last list is
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Executor: walks the tree over the data.

// The methods of Alertmanager's template types (template/template.go): KV.SortedPairs puts
// "alertname" first, then the other names in order; Names and Values follow SortedPairs.
TemplateValue sorted_pairs(const TemplateValue& kv) {
  TemplateValue::List pairs;
  auto pair = [](const std::string& name, const TemplateValue& value) {
    return TemplateValue(TemplateValue::Map{{"Name", name}, {"Value", value}});
  };
  if (const TemplateValue* v = kv.find("alertname")) pairs.push_back(pair("alertname", *v));
  for (const auto& [name, value] : kv.as_map()) {
    if (name != "alertname") pairs.push_back(pair(name, value));
  }
  return {std::move(pairs), Methods::kPairs};
}

TemplateValue pair_members(const TemplateValue& pairs, std::string_view member) {
  TemplateValue::List out;
  for (const auto& p : pairs.as_list()) {
    const TemplateValue* v = p.find(member);
    out.push_back(v ? *v : TemplateValue());
  }
  return out;
}

TemplateValue alerts_with_status(const TemplateValue& alerts, std::string_view status) {
  TemplateValue::List out;
  for (const auto& a : alerts.as_list()) {
    const TemplateValue* s = a.find("Status");
    if (s && s->kind() == Kind::kString && s->as_string() == status) out.push_back(a);
  }
  return {std::move(out), Methods::kAlerts};
}

// KV.Remove NAMES: a copy without those keys.
Result<TemplateValue> kv_remove(const TemplateValue& kv, const TemplateValue& names) {
  TemplateValue::Map out = kv.as_map();
  if (names.kind() == Kind::kList) {
    for (const auto& n : names.as_list()) out.erase(n.to_string());
  } else if (names.kind() == Kind::kString) {
    out.erase(names.as_string());
  } else if (!names.is_null()) {
    return fail(fmt::format("Remove needs a list of names, got a {}", kind_name(names)));
  }
  return TemplateValue(std::move(out), Methods::kKV);
}

class Executor {
 public:
  Executor(const Template::Tree& tree, const TemplateValue& root) : tree_(tree) { vars_.emplace_back("$", root); }

  Status walk(const std::vector<Node>& nodes, const TemplateValue& dot) {
    const size_t mark = vars_.size();
    for (const auto& node : nodes) TOCSIN_RETURN_IF_ERROR(walk_node(node, dot));
    vars_.resize(mark);
    return core::ok();
  }

  std::string take_output() { return std::move(out_); }

 private:
  Error error(size_t offset, std::string_view what) const { return error_at(tree_.source, offset, what); }

  Status walk_node(const Node& node, const TemplateValue& dot) {
    switch (node.type) {
      case Node::Type::kText:
        out_ += node.text;
        return core::ok();
      case Node::Type::kAction: {
        const TemplateValue v = TOCSIN_TRY(eval_pipeline(node.pipeline, dot, true));
        if (node.pipeline.decl.empty()) out_ += v.to_string();
        return core::ok();
      }
      case Node::Type::kIf:
      case Node::Type::kWith: {
        const size_t mark = vars_.size();
        const TemplateValue v = TOCSIN_TRY(eval_pipeline(node.pipeline, dot, true));
        if (v.truthy()) {
          TOCSIN_RETURN_IF_ERROR(walk(node.body, node.type == Node::Type::kWith ? v : dot));
        } else {
          TOCSIN_RETURN_IF_ERROR(walk(node.else_body, dot));
        }
        vars_.resize(mark);
        return core::ok();
      }
      case Node::Type::kRange:
        return walk_range(node, dot);
    }
    return core::ok();
  }

  Status walk_range(const Node& node, const TemplateValue& dot) {
    const TemplateValue v = TOCSIN_TRY(eval_pipeline(node.pipeline, dot, false));
    const auto& decl = node.pipeline.decl;
    auto iteration = [&](const TemplateValue& key, const TemplateValue& elem) -> Status {
      const size_t mark = vars_.size();
      if (decl.size() == 1) vars_.emplace_back(decl[0], elem);
      if (decl.size() == 2) {
        vars_.emplace_back(decl[0], key);
        vars_.emplace_back(decl[1], elem);
      }
      TOCSIN_RETURN_IF_ERROR(walk(node.body, elem));
      vars_.resize(mark);
      return core::ok();
    };
    switch (v.kind()) {
      case Kind::kNull:
        break;
      case Kind::kList: {
        const auto& list = v.as_list();
        for (size_t i = 0; i < list.size(); ++i) TOCSIN_RETURN_IF_ERROR(iteration(i, list[i]));
        if (!list.empty()) return core::ok();
        break;
      }
      case Kind::kMap:
        for (const auto& [key, elem] : v.as_map()) TOCSIN_RETURN_IF_ERROR(iteration(key, elem));
        if (!v.as_map().empty()) return core::ok();
        break;
      default:
        return std::unexpected(error(node.offset, fmt::format("range can't iterate over a {}", kind_name(v))));
    }
    return walk(node.else_body, dot);
  }

  // Evaluates the commands, feeding each result to the next as its last argument; with `declare`,
  // binds the pipeline's variables to the result.
  Result<TemplateValue> eval_pipeline(const Pipeline& p, const TemplateValue& dot, bool declare) {
    std::optional<TemplateValue> value;
    for (const auto& cmd : p.commands) value = TOCSIN_TRY(eval_command(cmd, dot, value));
    if (declare && !p.decl.empty()) {
      if (p.assign) {
        *lookup(p.decl[0]) = *value;
      } else {
        vars_.emplace_back(p.decl[0], *value);
      }
    }
    return *std::move(value);
  }

  Result<TemplateValue> eval_command(const Command& cmd, const TemplateValue& dot,
                                     const std::optional<TemplateValue>& piped) {
    const Expr& first = cmd.args[0];
    const size_t nargs = cmd.args.size() - 1 + (piped ? 1 : 0);
    if (first.type == Expr::Type::kFunction) {
      const Function& fn = *first.function;
      if (nargs < fn.min_args || (fn.max_args != template_functions::kVariadic && nargs > fn.max_args)) {
        return std::unexpected(
            error(first.offset, fmt::format("wrong number of arguments for {}: {}", fn.name, nargs)));
      }
      if (!fn.call) return eval_and_or(fn.name == "and", cmd, dot, piped);
      std::vector<TemplateValue> args = TOCSIN_TRY(eval_args(cmd, dot, piped));
      auto result = fn.call(args);
      if (!result) {
        return std::unexpected(
            error(first.offset, fmt::format("error calling {}: {}", fn.name, result.error().message())));
      }
      return result;
    }
    if (nargs == 0) return eval_operand(first, dot, false);
    if (first.fields.empty()) {
      return std::unexpected(error(first.offset, "can't give an argument to a non-function"));
    }
    // .A.Method ARGS: the arguments go to the last field, which must be a method.
    const TemplateValue receiver = TOCSIN_TRY(eval_operand(first, dot, true));
    std::vector<TemplateValue> args = TOCSIN_TRY(eval_args(cmd, dot, piped));
    return member(receiver, first.fields.back(), args, first.offset);
  }

  Result<std::vector<TemplateValue>> eval_args(const Command& cmd, const TemplateValue& dot,
                                               const std::optional<TemplateValue>& piped) {
    std::vector<TemplateValue> args;
    for (size_t i = 1; i < cmd.args.size(); ++i) args.push_back(TOCSIN_TRY(eval_operand(cmd.args[i], dot, false)));
    if (piped) args.push_back(*piped);
    return args;
  }

  // Go's and/or: the first argument that decides the result (false for and, true for or), else the
  // last; later arguments are not evaluated.
  Result<TemplateValue> eval_and_or(bool is_and, const Command& cmd, const TemplateValue& dot,
                                    const std::optional<TemplateValue>& piped) {
    TemplateValue v;
    for (size_t i = 1; i < cmd.args.size(); ++i) {
      v = TOCSIN_TRY(eval_operand(cmd.args[i], dot, false));
      if (v.truthy() != is_and) return v;
    }
    if (piped) v = *piped;
    return v;
  }

  // The operand's value; with `all_but_last_field`, stops before its last field (a method's receiver).
  Result<TemplateValue> eval_operand(const Expr& e, const TemplateValue& dot, bool all_but_last_field) {
    TemplateValue v;
    switch (e.type) {
      case Expr::Type::kDot:
        v = dot;
        break;
      case Expr::Type::kVariable: {
        const TemplateValue* found = lookup(e.name);
        if (!found) return std::unexpected(Error::internal(fmt::format("variable {} not bound", e.name)));
        v = *found;
        break;
      }
      case Expr::Type::kLiteral:
        v = e.literal;
        break;
      case Expr::Type::kFunction:
        v = TOCSIN_TRY(eval_command(Command{e.offset, {e}}, dot, std::nullopt));
        break;
      case Expr::Type::kPipeline:
        v = TOCSIN_TRY(eval_pipeline(*e.pipeline, dot, false));
        break;
    }
    const size_t n = e.fields.size() - (all_but_last_field ? 1 : 0);
    for (size_t i = 0; i < n; ++i) v = TOCSIN_TRY(member(v, e.fields[i], {}, e.offset));
    return v;
  }

  // `.name` on `recv`, with arguments when it is a method call.
  Result<TemplateValue> member(const TemplateValue& recv, const std::string& name, Args args, size_t offset) {
    auto arity = [&](size_t want) -> Status {
      if (args.size() == want) return core::ok();
      return std::unexpected(
          error(offset, fmt::format("wrong number of arguments for {}: want {}, got {}", name, want, args.size())));
    };
    switch (recv.methods()) {
      case Methods::kKV:
        if (name == "SortedPairs" || name == "Names" || name == "Values") {
          TOCSIN_RETURN_IF_ERROR(arity(0));
          const TemplateValue pairs = sorted_pairs(recv);
          return name == "SortedPairs" ? pairs : pair_members(pairs, name == "Names" ? "Name" : "Value");
        }
        if (name == "Remove") {
          TOCSIN_RETURN_IF_ERROR(arity(1));
          auto removed = kv_remove(recv, args[0]);
          if (!removed) return std::unexpected(error(offset, removed.error().message()));
          return removed;
        }
        break;
      case Methods::kPairs:
        if (name == "Names" || name == "Values") {
          TOCSIN_RETURN_IF_ERROR(arity(0));
          return pair_members(recv, name == "Names" ? "Name" : "Value");
        }
        break;
      case Methods::kAlerts:
        if (name == "Firing" || name == "Resolved") {
          TOCSIN_RETURN_IF_ERROR(arity(0));
          return alerts_with_status(recv, name == "Firing" ? "firing" : "resolved");
        }
        break;
      case Methods::kNone:
        break;
    }
    if (!args.empty()) return std::unexpected(error(offset, fmt::format("{} is not a method but has arguments", name)));
    switch (recv.kind()) {
      case Kind::kNull:
        return TemplateValue();
      case Kind::kMap: {
        const TemplateValue* found = recv.find(name);
        return found ? *found : TemplateValue();
      }
      default:
        return std::unexpected(error(offset, fmt::format("can't evaluate field {} in a {}", name, kind_name(recv))));
    }
  }

  TemplateValue* lookup(std::string_view name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
    return nullptr;
  }

  const Template::Tree& tree_;
  std::vector<std::pair<std::string, TemplateValue>> vars_;
  std::string out_;
};

}  // namespace

std::string url_query_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (is_alnum(c) || c == '-' || c == '.' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

Template::Template() : tree_(std::make_shared<const Tree>()) {}

Result<Template> Template::parse(std::string_view text) {
  auto tokens = TOCSIN_TRY(Lexer(text).run());
  auto nodes = TOCSIN_TRY(Parser(text, std::move(tokens)).parse());
  return Template(std::make_shared<const Tree>(Tree{std::string(text), std::move(nodes)}));
}

Result<std::string> Template::render(const TemplateValue& data) const {
  Executor exec(*tree_, data);
  TOCSIN_RETURN_IF_ERROR(exec.walk(tree_->nodes, data));
  return exec.take_output();
}

}  // namespace tocsin::notify
