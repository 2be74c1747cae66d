#ifndef TIERSCORE_ENGINE_TIER_SCHEME_H_
#define TIERSCORE_ENGINE_TIER_SCHEME_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "engine/int128.h"
#include "tierscore/v1/policy.pb.h"

namespace tierscore::engine {

struct CompiledScheme;

// Tiers one scheme may have: workers keep a customer's tier in one byte.
inline constexpr int kMaxTiers = 256;

// One tier boundary for the distributed cut search to pin: the first
// customer, in the global order (score descending, then id), whose measure
// including itself reaches `threshold`.
struct CutTarget {
  bool by_value = true;  // value micro-units; false: customer count
  int128 threshold = 0;
};

// How one kind of tier scheme (Pareto, ABC, quantile, thresholds) reads its
// policy fields and assigns tiers. The only place that knows the kinds: the
// job runner, the worker and the reference ask a scheme's rule, never its
// kind. Adding a kind is one more TierRule in tier_scheme.cc, its message
// in policy.proto's TierScheme, and tests.
//
// Two families: cut rules place a customer by what comes before it in the
// global order (one cut per boundary, found by the search; the tier is the
// number of cuts it is past), score rules by its own score alone (no cut).
//
// Rules are stateless singletons; thread-safe.
class TierRule {
 public:
  virtual ~TierRule() = default;

  // The kind's name in policy files, e.g. "pareto".
  virtual std::string_view kind() const = 0;

  // Reads the kind's fields of `proto` into `scheme` (boundaries, names,
  // defaults), validated; INVALID_ARGUMENT naming `field`.
  virtual absl::Status Compile(const v1::TierScheme& proto, const std::string& field,
                               CompiledScheme& scheme) const = 0;

  // How many cuts the search must find: one per boundary, or none.
  virtual int CutCount(const std::vector<double>& boundaries) const = 0;

  // The cut each boundary needs in a base of `customers` whose values sum
  // to `value` micro-units; empty for a score rule.
  virtual std::vector<CutTarget> CutTargets(const std::vector<double>& boundaries,
                                            int64_t customers, int128 value) const = 0;

  // The tier of a customer with `score`; `past_cut(k)` says whether it is
  // past cut k (cut rules only ask it).
  virtual int Tier(const std::vector<double>& boundaries, double score,
                   absl::FunctionRef<bool(int)> past_cut) const = 0;

  // The score still needed to reach tier `tier - 1` (tier > 0);
  // `to_come_before(k)` is the score it takes to come before cut k (cut rules only ask).
  virtual double GapToNextTier(const std::vector<double>& boundaries, int tier, double score,
                               absl::FunctionRef<double(int)> to_come_before) const = 0;
};

// The rule for the kind a TierScheme message names; null when it names none.
const TierRule* RuleFor(const v1::TierScheme& proto);

// The kinds' names, for messages ("pareto, abc, quantile or thresholds").
std::string RuleKinds();

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_TIER_SCHEME_H_
