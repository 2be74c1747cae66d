#ifndef TIERSCORE_ENGINE_STANDING_H_
#define TIERSCORE_ENGINE_STANDING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/int128.h"
#include "engine/policy.h"
#include "tierscore/v1/aggregate.pb.h"
#include "tierscore/v1/job.pb.h"
#include "tierscore/v1/record.pb.h"

namespace tierscore::engine {

// A customer's place in one tier scheme across runs: the tier it holds and
// how many consecutive runs its score has earned a lower one.
struct Standing {
  int tier = 0;
  int runs_below = 0;
};

// Downgrade protection (policy.proto DowngradeProtection): the standing a
// customer gets whose score earns `earned`, given its standing in the
// previous run (null: new, or protection does not apply). Rising or staying
// is never held back; a fall waits `demote_after` consecutive runs, then
// goes at most `max_drop` tiers.
Standing Protect(const Protection& protection, int earned, const Standing* previous);

// How the current policy's schemes relate to the previous run of the alias
// (a RunMeta): per current scheme, the index of the previous run's scheme
// of the same name (-1: none) and whether protection applies (the scheme
// has it and the previous scheme has the same tiers).
struct PriorScheme {
  int index = -1;
  int tiers = 0;  // tiers of the previous run's scheme
  bool protect = false;
};
std::vector<PriorScheme> MatchPrior(const CompiledPolicy& policy, const v1::RunMeta& prior);

// The standing of a customer in scheme `prior.index` of its previous
// record.
inline Standing PriorStanding(const v1::TierRecord& record, int index) {
  Standing s;
  if (index >= 0 && index < record.tiers_size()) s.tier = record.tiers(index);
  if (index >= 0 && index < record.runs_below_size()) s.runs_below = record.runs_below(index);
  return s;
}

// The migration of one scheme as workers count it, mergeable: cells
// [from][to] with from = previous tier or `from_tiers` (new), and per
// previous tier the previous value of the customers found again, so that
// the coordinator can tell what was lost from the previous run's totals.
class MigrationAcc {
 public:
  MigrationAcc(int from_tiers, int to_tiers);

  void Add(int from, int to, int64_t value_micros, int64_t previous_value_micros, bool held);
  void AddNew(int to, int64_t value_micros);
  void Merge(const MigrationAcc& other);
  // INTERNAL for a state of another shape (a worker that matched the
  // previous run differently); nothing is merged then.
  absl::Status MergeProto(const v1::MigrationState& state);
  void ToProto(v1::MigrationState* out) const;

  // The matrix, with lost customers from the previous run's per-tier totals
  // (RunMeta.Scheme customers and value_micros). `to_names` are this run's
  // tiers.
  v1::Migration Finish(const std::string& scheme, const v1::RunMeta& prior, int prior_index,
                       const std::vector<std::string>& to_names) const;

 private:
  int from_tiers_;
  int to_tiers_;
  std::vector<int64_t> customers_;  // (from_tiers + 1) x to_tiers
  std::vector<int128> value_;
  std::vector<int128> found_previous_value_;  // per previous tier
  std::vector<int64_t> found_;                // per previous tier
  int64_t held_ = 0;
};

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_STANDING_H_
