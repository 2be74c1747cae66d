#include "engine/position.h"

#include <algorithm>

#include "engine/tiering.h"

namespace tierscore::engine {

Positions PositionTable::Build(double lo, double hi, const std::vector<int64_t>& counts,
                               const std::vector<int128>& values) {
  Positions p;
  p.lo = lo;
  p.hi = hi;
  int64_t total_count = 0;
  int128 total_value = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    total_count += counts[b];
    total_value += values[b];
  }
  int64_t count = 0;
  int128 value = 0;
  auto share = [](long double part, long double whole) {
    return whole > 0 ? static_cast<float>(part / whole) : 0.0f;
  };
  for (size_t b = 0; b <= counts.size(); ++b) {
    p.count_before.push_back(
        share(static_cast<long double>(count), static_cast<long double>(total_count)));
    p.value_before.push_back(
        share(static_cast<long double>(value), static_cast<long double>(total_value)));
    if (b < counts.size()) {
      count += counts[b];
      value += values[b];
    }
  }
  return p;
}

double PositionTable::MaxBinShare(const std::vector<int64_t>& counts,
                                  const std::vector<int128>& values) {
  int64_t total_count = 0;
  int128 total_value = 0, max_value = 0;
  int64_t max_count = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    total_count += counts[b];
    total_value += values[b];
    max_count = std::max(max_count, counts[b]);
    max_value = std::max(max_value, values[b]);
  }
  double out = 0;
  if (total_count > 0) out = static_cast<double>(max_count) / static_cast<double>(total_count);
  if (total_value > 0) {
    out = std::max(out, static_cast<double>(static_cast<long double>(max_value) /
                                            static_cast<long double>(total_value)));
  }
  return out;
}

PositionTable::PositionTable(const Positions& positions)
    : lo_(positions.lo),
      hi_(positions.hi),
      bins_(std::max(0, static_cast<int>(positions.count_before.size()) - 1)),
      count_before_(positions.count_before),
      value_before_(positions.value_before) {
  if (value_before_.size() != count_before_.size()) bins_ = 0;
}

void PositionTable::Locate(double score, float* percentile, float* cum_before_share) const {
  if (bins_ == 0) {
    *percentile = 0;
    *cum_before_share = 0;
    return;
  }
  const int b = ScoreBin(score, lo_, hi_, bins_);
  // Where the score lies within its bin, from its top edge (0) to its
  // bottom edge (1).
  const double width = (hi_ * 0.5 - lo_ * 0.5) / bins_;
  double frac = 0;
  if (width > 0) frac = std::clamp((hi_ * 0.5 - score * 0.5) / width - b, 0.0, 1.0);
  const size_t i = static_cast<size_t>(b);
  *percentile =
      static_cast<float>(count_before_[i] + frac * (count_before_[i + 1] - count_before_[i]));
  *cum_before_share =
      static_cast<float>(value_before_[i] + frac * (value_before_[i + 1] - value_before_[i]));
}

}  // namespace tierscore::engine
