#include "worker/worker_service.h"

#include "common/grpc_status.h"

namespace tierscore::worker {

WorkerMetrics::WorkerMetrics(prometheus::Registry& registry)
    : rpc(registry, "Worker"),
      rows_loaded(prometheus::BuildCounter()
                      .Name("tierscore_worker_rows_loaded_total")
                      .Help("Rows parsed from input splits")
                      .Register(registry)
                      .Add({})),
      bytes_read(prometheus::BuildCounter()
                     .Name("tierscore_worker_bytes_read_total")
                     .Help("Input bytes parsed")
                     .Register(registry)
                     .Add({})),
      jobs_held(prometheus::BuildGauge()
                    .Name("tierscore_worker_jobs")
                    .Help("Jobs whose shards this worker holds in memory")
                    .Register(registry)
                    .Add({})) {}

namespace {

template <typename Response>
void CountLoad(WorkerMetrics*, const Response&) {}

void CountLoad(WorkerMetrics* m, const v1::LoadResponse& r) {
  m->rows_loaded.Increment(static_cast<double>(r.rows()));
  m->bytes_read.Increment(static_cast<double>(r.bytes()));
}

}  // namespace

template <typename Request, typename Response, typename Fn>
grpc::ServerUnaryReactor* WorkerService::Run(const char* method, grpc::CallbackServerContext* ctx,
                                             const Request* req, Response* resp, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const absl::Time start = absl::Now();
  executor_->Schedule([this, method, start, ctx, req, resp, reactor, fn = std::move(fn)] {
    absl::StatusOr<Response> result =
        ctx->IsCancelled() ? absl::CancelledError("cancelled before it ran") : fn(*req);
    if (metrics_ != nullptr) {
      metrics_->rpc.Record(method, common::StatusCodeName(static_cast<int>(result.status().code())),
                           absl::Now() - start);
      if (result.ok()) CountLoad(metrics_, *result);
      metrics_->jobs_held.Set(static_cast<double>(core_->JobCount()));
    }
    if (result.ok()) *resp = std::move(*result);
    reactor->Finish(common::ToGrpcStatus(result.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::Scan(grpc::CallbackServerContext* ctx,
                                              const v1::ScanRequest* req, v1::ScanResponse* resp) {
  return Run("Scan", ctx, req, resp, [this](const v1::ScanRequest& r) { return core_->Scan(r); });
}

grpc::ServerUnaryReactor* WorkerService::Load(grpc::CallbackServerContext* ctx,
                                              const v1::LoadRequest* req, v1::LoadResponse* resp) {
  return Run("Load", ctx, req, resp, [this](const v1::LoadRequest& r) { return core_->Load(r); });
}

grpc::ServerUnaryReactor* WorkerService::CheckIds(grpc::CallbackServerContext* ctx,
                                                  const v1::CheckIdsRequest* req,
                                                  v1::CheckIdsResponse* resp) {
  return Run("CheckIds", ctx, req, resp,
             [this](const v1::CheckIdsRequest& r) { return core_->CheckIds(r); });
}

grpc::ServerUnaryReactor* WorkerService::Score(grpc::CallbackServerContext* ctx,
                                               const v1::ScoreRequest* req,
                                               v1::ScoreResponse* resp) {
  return Run("Score", ctx, req, resp,
             [this](const v1::ScoreRequest& r) { return core_->Score(r); });
}

grpc::ServerUnaryReactor* WorkerService::Probe(grpc::CallbackServerContext* ctx,
                                               const v1::ProbeRequest* req,
                                               v1::ProbeResponse* resp) {
  return Run("Probe", ctx, req, resp,
             [this](const v1::ProbeRequest& r) { return core_->Probe(r); });
}

grpc::ServerUnaryReactor* WorkerService::Assign(grpc::CallbackServerContext* ctx,
                                                const v1::AssignRequest* req,
                                                v1::AssignResponse* resp) {
  return Run("Assign", ctx, req, resp,
             [this](const v1::AssignRequest& r) { return core_->Assign(r); });
}

grpc::ServerUnaryReactor* WorkerService::Export(grpc::CallbackServerContext* ctx,
                                                const v1::ExportRequest* req,
                                                v1::ExportResponse* resp) {
  return Run("Export", ctx, req, resp,
             [this](const v1::ExportRequest& r) { return core_->Export(r); });
}

grpc::ServerUnaryReactor* WorkerService::Publish(grpc::CallbackServerContext* ctx,
                                                 const v1::PublishRequest* req,
                                                 v1::PublishResponse* resp) {
  return Run("Publish", ctx, req, resp,
             [this](const v1::PublishRequest& r) { return core_->Publish(r); });
}

grpc::ServerUnaryReactor* WorkerService::Release(grpc::CallbackServerContext* ctx,
                                                 const v1::ReleaseRequest* req,
                                                 v1::ReleaseResponse* resp) {
  return Run("Release", ctx, req, resp,
             [this](const v1::ReleaseRequest& r) { return core_->Release(r); });
}

}  // namespace tierscore::worker
