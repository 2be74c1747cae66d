#ifndef TIERSCORE_COORDINATOR_WORKER_POOL_H_
#define TIERSCORE_COORDINATOR_WORKER_POOL_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/worker_client.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace tierscore::coordinator {

struct WorkerPoolOptions {
  // "host:port" is one worker; "dns:///name:port" is every address the name
  // resolves to (a Kubernetes headless Service), re-resolved periodically.
  std::vector<std::string> targets;
  absl::Duration check_interval = absl::Seconds(2);
  absl::Duration check_timeout = absl::Seconds(1);
  absl::Duration resolve_interval = absl::Seconds(10);
  int failures_to_drop = 2;  // consecutive failed checks before a worker is out
  // Called after every round of checks (for metrics).
  std::function<void(int healthy, int total)> on_checked;
};

// The seams a pool talks to the world through; the defaults use gRPC and
// getaddrinfo. Health checks go through the client (WorkerClient::Check),
// on the connection its phases use.
struct WorkerPoolSeams {
  std::function<std::shared_ptr<WorkerClient>(const std::string& address)> connect;
  // "name:port" -> "ip:port" addresses.
  std::function<absl::StatusOr<std::vector<std::string>>(const std::string& name_port)> resolve;
};
// gRPC workers reached with `credentials` and `args` (see
// common::MakeChannelCredentials).
WorkerPoolSeams DefaultWorkerPoolSeams(std::shared_ptr<grpc::ChannelCredentials> credentials,
                                       const grpc::ChannelArguments& args);

// Worker membership: resolves the targets, health-checks every member on a
// background thread (all at once, asynchronously, so a hung worker costs
// one timeout per round, not one per worker) and hands out the healthy
// ones. A worker that fails its
// checks is left out of new jobs and comes back when it passes again (a
// restarted worker under the same address rejoins). Clients are shared: a
// job keeps using the ones it was given even if the pool drops them.
//
// Thread-safe.
class WorkerPool {
 public:
  // INVALID_ARGUMENT without targets or with a malformed one.
  static absl::StatusOr<std::unique_ptr<WorkerPool>> Create(const WorkerPoolOptions& options,
                                                            WorkerPoolSeams seams);
  // Create's check of the targets alone: nothing is resolved or dialled.
  static absl::Status CheckTargets(const std::vector<std::string>& targets);
  ~WorkerPool();  // stops the background thread

  std::vector<std::shared_ptr<WorkerClient>> Healthy() const;
  // Healthy workers, waiting until there is one or `deadline` passes (then
  // the result is empty).
  std::vector<std::shared_ptr<WorkerClient>> WaitForHealthy(absl::Time deadline) const;

  struct Member {
    std::string address;
    bool healthy = false;
  };
  std::vector<Member> Members() const;

  // One round of resolution and checks, now (the background thread does the
  // same periodically). For tests and for a fresh start.
  void Refresh();

 private:
  struct Worker {
    std::shared_ptr<WorkerClient> client;
    bool healthy = false;
    int failures = 0;
  };

  WorkerPool(const WorkerPoolOptions& options, WorkerPoolSeams seams)
      : options_(options), seams_(std::move(seams)) {}
  void Resolve();
  void Check();
  void ReportChecked();
  void Loop();

  const WorkerPoolOptions options_;
  const WorkerPoolSeams seams_;
  mutable absl::Mutex mu_;
  std::map<std::string, Worker> workers_ ABSL_GUARDED_BY(mu_);  // by address
  absl::Time last_resolve_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_WORKER_POOL_H_
