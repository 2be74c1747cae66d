#include "engine/tiering.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tierscore::engine {

absl::StatusOr<int64_t> ValueToMicros(double value) {
  if (std::isnan(value) || value <= 0) return 0;
  if (value > kMaxValue) {
    return absl::InvalidArgumentError(
        absl::StrCat("value ", value, " is larger than the supported maximum ", kMaxValue));
  }
  return static_cast<int64_t>(std::llround(value * kValueScale));
}

int128 ShareThreshold(double boundary, int128 total) {
  constexpr int64_t kDenominator = 1000000000000;  // 1e12
  const int128 numerator = std::llround(boundary * static_cast<double>(kDenominator));
  // numerator < 2^40, so the product is exact while total < 2^86 (far above
  // any real base: 10^19 customers at the maximum value).
  constexpr int128 kExactLimit = static_cast<int128>(1) << 86;
  if (total < kExactLimit) {
    return (numerator * total + kDenominator - 1) / kDenominator;
  }
  return static_cast<int128>(
      std::ceil(static_cast<long double>(boundary) * static_cast<long double>(total)));
}

}  // namespace tierscore::engine
