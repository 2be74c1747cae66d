#include "client/coordinator_client.h"

#include "common/grpc_status.h"
#include "grpcpp/create_channel.h"

namespace tierscore::client {
namespace {

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

// Takes the response by reference: it is read only after the call filled it.
template <typename Response>
absl::StatusOr<Response> Result(const grpc::Status& status, Response& response) {
  if (!status.ok()) return common::FromGrpcStatus(status);
  return std::move(response);
}

}  // namespace

std::unique_ptr<CoordinatorClient> CoordinatorClient::Create(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return std::unique_ptr<CoordinatorClient>(new CoordinatorClient(v1::Coordinator::NewStub(
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args))));
}

absl::StatusOr<v1::Job> CoordinatorClient::Submit(const v1::JobSpec& spec) {
  v1::SubmitJobRequest req;
  *req.mutable_spec() = spec;
  v1::Job job;
  auto ctx = Context(call_timeout_);
  const grpc::Status status = stub_->SubmitJob(ctx.get(), req, &job);
  return Result(status, job);
}

absl::StatusOr<v1::Job> CoordinatorClient::Get(const std::string& id) {
  v1::GetJobRequest req;
  req.set_id(id);
  v1::Job job;
  auto ctx = Context(call_timeout_);
  const grpc::Status status = stub_->GetJob(ctx.get(), req, &job);
  return Result(status, job);
}

absl::StatusOr<v1::Job> CoordinatorClient::Cancel(const std::string& id) {
  v1::CancelJobRequest req;
  req.set_id(id);
  v1::Job job;
  auto ctx = Context(call_timeout_);
  const grpc::Status status = stub_->CancelJob(ctx.get(), req, &job);
  return Result(status, job);
}

absl::StatusOr<v1::ListJobsResponse> CoordinatorClient::List(const v1::ListJobsRequest& request) {
  v1::ListJobsResponse resp;
  auto ctx = Context(call_timeout_);
  const grpc::Status status = stub_->ListJobs(ctx.get(), request, &resp);
  return Result(status, resp);
}

absl::StatusOr<v1::Job> CoordinatorClient::Wait(
    const std::string& id, const std::function<void(const v1::Job&)>& on_update,
    absl::Duration timeout) {
  v1::WatchJobRequest req;
  req.set_id(id);
  auto ctx = Context(timeout);
  auto reader = stub_->WatchJob(ctx.get(), req);
  v1::Job job, last;
  bool any = false;
  while (reader->Read(&job)) {
    if (on_update) on_update(job);
    last = job;
    any = true;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return common::FromGrpcStatus(status);
  if (!any) return absl::InternalError(absl::StrCat("watch of job ", id, " ended without a state"));
  return last;
}

absl::StatusOr<v1::KpiTable> CoordinatorClient::Kpis(const std::string& id) {
  v1::GetKpisRequest req;
  req.set_id(id);
  v1::KpiTable table;
  auto ctx = Context(call_timeout_);
  const grpc::Status status = stub_->GetKpis(ctx.get(), req, &table);
  return Result(status, table);
}

absl::StatusOr<v1::Job> CoordinatorClient::Publish(const std::string& id, absl::Duration timeout) {
  v1::PublishJobRequest req;
  req.set_id(id);
  v1::Job job;
  auto ctx = Context(timeout);
  const grpc::Status status = stub_->PublishJob(ctx.get(), req, &job);
  return Result(status, job);
}

absl::StatusOr<v1::BatchLookupTierResponse> CoordinatorClient::BatchLookup(
    const std::string& alias_or_run, const std::vector<std::string>& ids, bool by_run) {
  v1::BatchLookupTierRequest req;
  by_run ? req.set_run_id(alias_or_run) : req.set_alias(alias_or_run);
  for (const std::string& id : ids) req.add_customer_ids(id);
  v1::BatchLookupTierResponse resp;
  auto ctx = Context(call_timeout_);
  const grpc::Status status = stub_->BatchLookupTier(ctx.get(), req, &resp);
  return Result(status, resp);
}

absl::Status CoordinatorClient::StreamResults(
    const std::string& id, bool explain,
    const std::function<absl::Status(const std::string&)>& sink, absl::Duration timeout) {
  v1::StreamResultsRequest req;
  req.set_id(id);
  req.set_explain(explain);
  auto ctx = Context(timeout);
  auto reader = stub_->StreamResults(ctx.get(), req);
  v1::ResultsChunk chunk;
  absl::Status sunk;
  while (reader->Read(&chunk)) {
    sunk = sink(chunk.csv());
    if (!sunk.ok()) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!sunk.ok()) return sunk;
  return common::FromGrpcStatus(status);
}

}  // namespace tierscore::client
