#ifndef TIERSCORE_ENGINE_REFERENCE_H_
#define TIERSCORE_ENGINE_REFERENCE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/job.h"
#include "tierscore/v1/job.pb.h"
#include "tierscore/v1/record.pb.h"

namespace tierscore::engine {

// The oracle for tests: single-threaded and sort-based, written to be
// obviously right rather than fast. It shares with the real job only the
// definitions (expression evaluation, normalisation, scoring, value rounding,
// thresholds, metric formulas); ordering, tier assignment and grouping are
// done here independently, by a full sort and one pass per grouping set.
struct ReferenceResult {
  std::vector<std::string> ids;  // input order
  std::vector<double> scores;
  std::vector<int64_t> values;                   // micro-units
  std::vector<std::vector<int>> tiers;           // [scheme][row], after protection
  std::vector<std::vector<int>> earned_tiers;    // [scheme][row], before it
  std::vector<std::vector<int>> previous_tiers;  // [scheme][row], -1: new
  std::vector<std::vector<int>> runs_below;      // [scheme][row]
  // Exact positions in the global order (shares of customers and value
  // strictly before).
  std::vector<double> percentile;
  std::vector<double> cum_before_share;
  v1::JobResult result;  // kpis.migration when there is a prior run
};

// A previous run of the alias: its metadata and every record in it.
struct PriorRun {
  v1::RunMeta meta;
  std::map<std::string, v1::TierRecord> records;
};

// Reads every input file whole and runs the job.
// `prior` (may be null) is the alias's previous run.
absl::StatusOr<ReferenceResult> RunReference(const CompiledJob& job,
                                             const std::vector<std::string>& inputs,
                                             const PriorRun* prior = nullptr);

// Runs the job on an already parsed table (its columns as job.columns).
absl::StatusOr<ReferenceResult> RunReferenceOnTable(const CompiledJob& job, const Table& table,
                                                    const PriorRun* prior = nullptr);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_REFERENCE_H_
