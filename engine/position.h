#ifndef TIERSCORE_ENGINE_POSITION_H_
#define TIERSCORE_ENGINE_POSITION_H_

#include <cstdint>
#include <vector>

#include "engine/int128.h"

namespace tierscore::engine {

// A customer's position in the global order (score descending, then id):
// the share of customers before it (percentile, 0 = top) and the share of
// value before it (cum_before). Exact positions would need a global sort;
// these come from a histogram of scores in kBins equal-width bins: exact at
// bin edges and linear in the score within a bin. The error is therefore
// at most the share of customers (value) in the customer's bin; a job
// reports the largest such share (JobStats.position_error).
// The table's content: cumulative shares before each bin edge.
struct Positions {
  double lo = 0;
  double hi = 0;
  std::vector<float> count_before;  // bins + 1 entries
  std::vector<float> value_before;
};

class PositionTable {
 public:
  static constexpr int kBins = 4096;

  // From per-bin customers and value (bin 0 = highest scores, over
  // [lo, hi]; engine::ScoreBin).
  static Positions Build(double lo, double hi, const std::vector<int64_t>& counts,
                         const std::vector<int128>& values);
  // The largest share of customers or of value in one bin.
  static double MaxBinShare(const std::vector<int64_t>& counts, const std::vector<int128>& values);

  // An empty table (no bins) puts everyone at 0.
  explicit PositionTable(const Positions& positions);

  void Locate(double score, float* percentile, float* cum_before_share) const;

 private:
  double lo_, hi_;
  int bins_;
  std::vector<float> count_before_, value_before_;
};

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_POSITION_H_
