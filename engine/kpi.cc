#include "engine/kpi.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "common/enum_names.h"
#include "common/status_macros.h"

namespace tierscore::engine {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kBatch = 1024;

absl::Status FieldError(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::StatusOr<std::shared_ptr<Expr>> ParseOptional(const std::string& field,
                                                    const std::string& text, bool required) {
  if (text.empty()) {
    if (required) return FieldError(field, "is required for this aggregation");
    return std::shared_ptr<Expr>();
  }
  auto e = Expr::Parse(text);
  if (!e.ok()) return FieldError(field, std::string(e.status().message()));
  return e;
}

bool IsSubset(const std::vector<int>& small, const std::vector<int>& big) {
  for (int d : small) {
    if (std::find(big.begin(), big.end(), d) == big.end()) return false;
  }
  return true;
}

}  // namespace

namespace {

// The grouping sets (the grand total when there is none), with their
// dimensions: tier schemes by name, or text input columns.
absl::Status CompileGroupingSets(const v1::KpiSpec& spec, const CompiledPolicy& policy,
                                 CompiledKpis& out) {
  std::vector<std::vector<std::string>> sets;
  for (const v1::GroupingSet& g : spec.grouping_sets()) {
    sets.emplace_back(g.columns().begin(), g.columns().end());
  }
  if (sets.empty()) sets.emplace_back();
  for (size_t i = 0; i < sets.size(); ++i) {
    CompiledGroupingSet cs;
    for (size_t j = 0; j < sets[i].size(); ++j) {
      const std::string& name = sets[i][j];
      if (name.empty()) {
        return FieldError(absl::StrCat("grouping_sets[", i, "][", j, "]"), "column name is empty");
      }
      int d = -1;
      for (size_t k = 0; k < out.dims.size(); ++k) {
        if (out.dims[k].name == name) d = static_cast<int>(k);
      }
      if (d < 0) {
        Dim dim;
        dim.name = name;
        dim.index = policy.SchemeIndex(name);
        dim.tier = dim.index >= 0;
        out.dims.push_back(dim);
        d = static_cast<int>(out.dims.size()) - 1;
      }
      if (std::find(cs.dims.begin(), cs.dims.end(), d) != cs.dims.end()) {
        return FieldError(absl::StrCat("grouping_sets[", i, "][", j, "]"),
                          absl::StrCat("column \"", name, "\" appears twice"));
      }
      cs.dims.push_back(d);
    }
    out.sets.push_back(std::move(cs));
  }
  return absl::OkStatus();
}

// A set whose columns all appear in a larger set is rolled up from a leaf
// (a set with no larger superset) instead of being computed from rows.
void PlanRollUps(CompiledKpis& out) {
  auto strict_subset = [&](size_t i, size_t j) {
    return out.sets[j].dims.size() > out.sets[i].dims.size() &&
           IsSubset(out.sets[i].dims, out.sets[j].dims);
  };
  auto is_leaf = [&](size_t j) {
    for (size_t k = 0; k < out.sets.size(); ++k) {
      if (strict_subset(j, k)) return false;
    }
    return true;
  };
  for (size_t i = 0; i < out.sets.size(); ++i) {
    for (size_t j = 0; j < out.sets.size(); ++j) {
      if (!strict_subset(i, j) || !is_leaf(j)) continue;
      CompiledGroupingSet& cs = out.sets[i];
      cs.source = static_cast<int>(j);
      const auto& src = out.sets[j].dims;
      for (int d : cs.dims) {
        cs.projection.push_back(
            static_cast<int>(std::find(src.begin(), src.end(), d) - src.begin()));
      }
      break;
    }
  }
}

// One metric, validated: its aggregation and the expressions it needs.
absl::StatusOr<CompiledMetric> CompileMetric(const v1::Metric& m, const std::string& named) {
  TS_RETURN_IF_ERROR(
      common::CheckEnumSet(v1::Aggregation_descriptor(), m.agg(), absl::StrCat(named, ".agg")));
  CompiledMetric cm;
  cm.name = m.name();
  cm.agg = m.agg();
  cm.q = m.q();
  switch (m.agg()) {
    case v1::AGGREGATION_COUNT:
      break;
    case v1::AGGREGATION_COUNT_IF:
      if (m.filter().empty()) {
        return FieldError(absl::StrCat(named, ".filter"), "is required for count_if");
      }
      break;
    case v1::AGGREGATION_RATIO: {
      TS_ASSIGN_OR_RETURN(cm.expr, ParseOptional(absl::StrCat(named, ".num"), m.num(), true));
      TS_ASSIGN_OR_RETURN(cm.den, ParseOptional(absl::StrCat(named, ".den"), m.den(), true));
      break;
    }
    case v1::AGGREGATION_QUANTILE:
    case v1::AGGREGATION_SUM:
    case v1::AGGREGATION_SHARE:
    case v1::AGGREGATION_MEAN:
    case v1::AGGREGATION_MIN:
    case v1::AGGREGATION_MAX:
    case v1::AGGREGATION_STDDEV:
    case v1::AGGREGATION_NPS: {
      if (m.agg() == v1::AGGREGATION_QUANTILE && !(m.q() >= 0 && m.q() <= 1)) {
        return FieldError(absl::StrCat(named, ".q"), "must be in [0, 1]");
      }
      TS_ASSIGN_OR_RETURN(cm.expr, ParseOptional(absl::StrCat(named, ".expr"), m.expr(), true));
      break;
    }
    default:
      return FieldError(absl::StrCat(named, ".agg"), "is not supported by this server");
  }
  TS_ASSIGN_OR_RETURN(cm.filter, ParseOptional(absl::StrCat(named, ".filter"), m.filter(), false));
  return cm;
}

}  // namespace

absl::StatusOr<CompiledKpis> CompileKpis(const v1::KpiSpec& spec, const CompiledPolicy& policy) {
  CompiledKpis out;
  TS_RETURN_IF_ERROR(CompileGroupingSets(spec, policy, out));
  PlanRollUps(out);
  for (int i = 0; i < spec.metrics_size(); ++i) {
    const v1::Metric& m = spec.metrics(i);
    const std::string field = absl::StrCat("metrics[", i, "]");
    if (m.name().empty()) return FieldError(absl::StrCat(field, ".name"), "is required");
    const std::string named = absl::StrCat(field, " (", m.name(), ")");
    for (const CompiledMetric& other : out.metrics) {
      if (other.name == m.name()) {
        return FieldError(absl::StrCat(named, ".name"), "duplicate metric name");
      }
    }
    TS_ASSIGN_OR_RETURN(CompiledMetric cm, CompileMetric(m, named));
    out.metrics.push_back(std::move(cm));
  }
  return out;
}

// Calls fn with the aggregation as a compile-time constant.
template <typename Fn>
void WithAggregation(v1::Aggregation agg, Fn&& fn) {
  using A = v1::Aggregation;
  switch (agg) {
    case v1::AGGREGATION_COUNT:
      return fn(std::integral_constant<A, v1::AGGREGATION_COUNT>());
    case v1::AGGREGATION_COUNT_IF:
      return fn(std::integral_constant<A, v1::AGGREGATION_COUNT_IF>());
    case v1::AGGREGATION_SUM:
      return fn(std::integral_constant<A, v1::AGGREGATION_SUM>());
    case v1::AGGREGATION_SHARE:
      return fn(std::integral_constant<A, v1::AGGREGATION_SHARE>());
    case v1::AGGREGATION_MEAN:
      return fn(std::integral_constant<A, v1::AGGREGATION_MEAN>());
    case v1::AGGREGATION_MIN:
      return fn(std::integral_constant<A, v1::AGGREGATION_MIN>());
    case v1::AGGREGATION_MAX:
      return fn(std::integral_constant<A, v1::AGGREGATION_MAX>());
    case v1::AGGREGATION_STDDEV:
      return fn(std::integral_constant<A, v1::AGGREGATION_STDDEV>());
    case v1::AGGREGATION_NPS:
      return fn(std::integral_constant<A, v1::AGGREGATION_NPS>());
    case v1::AGGREGATION_RATIO:
      return fn(std::integral_constant<A, v1::AGGREGATION_RATIO>());
    case v1::AGGREGATION_QUANTILE:
      return fn(std::integral_constant<A, v1::AGGREGATION_QUANTILE>());
    default:
      return;
  }
}

void MetricAcc::AddRow(v1::Aggregation agg, double v, double d) {
  WithAggregation(agg, [&](auto a) { Add<decltype(a)::value>(v, d); });
}

void MetricAcc::Merge(const MetricAcc& o) {
  count += o.count;
  sum.Merge(o.sum);
  sum_sq.Merge(o.sum_sq);
  den.Merge(o.den);
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  promoters += o.promoters;
  detractors += o.detractors;
  sketch.Merge(o.sketch);
}

void MetricAcc::ToProto(v1::MetricState* out) const {
  out->set_count(count);
  if (!sum.IsZero()) sum.ToProto(out->mutable_sum());
  if (!sum_sq.IsZero()) sum_sq.ToProto(out->mutable_sum_sq());
  if (!den.IsZero()) den.ToProto(out->mutable_den());
  out->set_min(min);
  out->set_max(max);
  out->set_promoters(promoters);
  out->set_detractors(detractors);
  if (sketch.count() > 0) sketch.ToProto(out->mutable_sketch());
}

MetricAcc MetricAcc::FromProto(const v1::MetricState& s) {
  MetricAcc a;
  a.count = s.count();
  a.sum = ExactSum::FromProto(s.sum());
  a.sum_sq = ExactSum::FromProto(s.sum_sq());
  a.den = ExactSum::FromProto(s.den());
  a.min = s.min();
  a.max = s.max();
  a.promoters = s.promoters();
  a.detractors = s.detractors();
  a.sketch = QuantileSketch::FromProto(s.sketch());
  return a;
}

std::vector<MetricAcc>& GroupedState::Group(size_t set, const Key& key, size_t metrics) {
  auto& groups = sets_[set];
  auto it = groups.find(key);
  if (it == groups.end()) {
    it = groups.emplace(key, std::vector<MetricAcc>(metrics)).first;
  }
  return it->second;
}

void GroupedState::Merge(const GroupedState& other) {
  if (sets_.size() < other.sets_.size()) sets_.resize(other.sets_.size());
  for (size_t s = 0; s < other.sets_.size(); ++s) {
    for (const auto& [key, accs] : other.sets_[s]) {
      auto& mine = Group(s, key, accs.size());
      for (size_t m = 0; m < accs.size(); ++m) mine[m].Merge(accs[m]);
    }
  }
}

void GroupedState::MergeProto(const v1::AggregateState& state, size_t metrics) {
  if (sets_.size() < static_cast<size_t>(state.sets_size())) {
    sets_.resize(static_cast<size_t>(state.sets_size()));
  }
  for (int s = 0; s < state.sets_size(); ++s) {
    for (const v1::GroupState& g : state.sets(s).groups()) {
      Key key(g.key().begin(), g.key().end());
      auto& mine = Group(static_cast<size_t>(s), key, metrics);
      for (int m = 0; m < g.metrics_size() && static_cast<size_t>(m) < metrics; ++m) {
        mine[static_cast<size_t>(m)].Merge(MetricAcc::FromProto(g.metrics(m)));
      }
    }
  }
}

void GroupedState::ToProto(v1::AggregateState* out) const {
  out->Clear();
  for (const Groups& groups : sets_) {
    v1::GroupingSetState* set = out->add_sets();
    // Sorted keys keep the serialised form deterministic.
    std::vector<const Key*> keys;
    for (const auto& [key, accs] : groups) keys.push_back(&key);
    std::sort(keys.begin(), keys.end(), [](const Key* a, const Key* b) { return *a < *b; });
    for (const Key* key : keys) {
      v1::GroupState* g = set->add_groups();
      for (const std::string& k : *key) g->add_key(k);
      for (const MetricAcc& acc : groups.at(*key)) acc.ToProto(g->add_metrics());
    }
  }
}

absl::Status AggregateShard(const CompiledKpis& kpis, const CompiledPolicy& policy,
                            const Table& table, const std::vector<std::vector<uint8_t>>& tiers,
                            GroupedState* out) {
  const size_t nmetrics = kpis.metrics.size();
  if (out->sets().size() < kpis.sets.size()) {
    *out = GroupedState(kpis.sets.size());
  }
  // Per leaf set: radix of each dim, and dense group slots by mixed-radix
  // code (or a hash map when the product is large).
  struct Leaf {
    size_t set;
    std::vector<const Dim*> dims;
    std::vector<int64_t> radix;
    int64_t product = 1;
    std::vector<int32_t> dense;  // code -> slot, -1 none
    absl::flat_hash_map<int64_t, int32_t> sparse;
    std::vector<int64_t> slot_codes;
    std::vector<std::vector<MetricAcc>> accs;
  };
  constexpr int64_t kDenseLimit = 1 << 20;
  std::vector<Leaf> leaves;
  for (size_t s = 0; s < kpis.sets.size(); ++s) {
    if (kpis.sets[s].source >= 0) continue;
    Leaf leaf;
    leaf.set = s;
    for (int d : kpis.sets[s].dims) {
      const Dim& dim = kpis.dims[static_cast<size_t>(d)];
      leaf.dims.push_back(&dim);
      const int64_t r =
          dim.tier
              ? static_cast<int64_t>(policy.schemes[static_cast<size_t>(dim.index)].names.size())
              : static_cast<int64_t>(
                    table.columns[static_cast<size_t>(dim.index)].dictionary.size()) +
                    1;
      leaf.radix.push_back(r);
      if (leaf.product > (int64_t{1} << 62) / std::max<int64_t>(r, 1)) {
        return absl::ResourceExhaustedError(
            absl::StrCat("grouping set ", s, " has too many distinct groups"));
      }
      leaf.product *= r;
    }
    if (leaf.product <= kDenseLimit) leaf.dense.assign(static_cast<size_t>(leaf.product), -1);
    leaves.push_back(std::move(leaf));
  }

  std::vector<double> vals(kBatch), dens(kBatch), mask(kBatch);
  std::vector<int64_t> codes(kBatch);
  std::vector<std::vector<int32_t>> slots(leaves.size(), std::vector<int32_t>(kBatch));
  for (int64_t begin = 0; begin < table.rows; begin += kBatch) {
    const int64_t n = std::min<int64_t>(kBatch, table.rows - begin);
    for (size_t l = 0; l < leaves.size(); ++l) {
      Leaf& leaf = leaves[l];
      std::fill(codes.begin(), codes.begin() + n, 0);
      for (size_t d = 0; d < leaf.dims.size(); ++d) {
        const Dim& dim = *leaf.dims[d];
        const int64_t r = leaf.radix[d];
        if (dim.tier) {
          const uint8_t* t = tiers[static_cast<size_t>(dim.index)].data() + begin;
          for (int64_t i = 0; i < n; ++i)
            codes[static_cast<size_t>(i)] = codes[static_cast<size_t>(i)] * r + t[i];
        } else {
          const int32_t* c = table.columns[static_cast<size_t>(dim.index)].codes.data() + begin;
          for (int64_t i = 0; i < n; ++i)
            codes[static_cast<size_t>(i)] = codes[static_cast<size_t>(i)] * r + (c[i] + 1);
        }
      }
      for (int64_t i = 0; i < n; ++i) {
        const int64_t code = codes[static_cast<size_t>(i)];
        int32_t slot;
        if (!leaf.dense.empty()) {
          slot = leaf.dense[static_cast<size_t>(code)];
          if (slot < 0) {
            slot = leaf.dense[static_cast<size_t>(code)] = static_cast<int32_t>(leaf.accs.size());
          }
        } else {
          auto [it, inserted] = leaf.sparse.emplace(code, static_cast<int32_t>(leaf.accs.size()));
          slot = it->second;
        }
        if (slot == static_cast<int32_t>(leaf.accs.size())) {
          leaf.accs.emplace_back(nmetrics);
          leaf.slot_codes.push_back(code);
        }
        slots[l][static_cast<size_t>(i)] = slot;
      }
    }
    for (size_t m = 0; m < nmetrics; ++m) {
      const CompiledMetric& metric = kpis.metrics[m];
      const bool has_filter = metric.filter != nullptr;
      if (has_filter) metric.filter->Eval(table, begin, n, mask.data());
      if (metric.expr) metric.expr->Eval(table, begin, n, vals.data());
      if (metric.den) metric.den->Eval(table, begin, n, dens.data());
      for (size_t l = 0; l < leaves.size(); ++l) {
        auto& accs = leaves[l].accs;
        const int32_t* sl = slots[l].data();
        WithAggregation(metric.agg, [&](auto a) {
          for (int64_t i = 0; i < n; ++i) {
            const size_t ii = static_cast<size_t>(i);
            if (has_filter && !(mask[ii] != 0 && !std::isnan(mask[ii]))) continue;
            accs[static_cast<size_t>(sl[i])][m].Add<decltype(a)::value>(vals[ii], dens[ii]);
          }
        });
      }
    }
  }

  // Translate codes to string keys.
  for (Leaf& leaf : leaves) {
    for (size_t slot = 0; slot < leaf.accs.size(); ++slot) {
      int64_t code = leaf.slot_codes[slot];
      GroupedState::Key key(leaf.dims.size());
      for (size_t d = leaf.dims.size(); d-- > 0;) {
        const int64_t c = code % leaf.radix[d];
        code /= leaf.radix[d];
        const Dim& dim = *leaf.dims[d];
        if (dim.tier) {
          key[d] = policy.schemes[static_cast<size_t>(dim.index)].names[static_cast<size_t>(c)];
        } else if (c > 0) {
          key[d] =
              table.columns[static_cast<size_t>(dim.index)].dictionary[static_cast<size_t>(c - 1)];
        }
      }
      auto& mine = out->Group(leaf.set, key, nmetrics);
      for (size_t m = 0; m < nmetrics; ++m) mine[m].Merge(leaf.accs[slot][m]);
    }
  }
  return absl::OkStatus();
}

double MetricValue(const CompiledMetric& m, const MetricAcc& a, const MetricAcc& total) {
  const double n = static_cast<double>(a.count);
  switch (m.agg) {
    case v1::AGGREGATION_COUNT:
    case v1::AGGREGATION_COUNT_IF:
      return n;
    case v1::AGGREGATION_SUM:
      return a.sum.Value();
    case v1::AGGREGATION_SHARE: {
      const double t = total.sum.Value();
      return t == 0 ? kNaN : a.sum.Value() / t;
    }
    case v1::AGGREGATION_MEAN:
      return a.count == 0 ? kNaN : a.sum.Value() / n;
    case v1::AGGREGATION_MIN:
      return a.count == 0 ? kNaN : a.min;
    case v1::AGGREGATION_MAX:
      return a.count == 0 ? kNaN : a.max;
    case v1::AGGREGATION_STDDEV: {
      if (a.count < 2) return kNaN;
      const long double s = a.sum.Value();
      const long double ss = a.sum_sq.Value();
      const long double var = (ss - s * s / n) / (n - 1);
      return static_cast<double>(std::sqrt(std::max<long double>(var, 0)));
    }
    case v1::AGGREGATION_NPS:
      return a.count == 0 ? kNaN : 100.0 * static_cast<double>(a.promoters - a.detractors) / n;
    case v1::AGGREGATION_RATIO: {
      const double d = a.den.Value();
      return d == 0 ? kNaN : a.sum.Value() / d;
    }
    case v1::AGGREGATION_QUANTILE:
      return a.sketch.Quantile(m.q);
    default:
      return kNaN;
  }
}

v1::KpiTable FinalizeKpis(const CompiledKpis& kpis, const CompiledPolicy& policy,
                          GroupedState state) {
  const size_t nmetrics = kpis.metrics.size();
  auto& sets = state.mutable_sets();
  sets.resize(kpis.sets.size());
  // Roll up the sets that are not computed from rows.
  for (size_t s = 0; s < kpis.sets.size(); ++s) {
    const CompiledGroupingSet& cs = kpis.sets[s];
    if (cs.source < 0) continue;
    sets[s].clear();
    for (const auto& [key, accs] : sets[static_cast<size_t>(cs.source)]) {
      GroupedState::Key sub;
      for (int p : cs.projection) sub.push_back(key[static_cast<size_t>(p)]);
      auto& mine = state.Group(s, sub, nmetrics);
      for (size_t m = 0; m < nmetrics; ++m) mine[m].Merge(accs[m]);
    }
  }
  // The grand total has a row even over no rows (a count of zero).
  for (size_t s = 0; s < kpis.sets.size(); ++s) {
    if (kpis.sets[s].dims.empty() && sets[s].empty()) state.Group(s, {}, nmetrics);
  }
  // Totals over all rows: any set covers every row exactly once.
  std::vector<MetricAcc> total(nmetrics);
  if (!sets.empty()) {
    for (const auto& [key, accs] : sets[0]) {
      for (size_t m = 0; m < nmetrics; ++m) total[m].Merge(accs[m]);
    }
  }

  v1::KpiTable table;
  for (const Dim& d : kpis.dims) table.add_dim_columns(d.name);
  for (const CompiledMetric& m : kpis.metrics) table.add_metric_columns(m.name);
  for (size_t s = 0; s < kpis.sets.size(); ++s) {
    const CompiledGroupingSet& cs = kpis.sets[s];
    std::vector<const GroupedState::Key*> keys;
    for (const auto& [key, accs] : sets[s]) keys.push_back(&key);
    // Order: tiers in tier order, text values ascending.
    auto rank = [&](const GroupedState::Key& k, size_t d) -> int {
      const Dim& dim = kpis.dims[static_cast<size_t>(cs.dims[d])];
      const auto& names = policy.schemes[static_cast<size_t>(dim.index)].names;
      return static_cast<int>(std::find(names.begin(), names.end(), k[d]) - names.begin());
    };
    std::sort(keys.begin(), keys.end(), [&](const auto* a, const auto* b) {
      for (size_t d = 0; d < cs.dims.size(); ++d) {
        const Dim& dim = kpis.dims[static_cast<size_t>(cs.dims[d])];
        if (dim.tier) {
          const int ra = rank(*a, d), rb = rank(*b, d);
          if (ra != rb) return ra < rb;
        } else if ((*a)[d] != (*b)[d]) {
          return (*a)[d] < (*b)[d];
        }
      }
      return false;
    });
    for (const auto* key : keys) {
      v1::KpiTable::Row* row = table.add_rows();
      row->set_grouping_set(static_cast<int32_t>(s));
      for (size_t d = 0; d < kpis.dims.size(); ++d) row->add_dims("");
      for (size_t d = 0; d < cs.dims.size(); ++d) {
        row->set_dims(cs.dims[d], (*key)[d]);
      }
      const auto& accs = sets[s].at(*key);
      for (size_t m = 0; m < nmetrics; ++m) {
        row->add_values(MetricValue(kpis.metrics[m], accs[m], total[m]));
      }
    }
  }
  return table;
}

}  // namespace tierscore::engine
