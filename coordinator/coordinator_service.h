#ifndef TIERSCORE_COORDINATOR_COORDINATOR_SERVICE_H_
#define TIERSCORE_COORDINATOR_COORDINATOR_SERVICE_H_

#include "common/metrics.h"
#include "coordinator/job_manager.h"
#include "tierscore/v1/coordinator.grpc.pb.h"

namespace tierscore::coordinator {

// The public Coordinator gRPC service (callback API): translates calls to
// JobManager and statuses once. Streams: WatchJob writes the job's state on
// every change (the latest one when the client is slower than the job) until
// a final state; StreamResults writes the results CSV in chunks of at most
// 1 MiB, pacing the export to the client.
//
// `manager` and `rpc_metrics` (may be null) are borrowed and must outlive
// the service.
class CoordinatorService final : public v1::Coordinator::CallbackService {
 public:
  explicit CoordinatorService(JobManager* manager, common::RpcMetrics* rpc_metrics = nullptr)
      : manager_(manager), metrics_(rpc_metrics) {}

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* ctx,
                                      const v1::SubmitJobRequest* req, v1::Job* resp) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx, const v1::GetJobRequest* req,
                                   v1::Job* resp) override;
  grpc::ServerWriteReactor<v1::Job>* WatchJob(grpc::CallbackServerContext* ctx,
                                              const v1::WatchJobRequest* req) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx,
                                      const v1::CancelJobRequest* req, v1::Job* resp) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx,
                                     const v1::ListJobsRequest* req,
                                     v1::ListJobsResponse* resp) override;
  grpc::ServerUnaryReactor* GetKpis(grpc::CallbackServerContext* ctx,
                                    const v1::GetKpisRequest* req, v1::KpiTable* resp) override;
  grpc::ServerWriteReactor<v1::ResultsChunk>* StreamResults(
      grpc::CallbackServerContext* ctx, const v1::StreamResultsRequest* req) override;

 private:
  template <typename Response>
  grpc::ServerUnaryReactor* Reply(const char* method, grpc::CallbackServerContext* ctx,
                                  Response* resp, absl::StatusOr<Response> result);

  JobManager* manager_;
  common::RpcMetrics* metrics_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_COORDINATOR_SERVICE_H_
