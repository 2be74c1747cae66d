#ifndef TIERSCORE_ENGINE_SCORING_H_
#define TIERSCORE_ENGINE_SCORING_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "engine/exact_sum.h"
#include "engine/policy.h"
#include "engine/sketch.h"
#include "engine/table.h"

namespace tierscore::engine {

// Global statistics of one criterion's raw values (nulls excluded), as
// workers report them after loading. Mergeable and exact.
struct CriterionStatsAcc {
  int64_t count = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  ExactSum sum;
  ExactSum sum_sq;
  QuantileSketch sketch;  // percentile criteria only

  void Merge(const CriterionStatsAcc& other);
};

// How one criterion's raw values are normalised: (x - offset) / divisor, or
// for percentile criteria the share of the base <= x, from `cdf`.
struct CriterionParams {
  double offset = 0;
  double divisor = 1;
  QuantileSketch cdf;  // percentile criteria only
};

// Adds the raw values of every criterion over `table` into `stats` (one per
// criterion of the policy).
void AccumulateStats(const CompiledPolicy& policy, const Table& table,
                     std::vector<CriterionStatsAcc>* stats);

// The normalisation parameters of each criterion from the merged stats:
//   none: x;  max: x / max;  minmax: (x - min) / (max - min);
//   zscore: (x - mean) / stddev (population);  percentile: share <= x.
// A zero divisor makes the normalised value 0 for everyone.
std::vector<CriterionParams> NormalizationParams(const CompiledPolicy& policy,
                                                 const std::vector<CriterionStatsAcc>& stats);

// Computes scores from parameters. Immutable after construction; Score() is
// safe to call from many threads.
//
// A criterion's contribution is weight * n, where n is the normalised value,
// flipped for `direction: lower` (1 - n for max, minmax and percentile; -n
// for none and zscore). A null raw value contributes 0. The score is the sum
// of contributions in criterion order, clamped by CanonicalScore.
class Scorer {
 public:
  Scorer(const CompiledPolicy& policy, const std::vector<CriterionParams>& params);

  // Scores rows [begin, begin + count). `contributions`, when not null,
  // receives count * criteria values, row-major. INVALID_ARGUMENT naming the
  // customer and the criterion when a weighted value or the sum is not a
  // finite number (a weight of 1e308): never a silent zero.
  absl::Status Score(const Table& table, int64_t begin, int64_t count, double* scores,
                     double* contributions) const;

  size_t criteria() const { return criteria_.size(); }

 private:
  absl::Status Overflow(const Table& table, int64_t row, size_t criterion, double raw) const;

  struct Prepared {
    const CompiledCriterion* criterion;
    double offset;
    double divisor;
    std::unique_ptr<CdfTable> cdf;
  };
  std::vector<Prepared> criteria_;
};

// Each row's value (the policy's `value` expression) in micro-units.
// INVALID_ARGUMENT naming the customer when a value is too large.
absl::Status ComputeValues(const CompiledPolicy& policy, const Table& table,
                           std::vector<int64_t>* out);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_SCORING_H_
