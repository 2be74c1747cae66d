#ifndef TIERSCORE_ENGINE_JOB_H_
#define TIERSCORE_ENGINE_JOB_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/csv.h"
#include "engine/int128.h"
#include "engine/kpi.h"
#include "engine/policy.h"
#include "tierscore/v1/job.pb.h"

namespace tierscore::engine {

// Everything a job needs to run: the compiled policy and KPI spec, and the
// input columns they read, each with the type its uses require. Immutable;
// share it between threads as shared_ptr<const CompiledJob>.
struct CompiledJob {
  CompiledPolicy policy;
  CompiledKpis kpis;
  std::vector<ColumnRequest> columns;
};

// INVALID_ARGUMENT naming the field on any problem, including a column used
// both as text and as a number.
// The deterministic bytes of what a job computes (its policy and KPI spec):
// equal keys give equal results on equal inputs. The worker keys compiled
// jobs by it; the coordinator's result cache adds the alias and inputs.
std::string ComputationKey(const v1::JobSpec& spec);

absl::StatusOr<std::shared_ptr<const CompiledJob>> CompileJob(const v1::Policy& policy,
                                                              const v1::KpiSpec& kpis);

// NOT_FOUND naming the file when a needed column is not in its header.
absl::Status CheckHeader(const CompiledJob& job, const std::string& path,
                         const std::vector<std::string>& header);

// Customers and value per tier of one scheme, as counted by whoever ran the
// job, turned into the summary the CLI prints. `values` in micro-units.
v1::TierSummary BuildTierSummary(const CompiledScheme& scheme,
                                 const std::vector<int64_t>& customers,
                                 const std::vector<int128>& values);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_JOB_H_
