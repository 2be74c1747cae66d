#ifndef TIERSCORE_ENGINE_POLICY_H_
#define TIERSCORE_ENGINE_POLICY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/expr.h"
#include "engine/tier_scheme.h"
#include "tierscore/v1/policy.pb.h"

namespace tierscore::engine {

// The named strategy presets a policy can start from: market_share, profit,
// market_entry. NOT_FOUND for an unknown name.
absl::StatusOr<v1::Policy> PresetPolicy(const std::string& name);
std::vector<std::string> PresetNames();

// The policy with its preset applied (see Policy.preset in policy.proto).
absl::StatusOr<v1::Policy> ApplyPreset(const v1::Policy& policy);

struct CompiledCriterion {
  std::string name;
  std::shared_ptr<Expr> expr;
  v1::Normalization normalize = v1::NORMALIZATION_NONE;
  double weight = 0;
  bool lower_is_better = false;
};

// Downgrade protection of a scheme (policy.proto DowngradeProtection).
struct Protection {
  int max_drop = 0;      // tiers per run; 0: no limit
  int demote_after = 0;  // runs; 0 or 1: at once
  bool enabled() const { return max_drop > 0 || demote_after > 1; }
};

// A validated tier scheme: its rule (the kind, tier_scheme.h) and its
// fields. The helpers ask the rule.
struct CompiledScheme {
  std::string name;
  const TierRule* rule = nullptr;  // a singleton; never null once compiled
  std::vector<double> boundaries;  // shares, or min scores for thresholds
  std::vector<std::string> names;  // boundaries.size() + 1 tiers
  Protection protection;

  int CutCount() const { return rule->CutCount(boundaries); }
  std::vector<CutTarget> CutTargets(int64_t customers, int128 value) const {
    return rule->CutTargets(boundaries, customers, value);
  }
  int Tier(double score, absl::FunctionRef<bool(int)> past_cut) const {
    return rule->Tier(boundaries, score, past_cut);
  }
  double GapToNextTier(int tier, double score,
                       absl::FunctionRef<double(int)> to_come_before) const {
    return rule->GapToNextTier(boundaries, tier, score, to_come_before);
  }
};

// A validated policy with parsed expressions. Immutable once built, so it
// may be shared between threads.
struct CompiledPolicy {
  v1::Policy policy;  // with the preset applied
  std::string id_column;
  // duplicate_ids: keep_first (else a repeated id fails the job).
  bool keep_first = false;
  std::shared_ptr<Expr> value;
  std::vector<CompiledCriterion> criteria;
  std::vector<CompiledScheme> schemes;

  int SchemeIndex(const std::string& name) const;
};

// Applies the preset and validates everything but column existence (which
// needs the input header). INVALID_ARGUMENT naming the field, e.g.
// "criteria[1] (margin).expr: at column 7: unknown function 'lg'".
absl::StatusOr<CompiledPolicy> CompilePolicy(const v1::Policy& policy);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_POLICY_H_
