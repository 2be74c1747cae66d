#include "worker/worker_service.h"

#include "common/grpc_status.h"

namespace tierscore::worker {

template <typename Request, typename Response, typename Fn>
grpc::ServerUnaryReactor* WorkerService::Run(grpc::CallbackServerContext* ctx,
                                             const Request* req, Response* resp, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  executor_->Schedule([ctx, req, resp, reactor, fn = std::move(fn)] {
    if (ctx->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled before it ran"));
      return;
    }
    absl::StatusOr<Response> result = fn(*req);
    if (result.ok()) *resp = *std::move(result);
    reactor->Finish(common::ToGrpcStatus(result.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::Scan(grpc::CallbackServerContext* ctx,
                                              const v1::ScanRequest* req, v1::ScanResponse* resp) {
  return Run(ctx, req, resp, [this](const v1::ScanRequest& r) { return core_->Scan(r); });
}

grpc::ServerUnaryReactor* WorkerService::Load(grpc::CallbackServerContext* ctx,
                                              const v1::LoadRequest* req, v1::LoadResponse* resp) {
  return Run(ctx, req, resp, [this](const v1::LoadRequest& r) { return core_->Load(r); });
}

grpc::ServerUnaryReactor* WorkerService::Score(grpc::CallbackServerContext* ctx,
                                               const v1::ScoreRequest* req,
                                               v1::ScoreResponse* resp) {
  return Run(ctx, req, resp, [this](const v1::ScoreRequest& r) { return core_->Score(r); });
}

grpc::ServerUnaryReactor* WorkerService::Probe(grpc::CallbackServerContext* ctx,
                                               const v1::ProbeRequest* req,
                                               v1::ProbeResponse* resp) {
  return Run(ctx, req, resp, [this](const v1::ProbeRequest& r) { return core_->Probe(r); });
}

grpc::ServerUnaryReactor* WorkerService::Assign(grpc::CallbackServerContext* ctx,
                                                const v1::AssignRequest* req,
                                                v1::AssignResponse* resp) {
  return Run(ctx, req, resp, [this](const v1::AssignRequest& r) { return core_->Assign(r); });
}

grpc::ServerUnaryReactor* WorkerService::Export(grpc::CallbackServerContext* ctx,
                                                const v1::ExportRequest* req,
                                                v1::ExportResponse* resp) {
  return Run(ctx, req, resp, [this](const v1::ExportRequest& r) { return core_->Export(r); });
}

grpc::ServerUnaryReactor* WorkerService::Release(grpc::CallbackServerContext* ctx,
                                                 const v1::ReleaseRequest* req,
                                                 v1::ReleaseResponse* resp) {
  return Run(ctx, req, resp, [this](const v1::ReleaseRequest& r) -> absl::StatusOr<v1::ReleaseResponse> {
    absl::Status st = core_->Release(r);
    if (!st.ok()) return st;
    return v1::ReleaseResponse();
  });
}

}  // namespace tierscore::worker
