#include "coordinator/grpc_worker_client.h"

#include <functional>
#include <utility>

#include "common/grpc_status.h"
#include "grpcpp/create_channel.h"

namespace tierscore::coordinator {
namespace {

// One call in flight: kept alive by its completion and by its canceller, so
// that TryCancel never touches a finished context.
template <typename Request, typename Response>
struct GrpcCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

// Starts one unary call through `start(context, request, response, on_done)`
// with the options' deadline and cancellation, and replies through `done`.
template <typename Request, typename Response, typename Start>
void StartCall(Request request, const CallOptions& options, Reply<Response> done, Start&& start) {
  auto call = std::make_shared<GrpcCall<Request, Response>>();
  call->request = std::move(request);
  call->context.set_deadline(absl::ToChronoTime(options.deadline));
  CancelScope* scope = options.cancel;
  const CancelScope::Token token =
      scope == nullptr ? 0 : scope->Add([call] { call->context.TryCancel(); });
  // gRPC takes a copyable std::function: the reply is shared.
  auto reply = std::make_shared<Reply<Response>>(std::move(done));
  GrpcCall<Request, Response>* raw = call.get();
  start(&raw->context, &raw->request, &raw->response,
        [call, reply, scope, token](const grpc::Status& status) mutable {
          if (scope != nullptr) scope->Remove(token);
          absl::StatusOr<Response> result =
              status.ok() ? absl::StatusOr<Response>(std::move(call->response))
                          : common::FromGrpcStatus(status);
          // The context goes here, on gRPC's thread, before the caller hears
          // back (unless a canceller still runs): never after the caller may
          // have torn gRPC down.
          call.reset();
          Reply<Response> deliver = std::move(*reply);
          reply.reset();
          deliver(std::move(result));
        });
}

}  // namespace

std::unique_ptr<GrpcWorkerClient> GrpcWorkerClient::Create(
    const std::string& address, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    grpc::ChannelArguments args) {
  args.SetMaxReceiveMessageSize(-1);  // a split's results can be large
  args.SetMaxSendMessageSize(-1);
  // gRPC's reconnect backoff grows to 120 s: a worker restarted after a
  // while down would sit unused that long. Workers are few and near.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return std::unique_ptr<GrpcWorkerClient>(
      new GrpcWorkerClient(address, grpc::CreateCustomChannel(address, credentials, args)));
}

GrpcWorkerClient::GrpcWorkerClient(std::string address, std::shared_ptr<grpc::Channel> channel)
    : address_(std::move(address)),
      channel_(std::move(channel)),
      stub_(v1::Worker::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

#define TS_WORKER_CALL(Method, Request, Response)                                                \
  void GrpcWorkerClient::Method(v1::Request r, const CallOptions& o, Reply<v1::Response> done) { \
    StartCall<v1::Request, v1::Response>(                                                        \
        std::move(r), o, std::move(done),                                                        \
        [this](grpc::ClientContext* ctx, const v1::Request* req, v1::Response* resp,             \
               std::function<void(grpc::Status)> cb) {                                           \
          stub_->async()->Method(ctx, req, resp, std::move(cb));                                 \
        });                                                                                      \
  }

TS_WORKER_CALL(Scan, ScanRequest, ScanResponse)
TS_WORKER_CALL(Load, LoadRequest, LoadResponse)
TS_WORKER_CALL(CheckIds, CheckIdsRequest, CheckIdsResponse)
TS_WORKER_CALL(Score, ScoreRequest, ScoreResponse)
TS_WORKER_CALL(Probe, ProbeRequest, ProbeResponse)
TS_WORKER_CALL(Assign, AssignRequest, AssignResponse)
TS_WORKER_CALL(Export, ExportRequest, ExportResponse)
TS_WORKER_CALL(Publish, PublishRequest, PublishResponse)
TS_WORKER_CALL(Release, ReleaseRequest, ReleaseResponse)
#undef TS_WORKER_CALL

void GrpcWorkerClient::Check(const CallOptions& o, absl::AnyInvocable<void(absl::Status)> done) {
  using grpc::health::v1::HealthCheckRequest;
  using grpc::health::v1::HealthCheckResponse;
  StartCall<HealthCheckRequest, HealthCheckResponse>(
      HealthCheckRequest(), o,
      [done = std::move(done)](absl::StatusOr<HealthCheckResponse> r) mutable {
        if (!r.ok()) {
          done(r.status());
        } else if (r->status() != HealthCheckResponse::SERVING) {
          done(absl::UnavailableError("not serving"));
        } else {
          done(absl::OkStatus());
        }
      },
      [this](grpc::ClientContext* ctx, const HealthCheckRequest* req, HealthCheckResponse* resp,
             std::function<void(grpc::Status)> cb) {
        health_->async()->Check(ctx, req, resp, std::move(cb));
      });
}

}  // namespace tierscore::coordinator
