#include "coordinator/grpc_worker_client.h"

#include <functional>

#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "grpcpp/create_channel.h"

namespace tierscore::coordinator {
namespace {

// Starts one unary call through `start` and waits for its completion.
template <typename Response>
absl::StatusOr<Response> Call(
    absl::Time deadline,
    const std::function<void(grpc::ClientContext*, Response*, std::function<void(grpc::Status)>)>&
        start) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(deadline));
  Response response;
  grpc::Status status;
  absl::Notification done;
  start(&ctx, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (!status.ok()) return common::FromGrpcStatus(status);
  return response;
}

}  // namespace

std::unique_ptr<GrpcWorkerClient> GrpcWorkerClient::Create(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // a split's results can be large
  args.SetMaxSendMessageSize(-1);
  return std::unique_ptr<GrpcWorkerClient>(new GrpcWorkerClient(
      address, grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
}

GrpcWorkerClient::GrpcWorkerClient(std::string address, std::shared_ptr<grpc::Channel> channel)
    : address_(std::move(address)),
      channel_(std::move(channel)),
      stub_(v1::Worker::NewStub(channel_)) {}

#define TS_WORKER_CALL(Method, Request, Response)                                            \
  absl::StatusOr<v1::Response> GrpcWorkerClient::Method(const v1::Request& r,                \
                                                        absl::Time deadline) {               \
    return Call<v1::Response>(deadline, [&](grpc::ClientContext* ctx, v1::Response* resp,    \
                                            std::function<void(grpc::Status)> cb) {          \
      stub_->async()->Method(ctx, &r, resp, std::move(cb));                                  \
    });                                                                                      \
  }

TS_WORKER_CALL(Scan, ScanRequest, ScanResponse)
TS_WORKER_CALL(Load, LoadRequest, LoadResponse)
TS_WORKER_CALL(Score, ScoreRequest, ScoreResponse)
TS_WORKER_CALL(Probe, ProbeRequest, ProbeResponse)
TS_WORKER_CALL(Assign, AssignRequest, AssignResponse)
TS_WORKER_CALL(Export, ExportRequest, ExportResponse)
TS_WORKER_CALL(Publish, PublishRequest, PublishResponse)
#undef TS_WORKER_CALL

absl::Status GrpcWorkerClient::Release(const v1::ReleaseRequest& r, absl::Time deadline) {
  return Call<v1::ReleaseResponse>(deadline, [&](grpc::ClientContext* ctx,
                                                 v1::ReleaseResponse* resp,
                                                 std::function<void(grpc::Status)> cb) {
           stub_->async()->Release(ctx, &r, resp, std::move(cb));
         })
      .status();
}

}  // namespace tierscore::coordinator
