#ifndef TIERSCORE_ENGINE_REFERENCE_H_
#define TIERSCORE_ENGINE_REFERENCE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/job.h"
#include "tierscore/v1/job.pb.h"

namespace tierscore::engine {

// The oracle for tests: single-threaded and sort-based, written to be
// obviously right rather than fast. It shares with the real job only the
// definitions (expression evaluation, normalisation, scoring, value rounding,
// thresholds, metric formulas); ordering, tier assignment and grouping are
// done here independently, by a full sort and one pass per grouping set.
struct ReferenceResult {
  std::vector<std::string> ids;  // input order
  std::vector<double> scores;
  std::vector<std::vector<int>> tiers;  // [scheme][row]
  v1::JobResult result;
};

// Reads every input file whole and runs the job.
absl::StatusOr<ReferenceResult> RunReference(const CompiledJob& job,
                                             const std::vector<std::string>& inputs);

// Runs the job on an already parsed table (its columns as job.columns).
absl::StatusOr<ReferenceResult> RunReferenceOnTable(const CompiledJob& job,
                                                    const Table& table);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_REFERENCE_H_
