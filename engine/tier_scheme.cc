#include "engine/tier_scheme.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "engine/policy.h"
#include "engine/tiering.h"

namespace tierscore::engine {
namespace {

absl::Status FieldError(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckShares(const std::string& field, const std::vector<double>& b) {
  if (b.empty()) return FieldError(absl::StrCat(field, ".boundaries"), "at least one is required");
  for (size_t i = 0; i < b.size(); ++i) {
    if (!(b[i] > 0 && b[i] < 1)) {
      return FieldError(absl::StrCat(field, ".boundaries[", i, "]"),
                        absl::StrCat("must be a share in (0, 1), got ", b[i]));
    }
    if (i > 0 && !(b[i] > b[i - 1])) {
      return FieldError(absl::StrCat(field, ".boundaries[", i, "]"),
                        "boundaries must be strictly increasing");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckNames(const std::string& field, const CompiledScheme& s) {
  if (s.names.size() > static_cast<size_t>(kMaxTiers)) {
    return FieldError(absl::StrCat(field, ".names"),
                      absl::StrCat("at most ", kMaxTiers, " tiers, got ", s.names.size()));
  }
  if (s.names.size() != s.boundaries.size() + 1) {
    return FieldError(absl::StrCat(field, ".names"),
                      absl::StrCat("expected ", s.boundaries.size() + 1,
                                   " names (one more than boundaries), got ", s.names.size()));
  }
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < s.names.size(); ++i) {
    if (s.names[i].empty() || !seen.insert(s.names[i]).second) {
      return FieldError(absl::StrCat(field, ".names[", i, "]"),
                        "tier names must be non-empty and unique");
    }
  }
  return absl::OkStatus();
}

// Tiers by a share of a cumulative measure: value (Pareto, ABC) or
// customer count (quantile).
class ShareRule : public TierRule {
 public:
  explicit ShareRule(bool by_value) : by_value_(by_value) {}

  int CutCount(const std::vector<double>& boundaries) const override {
    return static_cast<int>(boundaries.size());
  }

  std::vector<CutTarget> CutTargets(const std::vector<double>& boundaries, int64_t customers,
                                    int128 value) const override {
    const int128 total = by_value_ ? value : static_cast<int128>(customers);
    std::vector<CutTarget> out;
    for (double b : boundaries) out.push_back({by_value_, ShareThreshold(b, total)});
    return out;
  }

  int Tier(const std::vector<double>& boundaries, double,
           absl::FunctionRef<bool(int)> past_cut) const override {
    // Cuts are in global order: past one means past all before it.
    int tier = 0;
    while (tier < static_cast<int>(boundaries.size()) && past_cut(tier)) ++tier;
    return tier;
  }

  double GapToNextTier(const std::vector<double>&, int tier, double,
                       absl::FunctionRef<double(int)> to_come_before) const override {
    return to_come_before(tier - 1);
  }

 private:
  const bool by_value_;
};

class ParetoRule : public ShareRule {
 public:
  ParetoRule() : ShareRule(/*by_value=*/true) {}
  std::string_view kind() const override { return "pareto"; }
  absl::Status Compile(const v1::TierScheme& t, const std::string& field,
                       CompiledScheme& s) const override {
    s.boundaries.assign(t.pareto().boundaries().begin(), t.pareto().boundaries().end());
    s.names.assign(t.pareto().names().begin(), t.pareto().names().end());
    TS_RETURN_IF_ERROR(CheckShares(absl::StrCat(field, ".pareto"), s.boundaries));
    return CheckNames(absl::StrCat(field, ".pareto"), s);
  }
};

// Pareto with the classic defaults: A, B, C at 80% and 95% of the value.
class AbcRule : public ShareRule {
 public:
  AbcRule() : ShareRule(/*by_value=*/true) {}
  std::string_view kind() const override { return "abc"; }
  absl::Status Compile(const v1::TierScheme& t, const std::string& field,
                       CompiledScheme& s) const override {
    s.boundaries.assign(t.abc().boundaries().begin(), t.abc().boundaries().end());
    if (s.boundaries.empty()) s.boundaries = {0.80, 0.95};
    s.names.assign(t.abc().names().begin(), t.abc().names().end());
    if (s.names.empty()) {
      for (size_t k = 0; k <= s.boundaries.size(); ++k) {
        s.names.emplace_back(1, static_cast<char>('A' + k % 26));
      }
    }
    TS_RETURN_IF_ERROR(CheckShares(absl::StrCat(field, ".abc"), s.boundaries));
    return CheckNames(absl::StrCat(field, ".abc"), s);
  }
};

class QuantileRule : public ShareRule {
 public:
  QuantileRule() : ShareRule(/*by_value=*/false) {}
  std::string_view kind() const override { return "quantile"; }
  absl::Status Compile(const v1::TierScheme& t, const std::string& field,
                       CompiledScheme& s) const override {
    s.boundaries.assign(t.quantile().boundaries().begin(), t.quantile().boundaries().end());
    s.names.assign(t.quantile().names().begin(), t.quantile().names().end());
    TS_RETURN_IF_ERROR(CheckShares(absl::StrCat(field, ".quantile"), s.boundaries));
    return CheckNames(absl::StrCat(field, ".quantile"), s);
  }
};

// Absolute score minimums (airline-style qualification): the first tier
// whose minimum the score reaches. `boundaries` are the minimums.
class ThresholdsRule : public TierRule {
 public:
  std::string_view kind() const override { return "thresholds"; }
  absl::Status Compile(const v1::TierScheme& t, const std::string& field,
                       CompiledScheme& s) const override {
    s.boundaries.assign(t.thresholds().min_scores().begin(), t.thresholds().min_scores().end());
    s.names.assign(t.thresholds().names().begin(), t.thresholds().names().end());
    if (s.boundaries.empty()) {
      return FieldError(absl::StrCat(field, ".thresholds.min_scores"), "at least one is required");
    }
    for (size_t k = 0; k < s.boundaries.size(); ++k) {
      if (!std::isfinite(s.boundaries[k]) || (k > 0 && !(s.boundaries[k] < s.boundaries[k - 1]))) {
        return FieldError(absl::StrCat(field, ".thresholds.min_scores[", k, "]"),
                          "min_scores must be finite and strictly decreasing");
      }
    }
    return CheckNames(absl::StrCat(field, ".thresholds"), s);
  }
  int CutCount(const std::vector<double>&) const override { return 0; }
  std::vector<CutTarget> CutTargets(const std::vector<double>&, int64_t, int128) const override {
    return {};
  }
  int Tier(const std::vector<double>& boundaries, double score,
           absl::FunctionRef<bool(int)>) const override {
    return ThresholdTier(boundaries, score);
  }
  double GapToNextTier(const std::vector<double>& boundaries, int tier, double score,
                       absl::FunctionRef<double(int)>) const override {
    return boundaries[static_cast<size_t>(tier - 1)] - score;
  }
};

}  // namespace

const TierRule* RuleFor(const v1::TierScheme& proto) {
  static const ParetoRule pareto;
  static const AbcRule abc;
  static const QuantileRule quantile;
  static const ThresholdsRule thresholds;
  switch (proto.scheme_case()) {
    case v1::TierScheme::kPareto:
      return &pareto;
    case v1::TierScheme::kAbc:
      return &abc;
    case v1::TierScheme::kQuantile:
      return &quantile;
    case v1::TierScheme::kThresholds:
      return &thresholds;
    default:
      return nullptr;
  }
}

std::string RuleKinds() { return "pareto, abc, quantile or thresholds"; }

}  // namespace tierscore::engine
