// libFuzzer: the expression parser on any text. Parse must return an
// expression or an error with a column, never crash or recurse without
// bound (nesting and length are limited).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/expr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto expr = tierscore::engine::Expr::Parse(text);
  (void)expr;
  return 0;
}
