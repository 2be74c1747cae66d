#ifndef TIERSCORE_ENGINE_SKETCH_H_
#define TIERSCORE_ENGINE_SKETCH_H_

#include <cstdint>
#include <vector>

#include "tierscore/v1/aggregate.pb.h"

namespace tierscore::engine {

// A DDSketch (Masson et al., VLDB 2019) with relative accuracy 0.5%: every
// quantile it returns is within 0.5% (relative) of a value whose rank is the
// one asked for. Its state is integer bucket counts, so merging is exact and
// order-independent, like ExactSum.
//
// Not thread-safe; merge per-thread instances instead.
class QuantileSketch {
 public:
  static constexpr double kRelativeAccuracy = 0.005;

  void Add(double x);  // NaN is ignored
  void Merge(const QuantileSketch& other);

  int64_t count() const { return count_; }

  // The q-quantile, q in [0, 1] (nearest rank on q * (count - 1)); NaN when
  // empty.
  double Quantile(double q) const;

  // Share of added values at or below x, at bucket resolution, in [0, 1]; 0
  // when empty. O(buckets); use CdfTable for many lookups.
  double Cdf(double x) const;

  void ToProto(v1::SketchState* out) const;
  static QuantileSketch FromProto(const v1::SketchState& state);

 private:
  friend class CdfTable;

  // Dense counts for bucket indices [offset, offset + size).
  struct Store {
    int offset = 0;
    std::vector<int64_t> counts;
    void Add(int index, int64_t n);
    int64_t Total() const;
  };

  static int IndexOf(double magnitude);
  static double ValueOf(int index);

  Store positive_;
  Store negative_;
  int64_t zero_count_ = 0;
  int64_t count_ = 0;
};

// Cumulative counts of a sketch for O(1) Cdf lookups (percentile
// normalisation of every row). Immutable, so safe to share between threads.
class CdfTable {
 public:
  explicit CdfTable(const QuantileSketch& sketch);
  double At(double x) const;

 private:
  int64_t count_ = 0;
  int64_t below_positive_ = 0;  // negatives and zeros
  int pos_offset_ = 0;
  std::vector<int64_t> pos_cum_;  // inclusive prefix sums, ascending index
  int neg_offset_ = 0;
  std::vector<int64_t> neg_cum_;  // inclusive suffix sums: index >= i
};

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_SKETCH_H_
