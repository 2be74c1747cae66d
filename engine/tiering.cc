#include "engine/tiering.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tierscore::engine {

absl::StatusOr<int64_t> ValueToMicros(double value) {
  if (std::isnan(value) || value <= 0) return 0;
  if (value > kMaxValue) {
    return absl::InvalidArgumentError(absl::StrCat(
        "value ", value, " is larger than the supported maximum ", kMaxValue));
  }
  return static_cast<int64_t>(std::llround(value * kValueScale));
}

int128 ShareThreshold(double boundary, int128 total) {
  const long double t = std::ceil(static_cast<long double>(boundary) *
                                  static_cast<long double>(total));
  return static_cast<int128>(t);
}

}  // namespace tierscore::engine
