#ifndef TIERSCORE_WORKER_WORKER_SERVICE_H_
#define TIERSCORE_WORKER_WORKER_SERVICE_H_

#include "common/metrics.h"
#include "engine/thread_pool.h"
#include "tierscore/v1/worker.grpc.pb.h"
#include "worker/worker_core.h"

namespace tierscore::worker {

// What a worker exports to Prometheus. Thread-safe.
struct WorkerMetrics {
  explicit WorkerMetrics(prometheus::Registry& registry);

  common::RpcMetrics rpc;
  prometheus::Counter& rows_loaded;
  prometheus::Counter& bytes_read;
  prometheus::Gauge& jobs_held;
};

// The Worker gRPC service: translates each call to a WorkerCore method and
// its status once. Phase work is CPU-bound and blocking, so it runs on
// `executor`, never on gRPC's callback threads. A call whose client has
// gone (cancelled, deadline passed) before its turn is not run.
//
// `core`, `executor` and `metrics` (may be null) are borrowed and must
// outlive the service.
class WorkerService final : public v1::Worker::CallbackService {
 public:
  WorkerService(WorkerCore* core, engine::ThreadPool* executor, WorkerMetrics* metrics = nullptr)
      : core_(core), executor_(executor), metrics_(metrics) {}

  grpc::ServerUnaryReactor* Scan(grpc::CallbackServerContext* ctx, const v1::ScanRequest* req,
                                 v1::ScanResponse* resp) override;
  grpc::ServerUnaryReactor* Load(grpc::CallbackServerContext* ctx, const v1::LoadRequest* req,
                                 v1::LoadResponse* resp) override;
  grpc::ServerUnaryReactor* CheckIds(grpc::CallbackServerContext* ctx,
                                     const v1::CheckIdsRequest* req,
                                     v1::CheckIdsResponse* resp) override;
  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* ctx, const v1::ScoreRequest* req,
                                  v1::ScoreResponse* resp) override;
  grpc::ServerUnaryReactor* Probe(grpc::CallbackServerContext* ctx, const v1::ProbeRequest* req,
                                  v1::ProbeResponse* resp) override;
  grpc::ServerUnaryReactor* Assign(grpc::CallbackServerContext* ctx, const v1::AssignRequest* req,
                                   v1::AssignResponse* resp) override;
  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* ctx, const v1::ExportRequest* req,
                                   v1::ExportResponse* resp) override;
  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* ctx, const v1::PublishRequest* req,
                                    v1::PublishResponse* resp) override;
  grpc::ServerUnaryReactor* Release(grpc::CallbackServerContext* ctx, const v1::ReleaseRequest* req,
                                    v1::ReleaseResponse* resp) override;

 private:
  // Runs fn(*req) on the executor and finishes the call with its result.
  template <typename Request, typename Response, typename Fn>
  grpc::ServerUnaryReactor* Run(const char* method, grpc::CallbackServerContext* ctx,
                                const Request* req, Response* resp, Fn fn);

  WorkerCore* core_;
  engine::ThreadPool* executor_;
  WorkerMetrics* metrics_;
};

}  // namespace tierscore::worker

#endif  // TIERSCORE_WORKER_WORKER_SERVICE_H_
