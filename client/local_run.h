#ifndef TIERSCORE_CLIENT_LOCAL_RUN_H_
#define TIERSCORE_CLIENT_LOCAL_RUN_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/job_runner.h"
#include "tierscore/v1/job.pb.h"

namespace tierscore::client {

// Local mode: the whole job in this process on all cores, through the same
// job code as the cluster (an in-process worker behind the WorkerClient
// seam). No servers, no Redis.
struct LocalRunOptions {
  std::vector<std::string> inputs;
  std::string policy_path;
  std::string kpis_path;      // empty: customers per tier of each scheme
  std::string results_path;   // empty: not written
  bool explain = false;       // results add each criterion's contribution
  std::string kpis_out_path;  // empty: not written
  int threads = 0;            // <= 0: one per core
  int64_t split_bytes = 0;    // <= 0: default
  coordinator::ProgressFn progress;
};

// Loads a policy and a KPI spec file (YAML or JSON) into a job spec.
absl::StatusOr<v1::JobSpec> LoadJobSpec(const std::vector<std::string>& inputs,
                                        const std::string& policy_path,
                                        const std::string& kpis_path);

// Runs the job and writes the outputs. Outputs are written atomically: on
// any error no output file is created or replaced.
absl::StatusOr<v1::JobResult> RunLocal(const LocalRunOptions& options);

}  // namespace tierscore::client

#endif  // TIERSCORE_CLIENT_LOCAL_RUN_H_
