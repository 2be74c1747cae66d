#ifndef TIERSCORE_COORDINATOR_JOB_MANAGER_H_
#define TIERSCORE_COORDINATOR_JOB_MANAGER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/data_roots.h"
#include "common/store.h"
#include "coordinator/dataset_store.h"
#include "coordinator/job_runner.h"
#include "coordinator/job_spec.h"
#include "tierscore/v1/coordinator.pb.h"

namespace tierscore::coordinator {

struct JobManagerOptions {
  int max_running = 2;    // jobs run at once; the rest wait in the queue
  int max_queued = 1000;  // beyond this Submit answers RESOURCE_EXHAUSTED
  // Finished jobs whose per-customer results stay on the workers (for
  // StreamResults); older ones are released, keeping their summary and KPIs.
  int keep_results = 4;
  // Finished jobs remembered (in memory, in the job store and in the result
  // cache): the newest `keep_finished`, none submitted longer than
  // `keep_finished_for` ago. Older ones are forgotten (NOT_FOUND), so that
  // memory and the store stay flat over any number of jobs.
  int keep_finished = 1000;
  absl::Duration keep_finished_for = absl::Hours(24 * 7);
  // How long a job waits in the queue for a healthy worker before it fails
  // UNAVAILABLE.
  absl::Duration wait_for_workers = absl::Minutes(5);
  // A running job that has not finished this long after it started fails
  // DEADLINE_EXCEEDED; its worker calls never outlive it.
  absl::Duration job_timeout = absl::Hours(6);
  // Inputs are checked at submit (exists, readable, every column used):
  // the coordinator sees them where the workers do (coordinator/job_spec.h).
  bool check_inputs = true;
  // Uploaded datasets jobs may name (borrowed; null: none).
  DatasetStore* datasets = nullptr;
  // Where inputs may be read from (common/data_roots.h); unconfined by
  // default.
  common::DataRoots data_roots{};
  // How large a submitted job may be (coordinator/job_spec.h).
  JobLimits limits{};
  // A service keeps job records, so it bounds their KPI tables.
  JobRunnerOptions runner{.max_groups = 100000};
  // Called on every change of a job's state (for metrics), with the job
  // after the change and its state before (UNSPECIFIED for a new job).
  std::function<void(const v1::Job& job, v1::JobState previous)> on_state_change;
  // Called after a job's run was published as `alias` (to drop caches).
  std::function<void(const std::string& alias)> on_published;
  // Where jobs are kept across restarts (borrowed; null: in memory only).
  // A new manager lists the jobs it finds there, serves their summaries and
  // KPIs, and runs again those that were queued or running when the last
  // one stopped. Writes are best effort: a store outage never fails a job.
  common::Store* job_store = nullptr;
  // At start, how long Create waits for the job store to answer (a Redis
  // still starting) before it fails UNAVAILABLE: a coordinator never serves
  // without its past and interrupted jobs.
  absl::Duration store_wait = absl::Minutes(2);
};

// The workers a job may use, healthy now; waits until there is one or the
// deadline passes (then empty). Clients stay valid while a job holds them.
using WorkerProvider =
    std::function<std::vector<std::shared_ptr<WorkerClient>>(absl::Time deadline)>;

// Owns the lifecycle of jobs: validation at submission, a queue, a bounded
// number of running jobs, progress, cancellation, and the results of
// finished jobs. The Coordinator gRPC service is a thin adapter over it.
//
// The result cache: a job whose inputs, policy, KPI spec and alias equal
// those of a succeeded job returns that job's result at once
// (Job.cached_from) unless its spec says no_cache; not a job whose
// publication failed (it should publish), and not one whose per-customer
// results were released unless the spec says summary_only. The cache is
// kept in the job store, so it outlives a restart (for summary_only jobs:
// per-customer results do not).
//
// Thread-safe. Job ids are unique within the process.
class JobManager {
 public:
  // Each job runs on the workers `provider` gives when it starts.
  static absl::StatusOr<std::unique_ptr<JobManager>> Create(WorkerProvider provider,
                                                            const JobManagerOptions& options);
  // A fixed set of workers, borrowed: they must outlive the manager.
  static absl::StatusOr<std::unique_ptr<JobManager>> Create(
      const std::vector<WorkerClient*>& workers, const JobManagerOptions& options);
  // Cancels running jobs and waits for them to stop.
  ~JobManager();

  // Prepares the spec (PrepareJobSpec: texts parsed, everything checked,
  // errors naming the field or input), queues the job and returns its state
  // at once. RESOURCE_EXHAUSTED when the queue is full.
  // `owner` (Job.owner) names who submitted it: the caller's token name.
  absl::StatusOr<v1::Job> Submit(const v1::JobSpec& submitted, const std::string& owner = "");
  absl::StatusOr<v1::Job> Get(const std::string& id) const;  // NOT_FOUND
  // Newest first (submission time, then id), without specs and results.
  std::vector<v1::Job> List() const;
  // A page of List, filtered: INVALID_ARGUMENT for a page size outside
  // [0, 1000] (0: 100), a token this manager did not make or a filter
  // state that is not a state.
  absl::StatusOr<v1::ListJobsResponse> List(const v1::ListJobsRequest& request) const;
  // Cancels a queued or running job; a finished job is returned unchanged.
  absl::StatusOr<v1::Job> Cancel(const std::string& id);

  // Calls `fn` with the job's state now and after every change, from the
  // thread making the change, until Unsubscribe. Returns a token.
  absl::StatusOr<int64_t> Subscribe(const std::string& id, std::function<void(const v1::Job&)> fn);
  void Unsubscribe(const std::string& id, int64_t token);

  // Publishes a succeeded job again whose publication failed, while its
  // per-customer results are kept (JobRunner::Republish); blocks until
  // done. A published job is returned unchanged. FAILED_PRECONDITION when
  // the job has not succeeded, has no store to publish to, or its results
  // were released.
  absl::StatusOr<v1::Job> Publish(const std::string& id);

  // FAILED_PRECONDITION until the job has succeeded.
  absl::StatusOr<v1::KpiTable> Kpis(const std::string& id) const;
  // The results CSV (header first), in input order from the workers while
  // they keep the job's results; after that (or after a restart), without
  // `explain`, from the job's published run while it lasts, in no
  // particular order. FAILED_PRECONDITION until the job has succeeded, and
  // when neither is left.
  absl::Status ExportResults(const std::string& id, bool explain,
                             const std::function<absl::Status(const std::string&)>& sink);

 private:
  struct Entry;
  struct Kept;
  struct Running;

  JobManager(WorkerProvider provider, const JobManagerOptions& options);
  void RunLoop();
  // A job's run, in steps: workers, the cache, the run, and its end.
  void Execute(const std::shared_ptr<Entry>& entry);
  // Waits for healthy workers and makes the job's runner; false (the job
  // finished as failed or cancelled) when there is none.
  bool AcquireWorkers(const std::shared_ptr<Entry>& entry, const std::string& id, Running& run);
  void ReportProgress(const std::shared_ptr<Entry>& entry, absl::Time started,
                      const JobProgress& progress);
  void FinishFailed(const std::shared_ptr<Entry>& entry, const absl::Status& status,
                    absl::Time started);
  void FinishSucceeded(const std::shared_ptr<Entry>& entry, Running run, JobOutcome outcome,
                       const absl::StatusOr<std::string>& fingerprint);
  // Keeps the job's results on the workers and takes the oldest kept ones
  // from their job; they are released on the workers when the returned
  // pointer (null if none) and every export using them are gone.
  std::shared_ptr<Kept> KeepResults(const std::shared_ptr<Entry>& entry);
  // Lists the job store's jobs, waiting up to store_wait for it to answer.
  absl::Status LoadJobs();
  // Queues the job's state for the saver thread (SaveLoop), which writes
  // each job's newest state in order: no call waits for the store, so a
  // slow or stopped Redis delays only the saving.
  void Persist(const v1::Job& job);
  void SaveLoop();
  // Forgets finished jobs beyond keep_finished / keep_finished_for.
  void ForgetOldJobs();
  // The job's kept results (null when released).
  static std::shared_ptr<Kept> KeptResults(const std::shared_ptr<Entry>& entry);
  // ExportResults from kept results.
  static absl::Status ExportKept(Kept& kept, bool explain,
                                 const std::function<absl::Status(const std::string&)>& sink);
  // ExportResults from the job's published run.
  absl::Status ExportPublished(const v1::Job& job, bool explain,
                               const std::function<absl::Status(const std::string&)>& sink);
  // Finishes `entry` as a copy of the cached job with this fingerprint, if
  // there is one (see the class comment).
  bool FinishFromCache(const std::shared_ptr<Entry>& entry, const std::string& fingerprint);
  // Applies `change` to the job and notifies its subscribers.
  void Update(const std::shared_ptr<Entry>& entry, const std::function<void(v1::Job&)>& change);
  std::shared_ptr<Entry> Find(const std::string& id) const;
  // INVALID_ARGUMENT for a malformed id (common/names.h), NOT_FOUND for an
  // unknown one.
  absl::StatusOr<std::shared_ptr<Entry>> FindJob(const std::string& id) const;

  const WorkerProvider provider_;
  const JobManagerOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> jobs_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Entry>> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Entry>> with_results_ ABSL_GUARDED_BY(mu_);
  // The result cache: a finished job by the fingerprint of what it ran.
  std::map<std::string, std::string> cache_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;

  // Job states waiting to be saved: the newest per job, oldest job first.
  absl::Mutex save_mu_;
  // A job's newest state, or nullopt: delete it (forgotten).
  std::map<std::string, std::optional<v1::Job>> to_save_ ABSL_GUARDED_BY(save_mu_);
  std::deque<std::string> save_order_ ABSL_GUARDED_BY(save_mu_);
  bool saving_stopped_ ABSL_GUARDED_BY(save_mu_) = false;
  std::thread saver_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_JOB_MANAGER_H_
