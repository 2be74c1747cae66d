#ifndef TIERSCORE_ENGINE_EXPR_H_
#define TIERSCORE_ENGINE_EXPR_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/csv.h"
#include "engine/table.h"

namespace tierscore::engine {

// The expression language of criteria, values and metric inputs.
//
//   expr   := or;  or := and ('or' and)*;  and := not ('and' not)*
//   not    := 'not' not | cmp;   cmp := add (('<'|'<='|'>'|'>='|'=='|'='|'!=') add)?
//   add    := mul (('+'|'-') mul)*;  mul := unary (('*'|'/') unary)*
//   unary  := '-' unary | primary
//   primary:= number | "string" | 'string' | true | false | null | column
//           | function '(' expr (',' expr)* ')' | '(' expr ')'
//   functions: log1p ln sqrt abs min max clip(x, lo, hi) coalesce
//              if(cond, then, else)
//
// Values are numbers or null; booleans are 1 and 0. Null rules, all
// documented in the README:
// - Arithmetic and functions of a null are null, except coalesce, min and max
//   (which skip nulls and are null only when every argument is) and if.
// - Any result that is not a finite number is null: x / 0, ln(0), log1p(-1),
//   sqrt(-1), overflow.
// - Comparisons with a null are null. `and`/`or` follow SQL: false and null =
//   false, true or null = true, otherwise a null operand gives null.
// - if(c, a, b) is a when c is non-null and non-zero, else b.
// - A text column may only be compared (==, !=) with a string literal; that
//   comparison is null where the column is null.
//
// An Expr is immutable after Bind() and safe to evaluate from many threads.
class Expr {
 public:
  struct Node;

  // Parses `text`. Errors are INVALID_ARGUMENT: "at column N: what".
  static absl::StatusOr<std::shared_ptr<Expr>> Parse(std::string_view text);

  // Appends the columns the expression reads and the type each use needs.
  void CollectColumns(std::vector<ColumnRequest>* out) const;

  // Resolves column names to their index in `columns` (the job's column
  // list, the same in every shard). NOT_FOUND naming a missing column;
  // INVALID_ARGUMENT when a column's type does not fit its use.
  absl::Status Bind(const std::vector<ColumnRequest>& columns);

  // Evaluates rows [begin, begin + count) of `table` into out[0..count).
  // Null results are NaN.
  void Eval(const Table& table, int64_t begin, int64_t count, double* out) const;

  const std::string& text() const { return text_; }

  ~Expr();

 private:
  Expr() = default;
  std::string text_;
  std::unique_ptr<Node> root_;
};

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_EXPR_H_
