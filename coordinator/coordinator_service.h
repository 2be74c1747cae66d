#ifndef TIERSCORE_COORDINATOR_COORDINATOR_SERVICE_H_
#define TIERSCORE_COORDINATOR_COORDINATOR_SERVICE_H_

#include <string>
#include <string_view>

#include "common/metrics.h"
#include "coordinator/access.h"
#include "coordinator/call_slots.h"
#include "coordinator/dataset_store.h"
#include "coordinator/job_manager.h"
#include "coordinator/tier_lookup.h"
#include "tierscore/v1/coordinator.grpc.pb.h"

namespace tierscore::coordinator {

// The public Coordinator gRPC service (callback API): translates calls to
// JobManager and statuses once. Streams: WatchJob writes the job's state on
// every change (the latest one when the client is slower than the job) until
// a final state, at most every 250 ms unless the state or phase changes;
// StreamResults writes the results in messages of whole rows (CSV chunks of
// at most 1 MiB, or typed rows: ResultsChunker), pacing the export to the
// client.
//
// Lookups are answered by TierLookup: on the gRPC thread (one store round
// trip, sub-millisecond, bounded by the store's command timeout) or, with
// lanes, from its threads. PublishJob runs on a thread of its own.
//
// UploadDataset writes each chunk to its file from the gRPC thread that
// received it (DatasetStore).
//
// Every call is authorized first (coordinator/access.h): its bearer token
// is looked up in `tokens` (UNAUTHENTICATED) and its role checked against
// the call (PERMISSION_DENIED); without `tokens` every caller is an admin
// named "anonymous". Calls that change state (submit, cancel, publish,
// upload, delete) and every refusal are logged as "audit" events: caller,
// role, method, target, outcome (never the token).
//
// StreamResults and PublishJob each hold a thread while they run; `slots`
// bounds how many run at once, in all and per caller (RESOURCE_EXHAUSTED
// beyond). A results stream whose client takes no message for
// `stream_stall` is cancelled, giving its thread and slot back.
//
// `manager`, `lookup`, `datasets`, `tokens`, `rpc_metrics` and `slots` (all
// but the first may be null: no lookups, no datasets, no tokens, no
// metrics, no bound) are borrowed and must outlive the service.
class CoordinatorService final : public v1::Coordinator::CallbackService {
 public:
  CoordinatorService(JobManager* manager, TierLookup* lookup, DatasetStore* datasets,
                     const Tokens* tokens, common::RpcMetrics* rpc_metrics = nullptr,
                     CallSlots* slots = nullptr, absl::Duration stream_stall = absl::Minutes(2))
      : manager_(manager),
        lookup_(lookup),
        datasets_(datasets),
        tokens_(tokens),
        metrics_(rpc_metrics),
        slots_(slots),
        stream_stall_(stream_stall) {}

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
  grpc::ServerUnaryReactor* GetKpis(grpc::CallbackServerContext* ctx, const v1::GetKpisRequest* req,
                                    v1::KpiTable* resp) override;
  grpc::ServerUnaryReactor* PublishJob(grpc::CallbackServerContext* ctx,
                                       const v1::PublishJobRequest* req, v1::Job* resp) override;
  grpc::ServerWriteReactor<v1::ResultsChunk>* StreamResults(
      grpc::CallbackServerContext* ctx, const v1::StreamResultsRequest* req) override;
  grpc::ServerUnaryReactor* LookupTier(grpc::CallbackServerContext* ctx,
                                       const v1::LookupTierRequest* req,
                                       v1::LookupTierResponse* resp) override;
  grpc::ServerUnaryReactor* BatchLookupTier(grpc::CallbackServerContext* ctx,
                                            const v1::BatchLookupTierRequest* req,
                                            v1::BatchLookupTierResponse* resp) override;
  grpc::ServerReadReactor<v1::UploadDatasetRequest>* UploadDataset(grpc::CallbackServerContext* ctx,
                                                                   v1::Dataset* resp) override;
  grpc::ServerUnaryReactor* GetDataset(grpc::CallbackServerContext* ctx,
                                       const v1::GetDatasetRequest* req,
                                       v1::Dataset* resp) override;
  grpc::ServerUnaryReactor* ListDatasets(grpc::CallbackServerContext* ctx,
                                         const v1::ListDatasetsRequest* req,
                                         v1::ListDatasetsResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteDataset(grpc::CallbackServerContext* ctx,
                                          const v1::DeleteDatasetRequest* req,
                                          v1::DeleteDatasetResponse* resp) override;

 private:
  // Runs `call` (returning absl::StatusOr<Response>), times it, answers.
  template <typename Response, typename Fn>
  grpc::ServerUnaryReactor* Reply(const char* method, grpc::CallbackServerContext* ctx,
                                  Response* resp, Fn&& call);

  absl::Status NoStore() const {
    return absl::FailedPreconditionError("this coordinator has no store: runs are not published");
  }
  static absl::Status NoDatasets() {
    return absl::FailedPreconditionError("this coordinator keeps no datasets (no --data-dir)");
  }

  // The caller, allowed `needed` for `what`; a refusal is audited.
  absl::StatusOr<Caller> Authorize(grpc::CallbackServerContext* ctx, const char* method,
                                   Role needed, absl::string_view what) const;
  // Who may change job `id` (cancel, publish): its owner or an admin.
  absl::StatusOr<Caller> AuthorizeJobChange(grpc::CallbackServerContext* ctx, const char* method,
                                            const std::string& id, absl::string_view what) const;
  // A slot for a call that holds a thread (null without a bound). Callers
  // are told apart by token name, or by address without tokens.
  absl::StatusOr<std::unique_ptr<CallSlots::Slot>> TakeSlot(grpc::CallbackServerContext* ctx,
                                                            const Caller& caller);

  JobManager* manager_;
  TierLookup* lookup_;
  DatasetStore* datasets_;
  const Tokens* tokens_;
  common::RpcMetrics* metrics_;
  CallSlots* slots_;
  const absl::Duration stream_stall_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_COORDINATOR_SERVICE_H_
