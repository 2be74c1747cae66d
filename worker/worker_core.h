#ifndef TIERSCORE_WORKER_WORKER_CORE_H_
#define TIERSCORE_WORKER_WORKER_CORE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/data_roots.h"
#include "common/store.h"
#include "engine/csv.h"
#include "engine/job.h"
#include "engine/scoring.h"
#include "engine/thread_pool.h"
#include "tierscore/v1/worker.pb.h"

namespace tierscore::worker {

// Runs the phases of jobs (DESIGN.md §4) on the splits it is given, keeping
// each job's parsed shards in memory between phases until Release.
//
// The gRPC Worker service is a thin adapter over this class; the in-process
// worker client calls it directly. Every method is a pure function of its
// request and the shards it names, so re-running a phase is safe.
//
// Thread-safety: all methods may be called concurrently. Calls for different
// jobs are independent; the phases of one job must not run concurrently on
// the same split (the coordinator runs them in order).
//
// Errors: INVALID_ARGUMENT for bad input or specs (naming file, line,
// column), NOT_FOUND for unreadable files, FAILED_PRECONDITION when a phase
// names a job or split that is not loaded here (say, after a restart) or
// runs before the phase it needs: load the splits and retry.
class WorkerCore {
 public:
  struct Options {
    int threads = 0;  // <= 0: one per core
    // Where Publish writes records; borrowed, must outlive the core. Null:
    // Publish answers FAILED_PRECONDITION.
    common::Store* store = nullptr;
    // Where Scan and Load may read (common/data_roots.h); unconfined by
    // default. A path outside is PERMISSION_DENIED before it is opened.
    common::DataRoots data_roots{};
    // What one gzip input may decompress to; more is RESOURCE_EXHAUSTED.
    int64_t max_decompressed_bytes = engine::kDefaultMaxDecompressedBytes;
  };

  static std::unique_ptr<WorkerCore> Create(const Options& options);

  absl::StatusOr<v1::ScanResponse> Scan(const v1::ScanRequest& request);
  absl::StatusOr<v1::LoadResponse> Load(const v1::LoadRequest& request);
  // Stateless: needs no loaded job (engine/duplicates.h).
  absl::StatusOr<v1::CheckIdsResponse> CheckIds(const v1::CheckIdsRequest& request);
  absl::StatusOr<v1::ScoreResponse> Score(const v1::ScoreRequest& request);
  absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& request);
  absl::StatusOr<v1::AssignResponse> Assign(const v1::AssignRequest& request);
  absl::StatusOr<v1::ExportResponse> Export(const v1::ExportRequest& request);
  absl::StatusOr<v1::PublishResponse> Publish(const v1::PublishRequest& request);
  // Frees the job's memory. Unknown jobs are fine (idempotent).
  absl::StatusOr<v1::ReleaseResponse> Release(const v1::ReleaseRequest& request);

  // Jobs currently held (for tests and metrics).
  size_t JobCount() const;

  // Frees every job that has had no call for longer than `lease` (its
  // coordinator is gone or forgot it). Returns how many were freed.
  int ExpireIdle(absl::Duration lease);

 private:
  struct Shard;
  struct Job;

  explicit WorkerCore(const Options& options);

  absl::StatusOr<std::shared_ptr<Job>> FindJob(const std::string& id) const;
  // The shards named by `splits`, or FAILED_PRECONDITION.
  static absl::StatusOr<std::vector<std::shared_ptr<Shard>>> Shards(
      Job& job, const google::protobuf::RepeatedField<int32_t>& splits);

  engine::ThreadPool pool_;
  common::Store* const store_;
  const common::DataRoots data_roots_;
  const int64_t max_decompressed_bytes_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tierscore::worker

#endif  // TIERSCORE_WORKER_WORKER_CORE_H_
