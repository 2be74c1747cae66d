#ifndef TIERSCORE_WORKER_WORKER_SERVER_H_
#define TIERSCORE_WORKER_WORKER_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/credentials.h"
#include "common/health_listener.h"
#include "engine/thread_pool.h"
#include "grpcpp/server.h"
#include "worker/worker_core.h"
#include "worker/worker_service.h"

namespace tierscore::worker {

struct WorkerServerOptions {
  std::string listen = "127.0.0.1:0";  // port 0: any free port (see port())
  int threads = 0;                     // cores for phase work; <= 0: all
  int call_threads = 0;                // calls run at once; <= 0: 2 x threads
  // Requests are small (specs, splits, cuts); replies, a split's results,
  // can be large and are not limited.
  int max_request_bytes = 64 << 20;
  int64_t max_decompressed_bytes = engine::kDefaultMaxDecompressedBytes;
  // A job's shards are freed when no call for it came for this long.
  absl::Duration job_lease = absl::Minutes(30);
  std::string metrics_listen{};  // "host:port" for /metrics; empty: none
  // "host:port" of a plaintext listener serving only grpc.health.v1, for
  // probes without TLS (common/health_listener.h); empty: none.
  std::string health_listen{};
  // Where Publish writes records: a Redis address, or a store of the
  // caller's (borrowed; tests). Neither: Publish is FAILED_PRECONDITION.
  std::string redis{};
  std::string redis_password{};  // replaces one in `redis`
  common::Store* store = nullptr;
  // Serve gRPC server reflection (common/grpc_server.h).
  bool reflection = false;
  // TLS; in production mutual, accepting only the coordinator's client
  // certificate. Plaintext here for tests and embedding; the binary makes
  // its user choose.
  common::ServerTls tls = common::ServerTls::Plaintext();
  // Directories inputs may be read from (common/data_roots.h); empty:
  // anywhere the process can read.
  std::vector<std::string> data_roots{};
};

// A running worker: WorkerCore behind the Worker gRPC service, with the
// standard grpc.health.v1 service (SERVING until Shutdown) and, when asked
// for, server reflection. Thread-safe.
class WorkerServer {
 public:
  // CheckConfig's error when it fails (Create checks the same first);
  // UNAVAILABLE if an address cannot be bound.
  static absl::StatusOr<std::unique_ptr<WorkerServer>> Create(const WorkerServerOptions& options);
  // What Create checks before it binds or connects: the Redis address's
  // form, the data roots and the TLS files. The error names the setting.
  static absl::Status CheckConfig(const WorkerServerOptions& options);
  ~WorkerServer();  // Shutdown(zero grace)

  int port() const { return port_; }
  // "host:port" with the bound port.
  const std::string& address() const { return address_; }
  WorkerCore* core() const { return core_.get(); }
  int metrics_port() const { return metrics_ == nullptr ? 0 : metrics_->port(); }
  int health_port() const { return health_ == nullptr ? 0 : health_->port(); }

  // Reports NOT_SERVING (on the health listener too), stops accepting calls, lets calls in flight
  // finish for up to `grace`, then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

  // Blocks until the server has shut down, then stops the health listener.
  void Wait();

 private:
  WorkerServer() = default;

  std::unique_ptr<common::Store> owned_store_;
  std::unique_ptr<common::MetricsServer> metrics_;
  std::unique_ptr<WorkerMetrics> worker_metrics_;
  std::unique_ptr<WorkerCore> core_;
  std::unique_ptr<engine::ThreadPool> executor_;
  std::unique_ptr<WorkerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<common::HealthListener> health_;
  int port_ = 0;
  std::string address_;

  // Expires idle jobs every lease / 4.
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sweeper_;
};

}  // namespace tierscore::worker

#endif  // TIERSCORE_WORKER_WORKER_SERVER_H_
