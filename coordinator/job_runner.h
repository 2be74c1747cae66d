#ifndef TIERSCORE_COORDINATOR_JOB_RUNNER_H_
#define TIERSCORE_COORDINATOR_JOB_RUNNER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/cut_search.h"
#include "coordinator/worker_client.h"
#include "engine/int128.h"
#include "engine/job.h"
#include "engine/scoring.h"
#include "tierscore/v1/job.pb.h"

namespace tierscore::coordinator {

struct JobRunnerOptions {
  // Largest split when the spec sets none; smaller ones are chosen so that
  // each load lane gets about four splits (at least 4 MiB each).
  int64_t split_bytes = 64 << 20;
  int load_calls_per_worker = 0;       // concurrent Load calls; <= 0: cores
  int export_calls_per_worker = 2;     // concurrent Export calls
  absl::Duration call_timeout = absl::Minutes(10);  // per worker call
  CutSearchOptions cut_search;
};

struct JobProgress {
  std::string phase;  // plan, load, score, search, assign, done
  int splits_done = 0;
  int splits_total = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
};
using ProgressFn = std::function<void(const JobProgress&)>;

// A finished job: its result, and where its splits live for export.
struct JobOutcome {
  std::string job_id;
  std::shared_ptr<const engine::CompiledJob> compiled;
  v1::JobResult result;
  std::vector<v1::Split> splits;
  std::vector<int> split_worker;  // split index -> index into the workers
  CutSearchStats search;
};

// Runs a job in phases against workers (DESIGN.md §4): plan splits, load +
// stats, score, cut-point search, assign + aggregate. The same code runs
// local mode (in-process workers) and the cluster (gRPC workers).
//
// Thread-safe: Run may be called for several jobs at once. The workers are
// borrowed and must outlive the runner.
//
// Errors: INVALID_ARGUMENT for a bad spec or input (naming field or
// file:line:column), NOT_FOUND for missing files or columns, and the
// workers' statuses otherwise.
class JobRunner {
 public:
  static absl::StatusOr<std::unique_ptr<JobRunner>> Create(
      std::vector<WorkerClient*> workers, const JobRunnerOptions& options);

  absl::StatusOr<JobOutcome> Run(const std::string& job_id, const v1::JobSpec& spec,
                                 const ProgressFn& progress = nullptr);

  // Streams the per-customer results of a finished job as CSV chunks (no
  // header), split by split in input order. Several splits are formatted at
  // once; `sink` is called from this thread only. `explain` adds each
  // criterion's contribution.
  absl::Status ExportResults(const JobOutcome& outcome, bool explain,
                             const std::function<absl::Status(const std::string&)>& sink);

  // Frees the job's memory on every worker.
  void Release(const std::string& job_id);

  // The header line of the results CSV for a job (with the trailing newline).
  static std::string ResultsHeader(const engine::CompiledJob& job, bool explain);

 private:
  struct Job;  // one running job: placement, progress, stats
  struct ScoreTotals {
    int64_t count = 0;
    engine::int128 value = 0;
    double min_score = 0;
    double max_score = 0;
  };

  JobRunner(std::vector<WorkerClient*> workers, const JobRunnerOptions& options)
      : workers_(std::move(workers)), options_(options) {}

  absl::Time Deadline() const { return absl::Now() + options_.call_timeout; }
  int LoadCallsPerWorker() const;

  // The phases, in order.
  absl::StatusOr<std::vector<v1::Split>> PlanSplits(const v1::JobSpec& spec,
                                                    const engine::CompiledJob& job);
  void PlaceSplits(Job& job);
  absl::StatusOr<std::vector<engine::CriterionStatsAcc>> Load(Job& job);
  absl::StatusOr<ScoreTotals> Score(Job& job, const std::vector<v1::CriterionParams>& params);
  absl::StatusOr<std::vector<v1::CutKey>> Search(Job& job, const ScoreTotals& totals);
  absl::Status AssignAndAggregate(Job& job, const std::vector<v1::CutKey>& cuts);

  // Runs fn(worker, its splits, index) for every worker holding splits of
  // the job, concurrently; the first error by index wins.
  absl::Status ForEachWorker(
      Job& job, const std::function<absl::Status(WorkerClient&, const std::vector<int32_t>&, size_t)>& fn);

  std::vector<WorkerClient*> workers_;
  JobRunnerOptions options_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_JOB_RUNNER_H_
