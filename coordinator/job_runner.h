#ifndef TIERSCORE_COORDINATOR_JOB_RUNNER_H_
#define TIERSCORE_COORDINATOR_JOB_RUNNER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/store.h"
#include "coordinator/cut_search.h"
#include "coordinator/fan_out.h"
#include "coordinator/worker_client.h"
#include "engine/duplicates.h"
#include "engine/int128.h"
#include "engine/job.h"
#include "engine/scoring.h"
#include "tierscore/v1/job.pb.h"

namespace tierscore::coordinator {

struct JobRunnerOptions {
  // Largest split when the spec sets none; smaller ones are chosen so that
  // each load lane gets about four splits (at least 4 MiB each).
  int64_t split_bytes = 64 << 20;
  // Most splits one job may be cut into (a tiny spec.split_bytes would
  // otherwise make millions); more is INVALID_ARGUMENT naming split_bytes.
  int64_t max_splits = 65536;
  // Most KPI groups (rows of the KPI table) a job may make; more is
  // RESOURCE_EXHAUSTED. 0: no limit (local runs).
  int64_t max_groups = 0;
  int load_calls_per_worker = 0;    // concurrent Load calls; <= 0: cores
  int export_calls_per_worker = 2;  // concurrent Export calls
  // A split's results larger than this come in pages (one message each).
  int64_t export_page_bytes = 256 << 20;
  int max_calls_per_job = 256;                      // worker calls in flight for one job
  absl::Duration call_timeout = absl::Minutes(10);  // per worker call
  CutSearchOptions cut_search{};
  // Where finished runs are published for lookups (borrowed; null: they
  // are not), and how long a replaced run stays readable.
  common::Store* store = nullptr;
  absl::Duration run_retention = absl::Minutes(30);
  // Records of a run whose publication never completes (Redis failed
  // mid-way, the coordinator died) expire after this.
  absl::Duration unpublished_ttl = absl::Hours(24);
  // Publishes to one alias are a compare-and-set of the alias against the
  // run the job was assigned against; a job that loses the race is assigned
  // again against the new run, up to this many attempts in all, and then
  // its publication fails ABORTED.
  int publish_attempts = 5;
};

struct JobProgress {
  std::string phase;  // plan, load, check_ids, score, search, locate, assign, publish, done
  int splits_done = 0;
  int splits_total = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
};
using ProgressFn = std::function<void(const JobProgress&)>;

// How a job may be stopped from outside: both reach the worker calls in
// flight, not only the next call.
struct RunControl {
  // Cancelling it stops the job with CANCELLED (borrowed; may be null; must
  // outlive the call it is given to).
  CancelScope* cancel = nullptr;
  // Past it the job fails DEADLINE_EXCEEDED; no worker call outlives it.
  absl::Time deadline = absl::InfiniteFuture();
};

// A finished job: its result, and where its splits live for export.
struct JobOutcome {
  std::string job_id;
  v1::JobSpec spec;
  std::shared_ptr<const engine::CompiledJob> compiled;
  v1::JobResult result;
  std::vector<v1::Split> splits;
  std::vector<int> split_worker;  // split index -> index into the workers
  CutSearchStats search;

  // What a split moved to another worker is replayed with.
  std::vector<v1::CriterionParams> params;  // once scored
  std::vector<v1::SchemeCuts> cuts;         // once searched
  v1::Positions positions;                  // likewise
  std::optional<v1::RunMeta> prior;         // the alias's run assigned against
  // The alias's run id when it was read (also when that run's metadata is
  // gone; empty: no run): the alias switch expects to replace exactly it.
  std::string assigned_against;
  // Per scheme, customers and value (micro-units) per tier, once assigned.
  std::vector<std::pair<std::vector<int64_t>, std::vector<engine::int128>>> tier_totals;
  std::vector<bool> alive;  // per worker
  int recoveries = 0;       // workers lost or restarted
  // Of the job's phases (not of exporting results).
  std::shared_ptr<WorkerTraffic> traffic = std::make_shared<WorkerTraffic>();
};

// Runs a job in phases against workers (DESIGN.md §4): plan splits, load +
// stats, score, cut-point search, assign + aggregate, and with a store,
// publish (against the alias's current run: previous tiers, downgrade
// protection, migration). The same code runs local mode (in-process
// workers) and the cluster (gRPC workers).
//
// Worker loss. A worker whose call ends UNAVAILABLE or DEADLINE_EXCEEDED is
// taken out of the job; one that answers FAILED_PRECONDITION (it restarted
// and forgot its shards) stays. Either way its splits are loaded again (on
// live workers), replayed up to the last phase whose result for them was
// already merged (replayed results are dropped), and then take part in the
// phase in progress. Every split's result is merged exactly once, so the
// result equals a run without faults. With no live worker left the job
// fails UNAVAILABLE.
//
// Threads: the calling thread drives the job. Worker calls are asynchronous
// (FanOut): per worker at most `load_calls_per_worker` (load),
// `export_calls_per_worker` (export) or one (other phases) are in flight,
// and `max_calls_per_job` in all; their replies are merged on the calling
// thread. No thread is started per call or per worker.
//
// Thread-safe: Run may be called for several jobs at once. The workers are
// borrowed and must outlive the runner.
//
// Errors: INVALID_ARGUMENT for a bad spec or input (naming field or
// file:line:column), NOT_FOUND for missing files or columns, and the
// workers' statuses otherwise.
class JobRunner {
 public:
  static absl::StatusOr<std::unique_ptr<JobRunner>> Create(std::vector<WorkerClient*> workers,
                                                           const JobRunnerOptions& options);

  // Runs the job; `progress` is called from this thread. Cancelled through
  // `control`, it stops with CANCELLED once the calls in flight have
  // answered (they are cancelled too); the caller releases it.
  absl::StatusOr<JobOutcome> Run(const std::string& job_id, const v1::JobSpec& spec,
                                 const ProgressFn& progress = nullptr,
                                 const RunControl& control = {});

  // Assigns and publishes again a finished job whose splits the workers
  // still hold, for a publication that failed: against the alias's current
  // run, so the result's tiers, KPIs and migration are recomputed with it.
  // Every worker is tried anew (one lost during the job may be back). The
  // job's publication says how it went; errors are the workers'.
  absl::Status Republish(JobOutcome& outcome);

  // Streams the per-customer results of a finished job as CSV chunks (no
  // header), split by split in input order. Several splits are formatted at
  // once; `sink` is called from this thread only. `explain` adds each
  // criterion's contribution. Every worker is tried anew (one lost during
  // the job may be back); a lost worker's splits are rebuilt elsewhere
  // (which updates the outcome's placement). A split larger than
  // `export_page_bytes` is fetched in pages.
  absl::Status ExportResults(JobOutcome& outcome, bool explain,
                             const std::function<absl::Status(const std::string&)>& sink,
                             const RunControl& control = {});

  // What makes two jobs' results equal: the policy, KPI spec and alias, and
  // each input's path, size and modification time (asked of a worker, which
  // sees the files). Splitting is not part of it: it does not change results.
  // `cancel` (borrowed; may be null) cuts its calls short.
  absl::StatusOr<std::string> Fingerprint(const v1::JobSpec& spec, CancelScope* cancel = nullptr);

  // Frees the job's memory on every worker.
  void Release(const std::string& job_id);

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

  // The options of a job's calls; `short_calls` for calls that must not wait
  // long on a worker that hangs (release, fingerprint).
  CallPolicy Calls(const RunControl& control, WorkerTraffic* traffic,
                   bool short_calls = false) const;
  FanOut::Limits Limits(int per_worker) const { return {per_worker, options_.max_calls_per_job}; }
  int LoadCallsPerWorker() const;

  // The phases, in order.
  absl::StatusOr<std::vector<v1::Split>> PlanSplits(Job& job);
  // Sends each scan to a live worker (spread round robin), moving those of
  // a lost worker to another; `take(i, response)` takes request i's answer.
  // A scan's other errors (a missing file) are final, the first by request.
  absl::Status ScanOnLiveWorkers(
      Job& job, const std::vector<v1::ScanRequest>& requests,
      const std::function<absl::Status(size_t, const v1::ScanResponse&)>& take);
  // Scans the inputs' headers (checked against the job) on the workers.
  absl::StatusOr<std::vector<engine::CsvHeader>> ScanHeaders(Job& job);
  // Aligns `ranges` of one file to line starts, scanned on the workers.
  absl::StatusOr<std::vector<v1::Split>> AlignRanges(Job& job, const std::string& path,
                                                     const engine::CsvHeader& header,
                                                     const std::vector<engine::ByteRange>& ranges,
                                                     int first_index);
  void PlaceSplits(JobOutcome& outcome);
  // Loads every split, checks the ids for duplicates (engine/duplicates.h)
  // and, as the policy says, fails or loads again without later repeats;
  // returns the criteria statistics of what is loaded.
  absl::StatusOr<std::vector<engine::CriterionStatsAcc>> Load(Job& job);
  // Loads the splits not loaded yet into `per_split`; with `ids`, also takes
  // their ids, by the split that checks them.
  absl::Status LoadSplits(Job& job, std::vector<std::optional<v1::LoadResponse>>& per_split,
                          std::vector<std::vector<v1::IdList>>* ids);
  // Moves a Load reply's id lists into `ids` (by target), checking them.
  static absl::Status TakeIds(int32_t split, v1::LoadResponse& response,
                              std::vector<std::vector<v1::IdList>>& ids);
  // Hands each split's owner the ids it checks; the ids seen more than once.
  absl::StatusOr<std::vector<engine::DuplicateId>> CheckIds(
      Job& job, const std::vector<std::vector<v1::IdList>>& ids);
  // Marks the later rows of each duplicate skipped and loads their splits
  // again without them.
  absl::Status DropLaterRows(Job& job, const std::vector<engine::DuplicateId>& duplicates,
                             std::vector<std::optional<v1::LoadResponse>>& per_split);
  // "path row N" for people: N counts the file's data rows from 1.
  std::string Where(const Job& job, const std::vector<std::optional<v1::LoadResponse>>& per_split,
                    const engine::IdPlace& place) const;
  absl::StatusOr<ScoreTotals> Score(Job& job);
  absl::StatusOr<std::vector<v1::CutKey>> Search(Job& job, const ScoreTotals& totals);
  // Positions of customers from a fine score histogram (engine/position.h).
  absl::Status Locate(Job& job, const ScoreTotals& totals);
  // Reads the alias's current run, assigns against it, and publishes (see
  // kPublishAttempts); a dry run stops before publishing.
  absl::Status AssignAndPublish(Job& job);
  // Reads the alias's current run into outcome.prior; OK with no prior for
  // an alias without a run. Else the error, and no prior.
  absl::Status ReadCurrentRun(JobOutcome& outcome);
  absl::Status AssignAndAggregate(Job& job);
  // INTERNAL unless every reply has a total per scheme and tier.
  static absl::Status CheckAssigned(const engine::CompiledPolicy& policy,
                                    const std::vector<v1::AssignResponse>& assigned);
  // Splits on workers marked lost that still need phase `stage` are
  // rebuilt on live ones (UNAVAILABLE when none is left): a phase never
  // skips a split.
  absl::Status MoveOffLostWorkers(Job& job, int stage);
  // Never fails the job: a failure is reported in the publication
  // (error_code ABORTED when the alias moved since it was read).
  v1::Publication Publish(Job& job);
  // Deletes what an attempt that failed before publishing wrote (logged;
  // if the store cannot be reached, the records expire by themselves).
  void DiscardRun(const std::string& run_id, const std::string& writer, int buckets);
  // Asks every live worker the same probes (see cut_search.h).
  absl::StatusOr<std::vector<v1::ProbeResult>> ProbeAll(Job& job,
                                                        const std::vector<v1::Probe>& probes);
  v1::AssignRequest AssignTemplate(const JobOutcome& outcome) const;

  // Recovery (see the class comment). `merged[s]` is the last phase whose
  // result for split s has been merged.
  enum Stage { kPlanned = 0, kLoaded, kChecked, kScored, kAssigned, kPublished };
  // OK when the failure of worker `w` with `status` can be recovered from
  // (and marks a lost worker dead); the error to fail the job with if not.
  // A job cancelled or past its deadline fails with that, whatever the call.
  absl::Status OnWorkerFailure(JobOutcome& outcome, const RunControl& control, size_t w,
                               const absl::Status& status);
  // Moves the splits of dead worker `w` to live workers (or keeps them on a
  // live `w`) and rebuilds them there up to merged[split].
  absl::Status Rebuild(JobOutcome& outcome, const RunControl& control, size_t w,
                       const std::vector<int>& merged);
  // Replays split `s` on its owner up to `stage` (replayed results dropped).
  absl::Status Replay(JobOutcome& outcome, const RunControl& control, int32_t s, int stage);
  // Sends `request(splits)` to every live worker for its splits not yet
  // merged at `stage`, recovering from lost workers, and returns the
  // successful responses; marks the covered splits merged.
  template <typename Request, typename Response>
  absl::StatusOr<std::vector<Response>> RunPhase(
      Job& job, Stage stage, WorkerMethod<Request, Response> method,
      const std::function<Request(const std::vector<int32_t>&)>& request);
  std::vector<int32_t> SplitsOn(const JobOutcome& outcome, size_t w) const;

  std::vector<WorkerClient*> workers_;
  JobRunnerOptions options_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_JOB_RUNNER_H_
