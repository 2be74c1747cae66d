#ifndef TIERSCORE_COORDINATOR_COORDINATOR_SERVER_H_
#define TIERSCORE_COORDINATOR_COORDINATOR_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/credentials.h"
#include "common/health_listener.h"
#include "common/metrics.h"
#include "common/store.h"
#include "coordinator/call_slots.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/grpc_worker_client.h"
#include "coordinator/job_manager.h"
#include "coordinator/worker_pool.h"
#include "grpcpp/server.h"

namespace tierscore::coordinator {

struct CoordinatorServerOptions {
  std::string listen = "127.0.0.1:0";  // port 0: any free port (see port())
  // Worker targets ("host:port" or "dns:///name:port") and health checks.
  WorkerPoolOptions pool;
  JobManagerOptions jobs;
  std::string metrics_listen{};  // "host:port" for /metrics; empty: none
  // "host:port" of a plaintext listener serving only grpc.health.v1, for
  // probes without TLS or tokens (common/health_listener.h); empty: none.
  std::string health_listen{};
  // Where runs are published and looked up: a Redis address (redis://...
  // or unix://...), or a store of the caller's (borrowed; tests). Neither:
  // runs are not published and lookups are FAILED_PRECONDITION.
  std::string redis{};
  std::string redis_password{};  // replaces one in `redis`
  common::Store* store = nullptr;
  TierLookupOptions lookup;
  // Where uploaded datasets are kept: a directory the workers see at the
  // same path. Empty: no datasets (UploadDataset is FAILED_PRECONDITION).
  std::string data_dir{};
  // Serve gRPC server reflection (common/grpc_server.h).
  bool reflection = false;
  // The API's TLS (client certificates optional), and the channels to the
  // workers (mutual TLS: files.cert is the coordinator's client
  // certificate). Plaintext here for tests and embedding; the binary makes
  // its user choose.
  common::ServerTls tls = common::ServerTls::Plaintext();
  common::ChannelTls worker_tls = common::ChannelTls::Plaintext();
  // Bearer tokens and their roles (coordinator/access.h). Empty: every
  // caller may do everything.
  std::string tokens_file{};
  // Directories inputs may be read from (common/data_roots.h); empty:
  // anywhere. Uploaded datasets (data_dir) are the coordinator's own.
  std::vector<std::string> data_roots{};
  int max_request_bytes = 4 << 20;  // gRPC's default; a spec is far smaller
  // Result streams and publications running at once (each holds a thread):
  // in all, and per client (token name, or address without tokens).
  int max_streams = 64;
  int max_streams_per_client = 8;
  // A results stream whose client takes no message for this long is
  // cancelled (its thread and slot come back).
  absl::Duration stream_stall_timeout = absl::Minutes(2);
};

// A running coordinator: JobManager over a health-checked WorkerPool of gRPC
// workers, behind the public Coordinator service, with grpc.health.v1
// (SERVING until Shutdown) and, when asked for, server reflection.
// Thread-safe.
class CoordinatorServer {
 public:
  // CheckConfig's error when it fails (Create checks the same first);
  // UNAVAILABLE if an address cannot be bound or the job store does not
  // answer within jobs.store_wait.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Create(
      const CoordinatorServerOptions& options);
  // What Create checks before it binds, connects or resolves anything:
  // the worker and Redis addresses' form, the data roots, the TLS files,
  // the tokens file, that the data dir can be written and the stream
  // limits. The error names the setting.
  static absl::Status CheckConfig(const CoordinatorServerOptions& options);
  ~CoordinatorServer();

  int port() const { return port_; }
  const std::string& address() const { return address_; }
  JobManager* jobs() const { return manager_.get(); }
  WorkerPool* workers() const { return pool_.get(); }
  int metrics_port() const { return metrics_ == nullptr ? 0 : metrics_->port(); }
  int health_port() const { return health_ == nullptr ? 0 : health_->port(); }

  // NOT_SERVING (on the health listener too), stop accepting calls, let calls in flight finish for
  // up to `grace`, then cancel the rest and stop running jobs. Idempotent.
  void Shutdown(absl::Duration grace);
  // Blocks until the server has shut down, then stops the health listener.
  void Wait();

 private:
  CoordinatorServer() = default;

  struct Metrics;
  std::unique_ptr<common::MetricsServer> metrics_;
  std::unique_ptr<Metrics> coordinator_metrics_;
  std::unique_ptr<common::Store> owned_store_;
  std::unique_ptr<DatasetStore> datasets_;
  std::unique_ptr<Tokens> tokens_;
  std::unique_ptr<TierLookup> lookup_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<CallSlots> slots_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<common::HealthListener> health_;
  int port_ = 0;
  std::string address_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_COORDINATOR_SERVER_H_
