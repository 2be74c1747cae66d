#ifndef TIERSCORE_COORDINATOR_GRPC_WORKER_CLIENT_H_
#define TIERSCORE_COORDINATOR_GRPC_WORKER_CLIENT_H_

#include <memory>
#include <string>

#include "coordinator/worker_client.h"
#include "grpcpp/channel.h"
#include "tierscore/v1/worker.grpc.pb.h"

namespace tierscore::coordinator {

// WorkerClient over gRPC (callback API). Every call carries the deadline it
// is given; a call that misses it ends DEADLINE_EXCEEDED, and an unreachable
// worker UNAVAILABLE, which the job runner treats as "try another worker".
// Thread-safe.
class GrpcWorkerClient : public WorkerClient {
 public:
  // Connects lazily; `address` is "host:port" or any gRPC target.
  static std::unique_ptr<GrpcWorkerClient> Create(const std::string& address);

  std::string name() const override { return address_; }

  absl::StatusOr<v1::ScanResponse> Scan(const v1::ScanRequest& r, absl::Time deadline) override;
  absl::StatusOr<v1::LoadResponse> Load(const v1::LoadRequest& r, absl::Time deadline) override;
  absl::StatusOr<v1::ScoreResponse> Score(const v1::ScoreRequest& r, absl::Time deadline) override;
  absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& r, absl::Time deadline) override;
  absl::StatusOr<v1::AssignResponse> Assign(const v1::AssignRequest& r, absl::Time deadline) override;
  absl::StatusOr<v1::ExportResponse> Export(const v1::ExportRequest& r, absl::Time deadline) override;
  absl::StatusOr<v1::PublishResponse> Publish(const v1::PublishRequest& r,
                                              absl::Time deadline) override;
  absl::Status Release(const v1::ReleaseRequest& r, absl::Time deadline) override;

 private:
  GrpcWorkerClient(std::string address, std::shared_ptr<grpc::Channel> channel);

  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Worker::Stub> stub_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_GRPC_WORKER_CLIENT_H_
