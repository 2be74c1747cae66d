#ifndef TIERSCORE_CLIENT_COORDINATOR_CLIENT_H_
#define TIERSCORE_CLIENT_COORDINATOR_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tierscore/v1/coordinator.grpc.pb.h"

namespace tierscore::client {

// A blocking client of the Coordinator service for the CLI and tests (the
// full SDK comes later). Every call has a deadline. Thread-safe.
class CoordinatorClient {
 public:
  static std::unique_ptr<CoordinatorClient> Create(const std::string& target);

  absl::StatusOr<v1::Job> Submit(const v1::JobSpec& spec);
  absl::StatusOr<v1::Job> Get(const std::string& id);
  absl::StatusOr<v1::Job> Cancel(const std::string& id);
  absl::StatusOr<v1::ListJobsResponse> List(const v1::ListJobsRequest& request = {});
  // Follows the job until it is final and returns its last state; calls
  // `on_update` with each state received.
  absl::StatusOr<v1::Job> Wait(const std::string& id,
                               const std::function<void(const v1::Job&)>& on_update,
                               absl::Duration timeout);
  absl::StatusOr<v1::KpiTable> Kpis(const std::string& id);
  // Publishes a job again whose publication failed (PublishJob).
  absl::StatusOr<v1::Job> Publish(const std::string& id, absl::Duration timeout);
  // Online lookups: by alias (the current run) or, with `by_run`, run id.
  absl::StatusOr<v1::BatchLookupTierResponse> BatchLookup(const std::string& alias_or_run,
                                                          const std::vector<std::string>& ids,
                                                          bool by_run = false);

  // The results CSV, header first, in chunks.
  absl::Status StreamResults(const std::string& id, bool explain,
                             const std::function<absl::Status(const std::string&)>& sink,
                             absl::Duration timeout);

 private:
  explicit CoordinatorClient(std::unique_ptr<v1::Coordinator::Stub> stub)
      : stub_(std::move(stub)) {}

  std::unique_ptr<v1::Coordinator::Stub> stub_;
  absl::Duration call_timeout_ = absl::Seconds(30);
};

}  // namespace tierscore::client

#endif  // TIERSCORE_CLIENT_COORDINATOR_CLIENT_H_
