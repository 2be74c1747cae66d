#ifndef TIERSCORE_ENGINE_KPI_H_
#define TIERSCORE_ENGINE_KPI_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/exact_sum.h"
#include "engine/expr.h"
#include "engine/policy.h"
#include "engine/sketch.h"
#include "engine/table.h"
#include "tierscore/v1/aggregate.pb.h"
#include "tierscore/v1/job.pb.h"
#include "tierscore/v1/kpi.pb.h"

namespace tierscore::engine {

struct CompiledMetric {
  std::string name;
  v1::Aggregation agg = v1::AGGREGATION_COUNT;
  std::shared_ptr<Expr> expr;    // the input, or the numerator of a ratio
  std::shared_ptr<Expr> den;     // ratio only
  std::shared_ptr<Expr> filter;  // optional (required for count_if)
  double q = 0;
};

// A grouping column: a tier scheme of the policy, or a text input column.
struct Dim {
  std::string name;
  bool tier = false;
  int index = -1;  // scheme index, or index into the job's column list
};

struct CompiledGroupingSet {
  std::vector<int> dims;  // indices into CompiledKpis::dims
  // -1: computed from rows. Otherwise rolled up from that (finer) set, whose
  // key positions `projection` form this set's key.
  int source = -1;
  std::vector<int> projection;
};

struct CompiledKpis {
  std::vector<Dim> dims;  // every grouping column, in order of first use
  std::vector<CompiledGroupingSet> sets;
  std::vector<CompiledMetric> metrics;
};

// Validates the spec against the policy (dims name tier schemes or input
// columns). Text dims get their column index later (CompileJob). An empty
// list of grouping sets means one: the grand total.
absl::StatusOr<CompiledKpis> CompileKpis(const v1::KpiSpec& spec, const CompiledPolicy& policy);

// The mergeable state of one metric in one group (see MetricState).
struct MetricAcc {
  int64_t count = 0;
  ExactSum sum;
  ExactSum sum_sq;
  ExactSum den;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  int64_t promoters = 0;
  int64_t detractors = 0;
  QuantileSketch sketch;

  // Adds one row's input (v; and d, a ratio's denominator). Rows with a
  // null input are not counted, except by count and count_if. The template
  // form is for loops that know the aggregation up front.
  void AddRow(v1::Aggregation agg, double v, double d);
  template <v1::Aggregation A>
  void Add(double v, double d);
  void Merge(const MetricAcc& other);
  void ToProto(v1::MetricState* out) const;
  static MetricAcc FromProto(const v1::MetricState& state);
};

template <v1::Aggregation A>
inline void MetricAcc::Add(double v, double d) {
  if constexpr (A == v1::AGGREGATION_COUNT || A == v1::AGGREGATION_COUNT_IF) {
    ++count;
  } else if constexpr (A == v1::AGGREGATION_RATIO) {
    if (std::isnan(v) || std::isnan(d)) return;
    ++count;
    sum.Add(v);
    den.Add(d);
  } else {
    if (std::isnan(v)) return;
    ++count;
    if constexpr (A == v1::AGGREGATION_NPS) {
      promoters += v >= 9 ? 1 : 0;
      detractors += v <= 6 ? 1 : 0;
    } else if constexpr (A == v1::AGGREGATION_QUANTILE) {
      sketch.Add(v);
    } else if constexpr (A == v1::AGGREGATION_MIN || A == v1::AGGREGATION_MAX) {
      // +0.0: min(-0.0, 0.0) would depend on the order of the rows.
      min = std::min(min, v + 0.0);
      max = std::max(max, v + 0.0);
    } else if constexpr (A == v1::AGGREGATION_STDDEV) {
      sum.Add(v);
      sum_sq.Add(v * v);
    } else {  // sum, share, mean
      sum.Add(v);
    }
  }
}

// KPI states keyed by the string values of each grouping set's columns
// (tier names, text values, "" for null): the form in which states from
// different shards, with different dictionaries, merge. Not thread-safe.
class GroupedState {
 public:
  using Key = std::vector<std::string>;
  using Groups = absl::flat_hash_map<Key, std::vector<MetricAcc>>;

  explicit GroupedState(size_t sets = 0) : sets_(sets) {}

  std::vector<MetricAcc>& Group(size_t set, const Key& key, size_t metrics);
  void Merge(const GroupedState& other);
  void MergeProto(const v1::AggregateState& state, size_t metrics);
  void ToProto(v1::AggregateState* out) const;

  const std::vector<Groups>& sets() const { return sets_; }
  std::vector<Groups>& mutable_sets() { return sets_; }

 private:
  std::vector<Groups> sets_;
};

// Aggregates the rows of one shard into the leaf grouping sets. `tiers[s]`
// holds the tier index of each row for scheme s.
absl::Status AggregateShard(const CompiledKpis& kpis, const CompiledPolicy& policy,
                            const Table& table, const std::vector<std::vector<uint8_t>>& tiers,
                            GroupedState* out);

// Rolls up the non-leaf sets and computes the final table. Rows are ordered
// by grouping set, then tier order and text value.
v1::KpiTable FinalizeKpis(const CompiledKpis& kpis, const CompiledPolicy& policy,
                          GroupedState state);

// The final value of one metric (NaN when undefined). `total` is the metric's
// state over all rows (for share).
double MetricValue(const CompiledMetric& m, const MetricAcc& acc, const MetricAcc& total);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_KPI_H_
