#ifndef TIERSCORE_COMMON_STATUS_MACROS_H_
#define TIERSCORE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Early-return helpers for absl::Status / absl::StatusOr<T>.
//
//   TS_RETURN_IF_ERROR(DoThing());
//   TS_ASSIGN_OR_RETURN(auto table, ReadTable(path));

#define TS_RETURN_IF_ERROR(expr)                              \
  do {                                                        \
    if (absl::Status _ts_status = (expr); !_ts_status.ok()) { \
      return _ts_status;                                      \
    }                                                         \
  } while (0)

#define TS_STATUS_CONCAT_INNER(a, b) a##b
#define TS_STATUS_CONCAT(a, b) TS_STATUS_CONCAT_INNER(a, b)

#define TS_ASSIGN_OR_RETURN(lhs, rexpr) \
  TS_ASSIGN_OR_RETURN_IMPL(TS_STATUS_CONCAT(_ts_statusor_, __LINE__), lhs, rexpr)

// `statusor` is a fresh name and `lhs` a declaration (`auto x`): neither can
// be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define TS_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr)     \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // TIERSCORE_COMMON_STATUS_MACROS_H_
