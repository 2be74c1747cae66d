#ifndef TIERSCORE_COORDINATOR_WORKER_CLIENT_H_
#define TIERSCORE_COORDINATOR_WORKER_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tierscore/v1/worker.pb.h"

namespace tierscore::coordinator {

// The seam between the job logic and a worker: one method per phase. Two
// implementations: InProcessWorkerClient (local mode and tests) and, with
// the cluster, a gRPC client. The job code is the same for both.
//
// Every call carries a deadline. Implementations must be thread-safe; the
// job runner calls different workers concurrently. Status codes follow the
// worker's: UNAVAILABLE / DEADLINE_EXCEEDED mean "try elsewhere",
// FAILED_PRECONDITION means "reload the split", others are final.
class WorkerClient {
 public:
  virtual ~WorkerClient() = default;

  // A name for messages and logs, e.g. the address.
  virtual std::string name() const = 0;

  virtual absl::StatusOr<v1::ScanResponse> Scan(const v1::ScanRequest& request,
                                                absl::Time deadline) = 0;
  virtual absl::StatusOr<v1::LoadResponse> Load(const v1::LoadRequest& request,
                                                absl::Time deadline) = 0;
  virtual absl::StatusOr<v1::ScoreResponse> Score(const v1::ScoreRequest& request,
                                                  absl::Time deadline) = 0;
  virtual absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& request,
                                                  absl::Time deadline) = 0;
  virtual absl::StatusOr<v1::AssignResponse> Assign(const v1::AssignRequest& request,
                                                    absl::Time deadline) = 0;
  virtual absl::StatusOr<v1::ExportResponse> Export(const v1::ExportRequest& request,
                                                    absl::Time deadline) = 0;
  virtual absl::StatusOr<v1::PublishResponse> Publish(const v1::PublishRequest& request,
                                                      absl::Time deadline) = 0;
  virtual absl::Status Release(const v1::ReleaseRequest& request,
                               absl::Time deadline) = 0;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_WORKER_CLIENT_H_
