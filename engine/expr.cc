#include "engine/expr.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tierscore::engine {

struct Expr::Node {
  enum Kind { kNumber, kString, kColumn, kNeg, kNot, kBinary, kCall };
  enum Op { kAdd, kSub, kMul, kDiv, kLt, kLe, kGt, kGe, kEq, kNe, kAnd, kOr };
  enum Fn { kLog1p, kLn, kSqrt, kAbs, kMin, kMax, kClip, kCoalesce, kIf };

  Kind kind = kNumber;
  Op op = kAdd;
  Fn fn = kAbs;
  double number = 0;
  std::string text;       // string literal or column name
  int position = 0;       // 1-based column in the expression text
  int column = -1;        // bound index into the job's columns
  bool text_use = false;  // a column compared with a string literal
  int height = 1;         // of the subtree: bounded, as evaluation recurses
  std::vector<std::unique_ptr<Node>> args;
};

namespace {

using Node = Expr::Node;
constexpr double kNull = std::numeric_limits<double>::quiet_NaN();

inline double Finite(double v) { return std::isfinite(v) ? v : kNull; }
inline bool IsNull(double v) { return std::isnan(v); }

struct FnInfo {
  const char* name;
  Node::Fn fn;
  int min_args;
  int max_args;  // -1: any
};

constexpr FnInfo kFunctions[] = {
    {"log1p", Node::kLog1p, 1, 1}, {"ln", Node::kLn, 1, 1},
    {"sqrt", Node::kSqrt, 1, 1},   {"abs", Node::kAbs, 1, 1},
    {"min", Node::kMin, 1, -1},    {"max", Node::kMax, 1, -1},
    {"clip", Node::kClip, 3, 3},   {"coalesce", Node::kCoalesce, 1, -1},
    {"if", Node::kIf, 3, 3},
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<std::unique_ptr<Node>> ParseAll() {
    TS_ASSIGN_OR_RETURN(auto node, ParseOr());
    SkipSpace();
    if (pos_ < text_.size()) return Error("unexpected text after the expression");
    return node;
  }

 private:
  absl::Status Error(const std::string& what) const {
    return Error(static_cast<int>(pos_) + 1, what);
  }
  absl::Status Error(int position, const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat("at column ", position, ": ", what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(text_[pos_])) ++pos_;
  }

  // Consumes `word` if it is the next token (a whole word for keywords).
  bool Accept(std::string_view word) {
    SkipSpace();
    if (text_.substr(pos_, word.size()) != word) return false;
    if (absl::ascii_isalpha(word[0])) {
      const size_t end = pos_ + word.size();
      if (end < text_.size() && (absl::ascii_isalnum(text_[end]) || text_[end] == '_')) {
        return false;
      }
    }
    pos_ += word.size();
    return true;
  }

  std::unique_ptr<Node> Make(Node::Kind kind, int position) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->position = position;
    return n;
  }

  // Evaluating, binding and freeing an expression recurse over its tree,
  // and parsing over its nesting: both are bounded, so that no input can
  // exhaust the stack.
  static constexpr int kMaxDepth = 200;

  // Makes `child` an argument of `parent`; INVALID_ARGUMENT once the tree
  // would be deeper than kMaxDepth.
  absl::Status Adopt(Node& parent, std::unique_ptr<Node> child) {
    parent.height = std::max(parent.height, child->height + 1);
    parent.args.push_back(std::move(child));
    if (parent.height > kMaxDepth) return TooDeep(parent.position);
    return absl::OkStatus();
  }

  absl::Status TooDeep(int position) const {
    return Error(position, absl::StrCat("expression nested too deeply (more than ", kMaxDepth,
                                        " levels; a chain of more than ", kMaxDepth,
                                        " terms joined by operators is that deep too)"));
  }

  // Counts one level of parser recursion while it lives.
  class Nesting {
   public:
    explicit Nesting(int* depth) : depth_(depth) { ++*depth_; }
    ~Nesting() { --*depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    int* depth_;
  };

  absl::StatusOr<std::unique_ptr<Node>> Binary(Node::Op op, std::unique_ptr<Node> l,
                                               std::unique_ptr<Node> r, int position) {
    auto n = Make(Node::kBinary, position);
    n->op = op;
    TS_RETURN_IF_ERROR(Adopt(*n, std::move(l)));
    TS_RETURN_IF_ERROR(Adopt(*n, std::move(r)));
    return n;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseOr() {
    const Nesting level(&depth_);
    if (depth_ > kMaxDepth) return TooDeep(static_cast<int>(pos_) + 1);
    TS_ASSIGN_OR_RETURN(auto left, ParseAnd());
    while (true) {
      const int at = static_cast<int>(pos_) + 1;
      if (!Accept("or")) return left;
      TS_ASSIGN_OR_RETURN(auto right, ParseAnd());
      TS_ASSIGN_OR_RETURN(left, Binary(Node::kOr, std::move(left), std::move(right), at));
    }
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAnd() {
    TS_ASSIGN_OR_RETURN(auto left, ParseNot());
    while (true) {
      const int at = static_cast<int>(pos_) + 1;
      if (!Accept("and")) return left;
      TS_ASSIGN_OR_RETURN(auto right, ParseNot());
      TS_ASSIGN_OR_RETURN(left, Binary(Node::kAnd, std::move(left), std::move(right), at));
    }
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseNot() {
    SkipSpace();
    const int at = static_cast<int>(pos_) + 1;
    if (Accept("not")) {
      const Nesting level(&depth_);
      if (depth_ > kMaxDepth) return TooDeep(at);
      TS_ASSIGN_OR_RETURN(auto inner, ParseNot());
      auto n = Make(Node::kNot, at);
      TS_RETURN_IF_ERROR(Adopt(*n, std::move(inner)));
      return n;
    }
    return ParseCmp();
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseCmp() {
    TS_ASSIGN_OR_RETURN(auto left, ParseAdd());
    SkipSpace();
    const int at = static_cast<int>(pos_) + 1;
    struct {
      const char* token;
      Node::Op op;
    } static constexpr kOps[] = {{"<=", Node::kLe}, {">=", Node::kGe}, {"==", Node::kEq},
                                 {"!=", Node::kNe}, {"<>", Node::kNe}, {"<", Node::kLt},
                                 {">", Node::kGt},  {"=", Node::kEq}};
    for (const auto& [token, op] : kOps) {
      if (!Accept(token)) continue;
      TS_ASSIGN_OR_RETURN(auto right, ParseAdd());
      const bool l_str = left->kind == Node::kString;
      const bool r_str = right->kind == Node::kString;
      if (l_str || r_str) {
        Node* other = l_str ? right.get() : left.get();
        if ((op != Node::kEq && op != Node::kNe) || other->kind != Node::kColumn) {
          return Error(at,
                       "a string literal can only be compared with == or != "
                       "to a text column");
        }
        other->text_use = true;
      }
      return Binary(op, std::move(left), std::move(right), at);
    }
    return CheckNotString(std::move(left));
  }

  absl::StatusOr<std::unique_ptr<Node>> CheckNotString(std::unique_ptr<Node> n) {
    if (n->kind == Node::kString) {
      return Error(n->position,
                   "a string literal can only be compared with == or != to a "
                   "text column");
    }
    return n;
  }

  struct OpToken {
    const char* token;
    Node::Op op;
  };

  // One left-associative level of arithmetic operators over `operand`.
  template <size_t N>
  absl::StatusOr<std::unique_ptr<Node>> ParseArithmetic(
      const OpToken (&ops)[N], absl::StatusOr<std::unique_ptr<Node>> (Parser::*operand)()) {
    TS_ASSIGN_OR_RETURN(auto left, (this->*operand)());
    while (true) {
      SkipSpace();
      const int at = static_cast<int>(pos_) + 1;
      const OpToken* found = nullptr;
      for (const OpToken& op : ops) {
        if (Accept(op.token)) {
          found = &op;
          break;
        }
      }
      if (found == nullptr) return left;
      TS_ASSIGN_OR_RETURN(left, CheckNotString(std::move(left)));
      TS_ASSIGN_OR_RETURN(auto right, (this->*operand)());
      TS_ASSIGN_OR_RETURN(right, CheckNotString(std::move(right)));
      TS_ASSIGN_OR_RETURN(left, Binary(found->op, std::move(left), std::move(right), at));
    }
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAdd() {
    static constexpr OpToken kOps[] = {{"+", Node::kAdd}, {"-", Node::kSub}};
    return ParseArithmetic(kOps, &Parser::ParseMul);
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseMul() {
    static constexpr OpToken kOps[] = {{"*", Node::kMul}, {"/", Node::kDiv}};
    return ParseArithmetic(kOps, &Parser::ParseUnary);
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseUnary() {
    SkipSpace();
    const int at = static_cast<int>(pos_) + 1;
    if (Accept("-")) {
      const Nesting level(&depth_);
      if (depth_ > kMaxDepth) return TooDeep(at);
      TS_ASSIGN_OR_RETURN(auto inner, ParseUnary());
      TS_ASSIGN_OR_RETURN(inner, CheckNotString(std::move(inner)));
      auto n = Make(Node::kNeg, at);
      TS_RETURN_IF_ERROR(Adopt(*n, std::move(inner)));
      return n;
    }
    return ParsePrimary();
  }

  absl::StatusOr<std::unique_ptr<Node>> ParsePrimary() {
    SkipSpace();
    const int at = static_cast<int>(pos_) + 1;
    if (pos_ >= text_.size()) return Error("expected a value, found the end");
    const char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      TS_ASSIGN_OR_RETURN(auto inner, ParseOr());
      if (!Accept(")")) return Error("expected ')'");
      return inner;
    }
    if (c == '"' || c == '\'') return ParseString(at);
    if (absl::ascii_isdigit(c) || c == '.') {
      double v = 0;
      auto [ptr, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), v);
      if (ec != std::errc() || !std::isfinite(v)) return Error("bad number");
      pos_ = static_cast<size_t>(ptr - text_.data());
      auto n = Make(Node::kNumber, at);
      n->number = v;
      return n;
    }
    if (absl::ascii_isalpha(c) || c == '_') {
      size_t end = pos_;
      while (end < text_.size() &&
             (absl::ascii_isalnum(text_[end]) || text_[end] == '_' || text_[end] == '.')) {
        ++end;
      }
      std::string word(text_.substr(pos_, end - pos_));
      pos_ = end;
      if (word == "true" || word == "false" || word == "null") {
        auto n = Make(Node::kNumber, at);
        n->number = word == "true" ? 1.0 : word == "false" ? 0.0 : kNull;
        return n;
      }
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == '(') return ParseCall(word, at);
      auto n = Make(Node::kColumn, at);
      n->text = std::move(word);
      return n;
    }
    return Error(absl::StrCat("unexpected '", std::string(1, c), "'"));
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseString(int at) {
    const char quote = text_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) return Error(at, "string literal is not closed");
      const char ch = text_[pos_++];
      if (ch == quote) {
        if (pos_ < text_.size() && text_[pos_] == quote) {
          value += quote;
          ++pos_;
          continue;
        }
        break;
      }
      value += ch;
    }
    auto n = Make(Node::kString, at);
    n->text = std::move(value);
    return n;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseCall(const std::string& name, int at) {
    const FnInfo* info = nullptr;
    for (const FnInfo& f : kFunctions) {
      if (name == f.name) info = &f;
    }
    if (info == nullptr) {
      return Error(at, absl::StrCat("unknown function '", name,
                                    "' (known: log1p, ln, sqrt, abs, min, max, "
                                    "clip, coalesce, if)"));
    }
    ++pos_;  // '('
    auto n = Make(Node::kCall, at);
    n->fn = info->fn;
    n->text = name;
    if (!Accept(")")) {
      while (true) {
        TS_ASSIGN_OR_RETURN(auto arg, ParseOr());
        TS_ASSIGN_OR_RETURN(arg, CheckNotString(std::move(arg)));
        TS_RETURN_IF_ERROR(Adopt(*n, std::move(arg)));
        if (Accept(")")) break;
        if (!Accept(",")) return Error("expected ',' or ')'");
      }
    }
    const int argc = static_cast<int>(n->args.size());
    if (argc < info->min_args || (info->max_args >= 0 && argc > info->max_args)) {
      return Error(at, absl::StrCat(name, "() takes ",
                                    info->min_args == info->max_args
                                        ? absl::StrCat(info->min_args)
                                        : absl::StrCat("at least ", info->min_args),
                                    " argument(s), got ", argc));
    }
    return n;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;  // current parser recursion
};

void Collect(const Node& n, std::vector<ColumnRequest>* out) {
  if (n.kind == Node::kColumn) {
    out->push_back({n.text, n.text_use ? ColumnType::kText : ColumnType::kNumber});
  }
  for (const auto& a : n.args) Collect(*a, out);
}

absl::Status BindNode(Node& n, const std::vector<ColumnRequest>& columns) {
  if (n.kind == Node::kColumn) {
    const ColumnType want = n.text_use ? ColumnType::kText : ColumnType::kNumber;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].name != n.text) continue;
      if (columns[i].type != want) {
        return absl::InvalidArgumentError(absl::StrCat(
            "at column ", n.position, ": column \"", n.text, "\" is used as ",
            want == ColumnType::kText ? "text" : "a number", " here but as ",
            columns[i].type == ColumnType::kText ? "text" : "a number", " elsewhere in the job"));
      }
      n.column = static_cast<int>(i);
      return absl::OkStatus();
    }
    return absl::NotFoundError(
        absl::StrCat("at column ", n.position, ": unknown column \"", n.text, "\""));
  }
  for (auto& a : n.args) TS_RETURN_IF_ERROR(BindNode(*a, columns));
  return absl::OkStatus();
}

bool Truthy(double v) { return !IsNull(v) && v != 0; }

void EvalNode(const Node& n, const Table& t, int64_t begin, int64_t count, double* out);

// A text column compared with a literal: matches dictionary codes.
void EvalTextComparison(const Node& n, const Table& t, int64_t begin, size_t cnt, double* out) {
  const Node& l = *n.args[0];
  const Node& r = *n.args[1];
  const Node& colnode = l.kind == Node::kString ? r : l;
  const std::string& literal = l.kind == Node::kString ? l.text : r.text;
  const Column& col = t.columns[static_cast<size_t>(colnode.column)];
  auto it = std::find(col.dictionary.begin(), col.dictionary.end(), literal);
  const int32_t code =
      it == col.dictionary.end() ? -2 : static_cast<int32_t>(it - col.dictionary.begin());
  const double eq = n.op == Node::kEq ? 1.0 : 0.0;
  for (size_t i = 0; i < cnt; ++i) {
    const int32_t c = col.codes[static_cast<size_t>(begin) + i];
    out[i] = c < 0 ? kNull : (c == code ? eq : 1.0 - eq);
  }
}

// out[i] = out[i] <op> b[i] for arithmetic and SQL's three-valued and/or;
// false for any other operator.
bool ApplyArithmeticOrLogic(Node::Op op, const double* b, size_t cnt, double* out) {
  switch (op) {
    case Node::kAdd:
      for (size_t i = 0; i < cnt; ++i) out[i] = Finite(out[i] + b[i]);
      return true;
    case Node::kSub:
      for (size_t i = 0; i < cnt; ++i) out[i] = Finite(out[i] - b[i]);
      return true;
    case Node::kMul:
      for (size_t i = 0; i < cnt; ++i) out[i] = Finite(out[i] * b[i]);
      return true;
    case Node::kDiv:
      for (size_t i = 0; i < cnt; ++i) out[i] = b[i] == 0 ? kNull : Finite(out[i] / b[i]);
      return true;
    case Node::kAnd:
      for (size_t i = 0; i < cnt; ++i) {
        const double a = out[i];
        if ((!IsNull(a) && a == 0) || (!IsNull(b[i]) && b[i] == 0)) {
          out[i] = 0;
        } else {
          out[i] = IsNull(a) || IsNull(b[i]) ? kNull : 1.0;
        }
      }
      return true;
    case Node::kOr:
      for (size_t i = 0; i < cnt; ++i) {
        const double a = out[i];
        if (Truthy(a) || Truthy(b[i])) {
          out[i] = 1.0;
        } else {
          out[i] = IsNull(a) || IsNull(b[i]) ? kNull : 0.0;
        }
      }
      return true;
    default:
      return false;
  }
}

bool Compare(Node::Op op, double a, double b) {
  switch (op) {
    case Node::kLt:
      return a < b;
    case Node::kLe:
      return a <= b;
    case Node::kGt:
      return a > b;
    case Node::kGe:
      return a >= b;
    case Node::kEq:
      return a == b;
    default:
      return a != b;
  }
}

void EvalBinary(const Node& n, const Table& t, int64_t begin, int64_t count, double* out) {
  const Node& l = *n.args[0];
  const Node& r = *n.args[1];
  const size_t cnt = static_cast<size_t>(count);
  if (l.kind == Node::kString || r.kind == Node::kString) {
    EvalTextComparison(n, t, begin, cnt, out);
    return;
  }
  EvalNode(l, t, begin, count, out);
  std::vector<double> right(cnt);
  EvalNode(r, t, begin, count, right.data());
  const double* b = right.data();
  if (ApplyArithmeticOrLogic(n.op, b, cnt, out)) return;
  // Comparisons: null with anything is null.
  for (size_t i = 0; i < cnt; ++i) {
    out[i] = IsNull(out[i]) || IsNull(b[i]) ? kNull : (Compare(n.op, out[i], b[i]) ? 1.0 : 0.0);
  }
}

void EvalCall(const Node& n, const Table& t, int64_t begin, int64_t count, double* out) {
  const size_t cnt = static_cast<size_t>(count);
  EvalNode(*n.args[0], t, begin, count, out);
  switch (n.fn) {
    case Node::kLog1p:
      for (size_t i = 0; i < cnt; ++i) out[i] = Finite(std::log1p(out[i]));
      return;
    case Node::kLn:
      for (size_t i = 0; i < cnt; ++i) out[i] = Finite(std::log(out[i]));
      return;
    case Node::kSqrt:
      for (size_t i = 0; i < cnt; ++i) out[i] = Finite(std::sqrt(out[i]));
      return;
    case Node::kAbs:
      for (size_t i = 0; i < cnt; ++i) out[i] = std::fabs(out[i]);
      return;
    default:
      break;
  }
  std::vector<double> arg(cnt);
  if (n.fn == Node::kIf) {
    // out holds the condition; evaluate both branches over the batch.
    std::vector<double> otherwise(cnt);
    EvalNode(*n.args[1], t, begin, count, arg.data());
    EvalNode(*n.args[2], t, begin, count, otherwise.data());
    for (size_t i = 0; i < cnt; ++i) out[i] = Truthy(out[i]) ? arg[i] : otherwise[i];
    return;
  }
  if (n.fn == Node::kClip) {
    std::vector<double> hi(cnt);
    EvalNode(*n.args[1], t, begin, count, arg.data());
    EvalNode(*n.args[2], t, begin, count, hi.data());
    for (size_t i = 0; i < cnt; ++i) {
      out[i] = IsNull(out[i]) || IsNull(arg[i]) || IsNull(hi[i])
                   ? kNull
                   : std::min(std::max(out[i], arg[i]), hi[i]);
    }
    return;
  }
  // min, max, coalesce: fold the arguments, skipping nulls.
  for (size_t k = 1; k < n.args.size(); ++k) {
    EvalNode(*n.args[k], t, begin, count, arg.data());
    for (size_t i = 0; i < cnt; ++i) {
      const double a = out[i];
      const double b = arg[i];
      if (IsNull(a)) {
        out[i] = b;
      } else if (!IsNull(b)) {
        if (n.fn == Node::kMin) out[i] = std::min(a, b);
        if (n.fn == Node::kMax) out[i] = std::max(a, b);
        // kCoalesce keeps the first non-null.
      }
    }
  }
}

void EvalNode(const Node& n, const Table& t, int64_t begin, int64_t count, double* out) {
  const size_t cnt = static_cast<size_t>(count);
  switch (n.kind) {
    case Node::kNumber:
      std::fill(out, out + cnt, n.number);
      return;
    case Node::kString:
      std::fill(out, out + cnt, kNull);  // only reached through comparisons
      return;
    case Node::kColumn: {
      const Column& col = t.columns[static_cast<size_t>(n.column)];
      std::memcpy(out, col.numbers.data() + begin, cnt * sizeof(double));
      return;
    }
    case Node::kNeg:
      EvalNode(*n.args[0], t, begin, count, out);
      for (size_t i = 0; i < cnt; ++i) out[i] = -out[i];
      return;
    case Node::kNot:
      EvalNode(*n.args[0], t, begin, count, out);
      for (size_t i = 0; i < cnt; ++i) out[i] = IsNull(out[i]) ? kNull : (out[i] == 0 ? 1.0 : 0.0);
      return;
    case Node::kBinary:
      EvalBinary(n, t, begin, count, out);
      return;
    case Node::kCall:
      EvalCall(n, t, begin, count, out);
      return;
  }
}

}  // namespace

Expr::~Expr() = default;

absl::StatusOr<std::shared_ptr<Expr>> Expr::Parse(std::string_view text) {
  Parser parser(text);
  TS_ASSIGN_OR_RETURN(auto root, parser.ParseAll());
  std::shared_ptr<Expr> e(new Expr());
  e->text_ = std::string(text);
  e->root_ = std::move(root);
  return e;
}

void Expr::CollectColumns(std::vector<ColumnRequest>* out) const { Collect(*root_, out); }

absl::Status Expr::Bind(const std::vector<ColumnRequest>& columns) {
  return BindNode(*root_, columns);
}

void Expr::Eval(const Table& table, int64_t begin, int64_t count, double* out) const {
  if (count <= 0) return;  // an empty shard's columns have no data pointer
  EvalNode(*root_, table, begin, count, out);
}

}  // namespace tierscore::engine
