#ifndef TIERSCORE_ENGINE_TIERING_H_
#define TIERSCORE_ENGINE_TIERING_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/int128.h"

namespace tierscore::engine {

// The exact definitions every implementation shares (the reference and the
// distributed job call these same functions, so they agree bit for bit).

// The global order: score descending, then customer id ascending.
inline bool Before(double score_a, std::string_view id_a, double score_b, std::string_view id_b) {
  return score_a > score_b || (score_a == score_b && id_a < id_b);
}

// Scores are clamped to a finite range so that the order is total; NaN
// (which a score cannot normally be) sorts last.
inline double CanonicalScore(double s) {
  constexpr double kLimit = 1e300;
  if (std::isnan(s)) return -kLimit;
  if (s > kLimit) return kLimit;
  if (s < -kLimit) return -kLimit;
  return s + 0.0;  // -0 -> +0
}

// Values that decide Pareto and ABC tiers are fixed-point integers of
// micro-units (1e-6), rounded per customer, so their sums are exact and do
// not depend on order or splitting. Null and negative values count as 0.
constexpr double kValueScale = 1e6;
constexpr double kMaxValue = 9.2e12;  // keeps one customer within int64

// INVALID_ARGUMENT when |value| exceeds kMaxValue.
absl::StatusOr<int64_t> ValueToMicros(double value);

inline double MicrosToValue(int128 micros) {
  return static_cast<double>(static_cast<long double>(micros) / kValueScale);
}

// The threshold of a share boundary b of a total measure: ceil(b * total),
// with b taken as the decimal it was written as (rounded to 12 places), so
// that exactly 80% of the value reaches a boundary of 0.8. A customer is past
// the boundary when the measure strictly before it is >= the threshold.
int128 ShareThreshold(double boundary, int128 total);

// Tier of a customer given, for each boundary of its scheme, whether it is
// past it: the number of boundaries passed (boundaries are increasing, so
// passing one implies passing the ones before).
inline int TierFromPassed(const std::vector<int128>& thresholds, int128 measure_before) {
  int tier = 0;
  for (int128 t : thresholds) tier += measure_before >= t ? 1 : 0;
  return tier;
}

// Threshold tiers: the first tier whose minimum the score reaches.
inline int ThresholdTier(const std::vector<double>& min_scores, double score) {
  int tier = 0;
  while (tier < static_cast<int>(min_scores.size()) &&
         !(score >= min_scores[static_cast<size_t>(tier)])) {
    ++tier;
  }
  return tier;
}

// Histogram bin of a score in [lo, hi] with `bins` equal-width bins; bin 0
// holds the highest scores. Halving before subtracting keeps the width
// finite for any finite scores.
inline int ScoreBin(double score, double lo, double hi, int bins) {
  const double width = hi * 0.5 - lo * 0.5;
  if (!(width > 0)) return 0;
  const double frac = (hi * 0.5 - score * 0.5) / width;
  const int b = static_cast<int>(frac * bins);
  return b < 0 ? 0 : (b >= bins ? bins - 1 : b);
}

// A tier boundary pinned in the global order: the key (score, id) of the
// first customer past it, or every customer (`all`) or none (`none`).
struct CutKey {
  double score = 0;
  std::string id;
  bool all = false;
  bool none = false;
};

// True when a customer with this key is past the cut.
inline bool PastCut(const CutKey& cut, double score, std::string_view id) {
  if (cut.all) return true;
  if (cut.none) return false;
  return Before(cut.score, cut.id, score, id);
}

// The score a customer with `score` still needs to come before the cut,
// into the tier above it (0 when it has the cut's score: the id decides);
// infinite for an `all` cut, which every customer is past.
inline double ScoreToComeBefore(const CutKey& cut, double score) {
  return cut.all ? std::numeric_limits<double>::infinity() : std::max(0.0, cut.score - score);
}

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_TIERING_H_
