#ifndef TIERSCORE_COORDINATOR_GRPC_WORKER_CLIENT_H_
#define TIERSCORE_COORDINATOR_GRPC_WORKER_CLIENT_H_

#include <memory>
#include <string>

#include "coordinator/worker_client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "tierscore/v1/worker.grpc.pb.h"

namespace tierscore::coordinator {

// WorkerClient over gRPC's callback API: one channel per worker, shared by
// the phases and the health checks. Every call carries the deadline it is
// given and registers with its cancel scope (ClientContext::TryCancel). A
// call that misses its deadline ends DEADLINE_EXCEEDED, and an unreachable
// worker UNAVAILABLE, which the job runner treats as "try another worker".
// Replies arrive on gRPC's threads. Thread-safe.
class GrpcWorkerClient : public WorkerClient {
 public:
  // Connects lazily; `address` is "host:port" or any gRPC target.
  // `credentials` and `args` come from common::MakeChannelCredentials
  // (shared by every worker's channel).
  static std::unique_ptr<GrpcWorkerClient> Create(
      const std::string& address, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
      grpc::ChannelArguments args);

  std::string name() const override { return address_; }

  void Scan(v1::ScanRequest r, const CallOptions& o, Reply<v1::ScanResponse> done) override;
  void Load(v1::LoadRequest r, const CallOptions& o, Reply<v1::LoadResponse> done) override;
  void CheckIds(v1::CheckIdsRequest r, const CallOptions& o,
                Reply<v1::CheckIdsResponse> done) override;
  void Score(v1::ScoreRequest r, const CallOptions& o, Reply<v1::ScoreResponse> done) override;
  void Probe(v1::ProbeRequest r, const CallOptions& o, Reply<v1::ProbeResponse> done) override;
  void Assign(v1::AssignRequest r, const CallOptions& o, Reply<v1::AssignResponse> done) override;
  void Export(v1::ExportRequest r, const CallOptions& o, Reply<v1::ExportResponse> done) override;
  void Publish(v1::PublishRequest r, const CallOptions& o,
               Reply<v1::PublishResponse> done) override;
  void Release(v1::ReleaseRequest r, const CallOptions& o,
               Reply<v1::ReleaseResponse> done) override;
  void Check(const CallOptions& o, absl::AnyInvocable<void(absl::Status)> done) override;

 private:
  GrpcWorkerClient(std::string address, std::shared_ptr<grpc::Channel> channel);

  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Worker::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_GRPC_WORKER_CLIENT_H_
