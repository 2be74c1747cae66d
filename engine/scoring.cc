#include "engine/scoring.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/tiering.h"

namespace tierscore::engine {
namespace {
constexpr int64_t kBatch = 1024;
}  // namespace

void CriterionStatsAcc::Merge(const CriterionStatsAcc& o) {
  count += o.count;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  sum.Merge(o.sum);
  sum_sq.Merge(o.sum_sq);
  sketch.Merge(o.sketch);
}

void AccumulateStats(const CompiledPolicy& policy, const Table& table,
                     std::vector<CriterionStatsAcc>* stats) {
  stats->resize(policy.criteria.size());
  std::vector<double> vals(kBatch);
  for (size_t c = 0; c < policy.criteria.size(); ++c) {
    const CompiledCriterion& crit = policy.criteria[c];
    CriterionStatsAcc& acc = (*stats)[c];
    const bool sketch = crit.normalize == v1::NORMALIZATION_PERCENTILE;
    for (int64_t b = 0; b < table.rows; b += kBatch) {
      const int64_t n = std::min(kBatch, table.rows - b);
      crit.expr->Eval(table, b, n, vals.data());
      for (int64_t i = 0; i < n; ++i) {
        const double x = vals[static_cast<size_t>(i)];
        if (std::isnan(x)) continue;
        ++acc.count;
        acc.min = std::min(acc.min, x + 0.0);  // no -0.0: order-independent
        acc.max = std::max(acc.max, x + 0.0);
        acc.sum.Add(x);
        acc.sum_sq.Add(x * x);
        if (sketch) acc.sketch.Add(x);
      }
    }
  }
}

std::vector<CriterionParams> NormalizationParams(const CompiledPolicy& policy,
                                                 const std::vector<CriterionStatsAcc>& stats) {
  std::vector<CriterionParams> out(policy.criteria.size());
  for (size_t c = 0; c < policy.criteria.size(); ++c) {
    const CriterionStatsAcc& s = stats[c];
    CriterionParams& p = out[c];
    if (s.count == 0) {
      p.divisor = 0;
      continue;
    }
    switch (policy.criteria[c].normalize) {
      case v1::NORMALIZATION_MAX:
        p.divisor = s.max;
        break;
      case v1::NORMALIZATION_MINMAX:
        p.offset = s.min;
        p.divisor = s.max - s.min;
        break;
      case v1::NORMALIZATION_ZSCORE: {
        const double n = static_cast<double>(s.count);
        const double mean = s.sum.Value() / n;
        const double var = std::max(0.0, s.sum_sq.Value() / n - mean * mean);
        p.offset = mean;
        p.divisor = std::sqrt(var);
        break;
      }
      case v1::NORMALIZATION_PERCENTILE:
        p.cdf = s.sketch;
        break;
      default:
        break;
    }
    if (!std::isfinite(p.divisor)) p.divisor = 0;
  }
  return out;
}

Scorer::Scorer(const CompiledPolicy& policy, const std::vector<CriterionParams>& params) {
  for (size_t c = 0; c < policy.criteria.size(); ++c) {
    Prepared p;
    p.criterion = &policy.criteria[c];
    p.offset = c < params.size() ? params[c].offset : 0;
    p.divisor = c < params.size() ? params[c].divisor : 1;
    if (p.criterion->normalize == v1::NORMALIZATION_PERCENTILE) {
      p.cdf = std::make_unique<CdfTable>(c < params.size() ? params[c].cdf : QuantileSketch());
    }
    criteria_.push_back(std::move(p));
  }
}

absl::Status Scorer::Score(const Table& table, int64_t begin, int64_t count, double* scores,
                           double* contributions) const {
  const size_t nc = criteria_.size();
  std::vector<double> raw(kBatch);
  for (int64_t b = 0; b < count; b += kBatch) {
    const int64_t n = std::min(kBatch, count - b);
    double* out = scores + b;
    std::fill(out, out + n, 0.0);
    for (size_t c = 0; c < nc; ++c) {
      const Prepared& p = criteria_[c];
      const CompiledCriterion& crit = *p.criterion;
      crit.expr->Eval(table, begin + b, n, raw.data());
      const v1::Normalization norm = crit.normalize;
      const bool flip_to_one = norm == v1::NORMALIZATION_MAX || norm == v1::NORMALIZATION_MINMAX ||
                               norm == v1::NORMALIZATION_PERCENTILE;
      for (int64_t i = 0; i < n; ++i) {
        const double x = raw[static_cast<size_t>(i)];
        double contribution = 0;
        if (!std::isnan(x)) {
          double v;
          switch (norm) {
            case v1::NORMALIZATION_MAX:
            case v1::NORMALIZATION_MINMAX:
            case v1::NORMALIZATION_ZSCORE:
              v = p.divisor == 0 ? 0.0 : (x - p.offset) / p.divisor;
              break;
            case v1::NORMALIZATION_PERCENTILE:
              v = p.cdf->At(x);
              break;
            default:
              v = x;
          }
          if (crit.lower_is_better) v = flip_to_one ? 1.0 - v : -v;
          contribution = crit.weight * v;
        }
        out[i] += contribution;
        if (!std::isfinite(out[i])) return Overflow(table, begin + b + i, c, x);
        if (contributions != nullptr) {
          contributions[static_cast<size_t>(b + i) * nc + c] = contribution;
        }
      }
    }
    for (int64_t i = 0; i < n; ++i) out[i] = CanonicalScore(out[i]);
  }
  return absl::OkStatus();
}

absl::Status Scorer::Overflow(const Table& table, int64_t row, size_t criterion, double raw) const {
  const CompiledCriterion& crit = *criteria_[criterion].criterion;
  return absl::InvalidArgumentError(
      absl::StrCat("customer ", std::string(table.ids[static_cast<size_t>(row)]), ": criterion \"",
                   crit.name, "\": the score overflows (weight ", crit.weight, ", value ", raw,
                   "); use smaller weights or normalize the criterion"));
}

absl::Status ComputeValues(const CompiledPolicy& policy, const Table& table,
                           std::vector<int64_t>* out) {
  out->resize(static_cast<size_t>(table.rows));
  std::vector<double> vals(kBatch);
  for (int64_t b = 0; b < table.rows; b += kBatch) {
    const int64_t n = std::min(kBatch, table.rows - b);
    policy.value->Eval(table, b, n, vals.data());
    for (int64_t i = 0; i < n; ++i) {
      auto micros = ValueToMicros(vals[static_cast<size_t>(i)]);
      if (!micros.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("customer ", std::string(table.ids[static_cast<size_t>(b + i)]),
                         ": value: ", micros.status().message()));
      }
      (*out)[static_cast<size_t>(b + i)] = *micros;
    }
  }
  return absl::OkStatus();
}

}  // namespace tierscore::engine
