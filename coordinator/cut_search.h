#ifndef TIERSCORE_COORDINATOR_CUT_SEARCH_H_
#define TIERSCORE_COORDINATOR_CUT_SEARCH_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/int128.h"
#include "engine/tier_scheme.h"
#include "tierscore/v1/worker.pb.h"

namespace tierscore::coordinator {

// One tier boundary to pin (engine/tier_scheme.h; see CutKey).
using CutTarget = engine::CutTarget;

struct CutSearchOptions {
  int score_bins = 1024;   // histogram bins per probe
  int fetch_limit = 4096;  // fetch the items of a range this small
  int sample = 256;        // ids sampled per round to split a tied score
  int max_rounds = 200;    // a safety net; the search converges long before
};

struct CutSearchStats {
  int rounds = 0;
  int64_t items_fetched = 0;
};

// Sends probes to every worker and returns, per probe, the results merged
// over all of them (bucket counts and values added, min/max combined,
// samples concatenated and sorted, items concatenated).
using ProbeFn =
    std::function<absl::StatusOr<std::vector<v1::ProbeResult>>(const std::vector<v1::Probe>&)>;

// Pins every target to an exact key by narrowing a key range per target:
// score histograms while the range spans several scores; for a range of one
// tied score, sampled ids split it by id; a range of at most fetch_limit
// customers is fetched and walked in order. Traffic per round is
// O(targets x bins) whatever the number of customers.
//
// `count`, `total_value`, `min_score` and `max_score` describe the whole
// base. INTERNAL if the workers' answers contradict each other (a split
// counted twice or lost).
absl::StatusOr<std::vector<v1::CutKey>> FindCuts(const std::vector<CutTarget>& targets,
                                                 int64_t count, engine::int128 total_value,
                                                 double min_score, double max_score,
                                                 const ProbeFn& probe,
                                                 const CutSearchOptions& options,
                                                 CutSearchStats* stats);

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_CUT_SEARCH_H_
