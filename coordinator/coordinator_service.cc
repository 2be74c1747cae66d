#include "coordinator/coordinator_service.h"

#include <algorithm>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "coordinator/results_stream.h"

namespace tierscore::coordinator {
namespace {

using common::ToGrpcStatus;

bool Final(v1::JobState s) {
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED || s == v1::JOB_STATE_CANCELLED;
}

void Record(common::RpcMetrics* metrics, const char* method, const absl::Status& status,
            absl::Time start) {
  if (metrics != nullptr) {
    metrics->Record(method, common::StatusCodeName(static_cast<int>(status.code())),
                    absl::Now() - start);
  }
}

// An "audit" event: who did what to which target, and how it ended.
void Audit(const Caller* caller, grpc::CallbackServerContext* ctx, const char* method,
           const std::string& target, const absl::Status& outcome) {
  common::LogEvent(outcome.ok() ? spdlog::level::info : spdlog::level::warn, "audit",
                   {{"caller", caller == nullptr ? "(unauthenticated)" : caller->name},
                    {"role", caller == nullptr ? "" : RoleName(caller->role)},
                    {"peer", ctx->peer()},
                    {"method", method},
                    {"target", target.substr(0, common::kMaxNameLength)},
                    {"code", absl::StatusCodeToString(outcome.code())}});
}

// A streaming call refused before it started.
template <typename Reactor>
class Refused : public Reactor {
 public:
  explicit Refused(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

// Writes a job's state until it is final: every change of state or phase,
// and progress within a phase at most every kMinInterval (the latest).
class WatchReactor : public grpc::ServerWriteReactor<v1::Job> {
 public:
  WatchReactor(JobManager* manager, std::string id, common::RpcMetrics* metrics)
      : manager_(manager), id_(std::move(id)), metrics_(metrics) {
    auto token = manager_->Subscribe(id_, [this](const v1::Job& job) { OnUpdate(job); });
    if (!token.ok()) {
      absl::MutexLock lock(&mu_);
      finished_ = true;
      Finish(ToGrpcStatus(token.status()));
      return;
    }
    absl::MutexLock lock(&mu_);
    token_ = *token;
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (finished_) return;
    if (!ok || last_written_) {
      finished_ = true;
      Finish(ok ? grpc::Status::OK : grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    if (has_pending_ && Due()) WriteNext();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
  }

  void OnDone() override {
    int64_t token;
    {
      absl::MutexLock lock(&mu_);
      token = token_;
    }
    // After this no update can reach us (updates run under the job's lock).
    if (token != 0) manager_->Unsubscribe(id_, token);
    Record(metrics_, "WatchJob", token != 0 ? absl::OkStatus() : absl::NotFoundError(""), start_);
    delete this;
  }

 private:
  void OnUpdate(const v1::Job& job) {
    absl::MutexLock lock(&mu_);
    if (finished_ || last_written_) return;
    pending_ = job;
    pending_.clear_spec();
    has_pending_ = true;
    if (!writing_ && Due()) WriteNext();
  }

  // A new state or phase goes out at once; progress within one is
  // throttled.
  bool Due() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pending_.state() != current_.state() ||
           pending_.progress().phase() != current_.progress().phase() ||
           absl::Now() - last_write_ >= kMinInterval;
  }

  void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    current_ = std::move(pending_);
    has_pending_ = false;
    writing_ = true;
    last_written_ = Final(current_.state());
    last_write_ = absl::Now();
    StartWrite(&current_);
  }

  static constexpr absl::Duration kMinInterval = absl::Milliseconds(250);

  JobManager* const manager_;
  const std::string id_;
  common::RpcMetrics* const metrics_;
  const absl::Time start_ = absl::Now();
  absl::Mutex mu_;
  int64_t token_ ABSL_GUARDED_BY(mu_) = 0;
  v1::Job current_ ABSL_GUARDED_BY(mu_);  // the last written (state UNSPECIFIED: none)
  absl::Time last_write_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  v1::Job pending_ ABSL_GUARDED_BY(mu_);
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool last_written_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// Runs the export on a thread of its own, one chunk in flight at a time. A
// client that takes no chunk for `stall` has its call cancelled (it then
// sees CANCELLED): it would hold a thread and a slot for ever.
class ResultsReactor : public grpc::ServerWriteReactor<v1::ResultsChunk> {
 public:
  ResultsReactor(grpc::CallbackServerContext* ctx, JobManager* manager,
                 v1::StreamResultsRequest request, common::RpcMetrics* metrics,
                 std::unique_ptr<CallSlots::Slot> slot, absl::Duration stall)
      : ctx_(ctx),
        manager_(manager),
        request_(std::move(request)),
        metrics_(metrics),
        stall_(stall),
        slot_(std::move(slot)) {
    producer_ = std::thread([this] { Produce(); });
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) gone_ = true;
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    gone_ = true;
  }

  void OnDone() override {
    producer_.join();  // it has returned: Finish was its last act
    delete this;
  }

 private:
  void Produce() {
    ResultsChunker chunker(request_.rows(),
                           [this](v1::ResultsChunk& chunk) { return Write(chunk); });
    absl::Status st =
        manager_->ExportResults(request_.id(), request_.explain(),
                                [&chunker](const std::string& csv) { return chunker.Add(csv); });
    if (st.ok()) st = chunker.Finish();
    Record(metrics_, "StreamResults", st, start_);
    Finish(ToGrpcStatus(st));
  }

  // One message in flight: waits until the client has taken it.
  absl::Status Write(v1::ResultsChunk& chunk) {
    absl::MutexLock lock(&mu_);
    if (gone_) return absl::CancelledError("the client went away");
    chunk_ = std::move(chunk);
    writing_ = true;
    StartWrite(&chunk_);
    const bool taken =
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](ResultsReactor* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
                                   return !r->writing_ || r->gone_;
                                 },
                                 this),
                             stall_);
    if (!taken) {
      gone_ = true;
      ctx_->TryCancel();
      common::LogEvent(spdlog::level::warn, "results.stalled",
                       {{"job", request_.id()},
                        {"peer", ctx_->peer()},
                        {"seconds", absl::ToDoubleSeconds(stall_)}});
      return absl::DeadlineExceededError(absl::StrCat("the client took no results for ",
                                                      absl::FormatDuration(stall_),
                                                      " (--stream-stall-seconds)"));
    }
    if (gone_) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  }

  grpc::CallbackServerContext* const ctx_;  // gRPC's, valid until OnDone
  JobManager* const manager_;
  const v1::StreamResultsRequest request_;
  common::RpcMetrics* const metrics_;
  const absl::Duration stall_;
  const absl::Time start_ = absl::Now();
  absl::Mutex mu_;
  v1::ResultsChunk chunk_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  const std::unique_ptr<CallSlots::Slot> slot_;  // given back when done
  std::thread producer_;
};

// PublishJob: assigning and publishing again takes as long as those phases,
// so it runs on a thread of its own rather than the gRPC thread.
class PublishReactor : public grpc::ServerUnaryReactor {
 public:
  PublishReactor(JobManager* manager, std::string id, v1::Job* resp, common::RpcMetrics* metrics,
                 std::unique_ptr<CallSlots::Slot> slot)
      : manager_(manager),
        id_(std::move(id)),
        resp_(resp),
        metrics_(metrics),
        slot_(std::move(slot)) {
    worker_ = std::thread([this] {
      absl::StatusOr<v1::Job> job = manager_->Publish(id_);
      Record(metrics_, "PublishJob", job.status(), start_);
      if (job.ok()) *resp_ = std::move(*job);
      Finish(ToGrpcStatus(job.status()));
    });
  }

  void OnDone() override {
    worker_.join();  // it has returned: Finish was its last act
    delete this;
  }

 private:
  JobManager* const manager_;
  const std::string id_;
  v1::Job* const resp_;
  common::RpcMetrics* const metrics_;
  const absl::Time start_ = absl::Now();
  const std::unique_ptr<CallSlots::Slot> slot_;  // given back when done
  std::thread worker_;
};

// UploadDataset: the first message starts (or resumes) the upload, each
// message's data is appended as it arrives, `last` finishes it. A stream
// that ends without `last` keeps what arrived and answers the dataset as
// it stands (complete = false), so the client knows where to resume.
class UploadReactor : public grpc::ServerReadReactor<v1::UploadDatasetRequest> {
 public:
  // `audit` hears the dataset's name and the outcome before the client.
  using Audited = std::function<void(const std::string& name, const absl::Status& outcome)>;
  UploadReactor(DatasetStore* store, v1::Dataset* resp, common::RpcMetrics* metrics, Audited audit)
      : store_(store), resp_(resp), metrics_(metrics), audit_(std::move(audit)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side (or went away) before `last`
      if (upload_ == nullptr) return Done(absl::InvalidArgumentError("name: is required"));
      upload_.reset();  // kept for a resume, and no longer uploading
      auto partial = store_->Get(request_name_);
      if (!partial.ok()) return Done(partial.status());
      *resp_ = *std::move(partial);
      return Done(absl::OkStatus());
    }
    absl::Status st = Take();
    if (!st.ok()) return Done(st);
    if (request_.last()) {
      auto dataset = upload_->Finish();
      if (!dataset.ok()) return Done(dataset.status());
      *resp_ = *std::move(dataset);
      return Done(absl::OkStatus());
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Take() {
    if (upload_ == nullptr) {
      request_name_ = request_.name();
      auto upload = store_->Begin(request_.name(), request_.gzip(), request_.offset());
      if (!upload.ok()) return upload.status();
      upload_ = *std::move(upload);
    }
    return upload_->Append(request_.data(), request_.crc32());
  }

  void Done(const absl::Status& status) {
    // The upload lets go of the dataset before the client hears the end, so
    // that a retry right after it is not refused as a concurrent upload.
    upload_.reset();
    Record(metrics_, "UploadDataset", status, start_);
    audit_(request_name_, status);
    Finish(ToGrpcStatus(status));
  }

  DatasetStore* const store_;
  v1::Dataset* const resp_;
  common::RpcMetrics* const metrics_;
  const Audited audit_;
  const absl::Time start_ = absl::Now();
  v1::UploadDatasetRequest request_;
  std::string request_name_;
  std::unique_ptr<DatasetStore::Upload> upload_;
};

}  // namespace

absl::StatusOr<Caller> CoordinatorService::Authorize(grpc::CallbackServerContext* ctx,
                                                     const char* method, Role needed,
                                                     absl::string_view what) const {
  if (tokens_ == nullptr) return Caller{.name = "anonymous", .role = Role::kAdmin, .aliases = {}};
  const auto& metadata = ctx->client_metadata();
  const auto header = metadata.find("authorization");
  const std::string_view authorization =
      header == metadata.end() ? std::string_view()
                               : std::string_view(header->second.data(), header->second.size());
  absl::StatusOr<Caller> caller = tokens_->Authenticate(authorization);
  if (!caller.ok()) {
    Audit(nullptr, ctx, method, "", caller.status());
    return caller.status();
  }
  if (absl::Status st = Require(*caller, needed, what); !st.ok()) {
    Audit(&*caller, ctx, method, "", st);
    return st;
  }
  return caller;
}

absl::StatusOr<Caller> CoordinatorService::AuthorizeJobChange(grpc::CallbackServerContext* ctx,
                                                              const char* method,
                                                              const std::string& id,
                                                              absl::string_view what) const {
  TS_ASSIGN_OR_RETURN(Caller caller, Authorize(ctx, method, Role::kSubmitter, what));
  TS_ASSIGN_OR_RETURN(const v1::Job job, manager_->Get(id));
  absl::Status allowed = RequireOwner(caller, job.owner(), id, what);
  if (allowed.ok() && std::string_view(method) == "PublishJob" && !job.spec().no_publish()) {
    allowed = RequirePublish(caller, job.spec().alias());
  }
  if (!allowed.ok()) {
    Audit(&caller, ctx, method, id, allowed);
    return allowed;
  }
  return caller;
}

// Answers a unary call on the gRPC thread: the manager's calls take its
// locks only briefly and never wait on the store (its saver thread writes
// job states).
template <typename Response, typename Fn>
grpc::ServerUnaryReactor* CoordinatorService::Reply(const char* method,
                                                    grpc::CallbackServerContext* ctx,
                                                    Response* resp, Fn&& call) {
  const absl::Time start = absl::Now();  // before the call, so that it is timed
  absl::StatusOr<Response> result = call();
  Record(metrics_, method, result.status(), start);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (result.ok()) *resp = std::move(*result);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

grpc::ServerUnaryReactor* CoordinatorService::SubmitJob(grpc::CallbackServerContext* ctx,
                                                        const v1::SubmitJobRequest* req,
                                                        v1::Job* resp) {
  return Reply("SubmitJob", ctx, resp, [&]() -> absl::StatusOr<v1::Job> {
    TS_ASSIGN_OR_RETURN(const Caller caller,
                        Authorize(ctx, "SubmitJob", Role::kSubmitter, "submit jobs"));
    const v1::JobSpec& spec = req->spec();
    if (!spec.no_publish() && !spec.alias().empty()) {
      if (absl::Status st = RequirePublish(caller, spec.alias()); !st.ok()) {
        Audit(&caller, ctx, "SubmitJob", spec.alias(), st);
        return st;
      }
    }
    absl::StatusOr<v1::Job> job = manager_->Submit(spec, caller.name);
    Audit(&caller, ctx, "SubmitJob", job.ok() ? job->id() : spec.alias(), job.status());
    return job;
  });
}

grpc::ServerUnaryReactor* CoordinatorService::GetJob(grpc::CallbackServerContext* ctx,
                                                     const v1::GetJobRequest* req, v1::Job* resp) {
  return Reply("GetJob", ctx, resp, [&]() -> absl::StatusOr<v1::Job> {
    TS_RETURN_IF_ERROR(Authorize(ctx, "GetJob", Role::kReader, "read jobs").status());
    return manager_->Get(req->id());
  });
}

grpc::ServerWriteReactor<v1::Job>* CoordinatorService::WatchJob(grpc::CallbackServerContext* ctx,
                                                                const v1::WatchJobRequest* req) {
  if (auto caller = Authorize(ctx, "WatchJob", Role::kReader, "watch jobs"); !caller.ok()) {
    return new Refused<grpc::ServerWriteReactor<v1::Job>>(caller.status());
  }
  return new WatchReactor(manager_, req->id(), metrics_);
}

grpc::ServerUnaryReactor* CoordinatorService::CancelJob(grpc::CallbackServerContext* ctx,
                                                        const v1::CancelJobRequest* req,
                                                        v1::Job* resp) {
  return Reply("CancelJob", ctx, resp, [&]() -> absl::StatusOr<v1::Job> {
    TS_ASSIGN_OR_RETURN(const Caller caller,
                        AuthorizeJobChange(ctx, "CancelJob", req->id(), "cancel"));
    absl::StatusOr<v1::Job> job = manager_->Cancel(req->id());
    Audit(&caller, ctx, "CancelJob", req->id(), job.status());
    return job;
  });
}

grpc::ServerUnaryReactor* CoordinatorService::ListJobs(grpc::CallbackServerContext* ctx,
                                                       const v1::ListJobsRequest* req,
                                                       v1::ListJobsResponse* resp) {
  return Reply("ListJobs", ctx, resp, [&]() -> absl::StatusOr<v1::ListJobsResponse> {
    TS_RETURN_IF_ERROR(Authorize(ctx, "ListJobs", Role::kReader, "list jobs").status());
    return manager_->List(*req);
  });
}

grpc::ServerUnaryReactor* CoordinatorService::GetKpis(grpc::CallbackServerContext* ctx,
                                                      const v1::GetKpisRequest* req,
                                                      v1::KpiTable* resp) {
  return Reply("GetKpis", ctx, resp, [&]() -> absl::StatusOr<v1::KpiTable> {
    TS_RETURN_IF_ERROR(Authorize(ctx, "GetKpis", Role::kReader, "read KPIs").status());
    return manager_->Kpis(req->id());
  });
}

grpc::ServerUnaryReactor* CoordinatorService::PublishJob(grpc::CallbackServerContext* ctx,
                                                         const v1::PublishJobRequest* req,
                                                         v1::Job* resp) {
  auto caller = AuthorizeJobChange(ctx, "PublishJob", req->id(), "publish");
  if (!caller.ok()) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  auto slot = TakeSlot(ctx, *caller);
  Audit(&*caller, ctx, "PublishJob", req->id(), slot.status());
  if (!slot.ok()) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpcStatus(slot.status()));
    return reactor;
  }
  return new PublishReactor(manager_, req->id(), resp, metrics_, *std::move(slot));
}

grpc::ServerWriteReactor<v1::ResultsChunk>* CoordinatorService::StreamResults(
    grpc::CallbackServerContext* ctx, const v1::StreamResultsRequest* req) {
  auto caller = Authorize(ctx, "StreamResults", Role::kReader, "read results");
  if (!caller.ok()) return new Refused<grpc::ServerWriteReactor<v1::ResultsChunk>>(caller.status());
  auto slot = TakeSlot(ctx, *caller);
  if (!slot.ok()) return new Refused<grpc::ServerWriteReactor<v1::ResultsChunk>>(slot.status());
  return new ResultsReactor(ctx, manager_, *req, metrics_, *std::move(slot), stream_stall_);
}

absl::StatusOr<std::unique_ptr<CallSlots::Slot>> CoordinatorService::TakeSlot(
    grpc::CallbackServerContext* ctx, const Caller& caller) {
  if (slots_ == nullptr) return nullptr;
  if (tokens_ != nullptr) return slots_->Take(caller.name);
  // Without tokens everyone is "anonymous": tell clients apart by host.
  std::string peer = ctx->peer();
  if (const size_t colon = peer.rfind(':'); colon != std::string::npos) peer.resize(colon);
  return slots_->Take(peer);
}

grpc::ServerUnaryReactor* CoordinatorService::LookupTier(grpc::CallbackServerContext* ctx,
                                                         const v1::LookupTierRequest* req,
                                                         v1::LookupTierResponse* resp) {
  if (auto caller = Authorize(ctx, "LookupTier", Role::kReader, "look tiers up"); !caller.ok()) {
    return Reply("LookupTier", ctx, resp,
                 [&] { return absl::StatusOr<v1::LookupTierResponse>(caller.status()); });
  }
  if (lookup_ == nullptr) {
    return Reply("LookupTier", ctx, resp,
                 [&] { return absl::StatusOr<v1::LookupTierResponse>(NoStore()); });
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (!lookup_->has_lanes()) {
    // The hot path: answered here, straight into the response.
    const absl::Time start = absl::Now();
    const absl::Status st = lookup_->One(*req, resp);
    Record(metrics_, "LookupTier", st, start);
    reactor->Finish(ToGrpcStatus(st));
    return reactor;
  }
  lookup_->OneAsync(*req, [this, reactor, resp,
                           start = absl::Now()](absl::StatusOr<v1::LookupTierResponse> found) {
    Record(metrics_, "LookupTier", found.status(), start);
    if (found.ok()) *resp = std::move(*found);
    reactor->Finish(ToGrpcStatus(found.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* CoordinatorService::BatchLookupTier(grpc::CallbackServerContext* ctx,
                                                              const v1::BatchLookupTierRequest* req,
                                                              v1::BatchLookupTierResponse* resp) {
  if (auto caller = Authorize(ctx, "BatchLookupTier", Role::kReader, "look tiers up");
      !caller.ok()) {
    return Reply("BatchLookupTier", ctx, resp,
                 [&] { return absl::StatusOr<v1::BatchLookupTierResponse>(caller.status()); });
  }
  if (lookup_ == nullptr) {
    return Reply("BatchLookupTier", ctx, resp,
                 [&] { return absl::StatusOr<v1::BatchLookupTierResponse>(NoStore()); });
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  lookup_->BatchAsync(*req, [this, reactor, resp, start = absl::Now()](
                                absl::StatusOr<v1::BatchLookupTierResponse> found) {
    Record(metrics_, "BatchLookupTier", found.status(), start);
    if (found.ok()) *resp = std::move(*found);
    reactor->Finish(ToGrpcStatus(found.status()));
  });
  return reactor;
}

grpc::ServerReadReactor<v1::UploadDatasetRequest>* CoordinatorService::UploadDataset(
    grpc::CallbackServerContext* ctx, v1::Dataset* resp) {
  using Reader = grpc::ServerReadReactor<v1::UploadDatasetRequest>;
  auto caller = Authorize(ctx, "UploadDataset", Role::kSubmitter, "upload datasets");
  if (!caller.ok()) return new Refused<Reader>(caller.status());
  if (datasets_ == nullptr) return new Refused<Reader>(NoDatasets());
  return new UploadReactor(
      datasets_, resp, metrics_,
      [caller = *caller, ctx](const std::string& name, const absl::Status& st) {
        Audit(&caller, ctx, "UploadDataset", name, st);
      });
}

grpc::ServerUnaryReactor* CoordinatorService::GetDataset(grpc::CallbackServerContext* ctx,
                                                         const v1::GetDatasetRequest* req,
                                                         v1::Dataset* resp) {
  return Reply("GetDataset", ctx, resp, [&]() -> absl::StatusOr<v1::Dataset> {
    TS_RETURN_IF_ERROR(Authorize(ctx, "GetDataset", Role::kReader, "read datasets").status());
    if (datasets_ == nullptr) return NoDatasets();
    return datasets_->Get(req->name());
  });
}

grpc::ServerUnaryReactor* CoordinatorService::ListDatasets(grpc::CallbackServerContext* ctx,
                                                           const v1::ListDatasetsRequest* req,
                                                           v1::ListDatasetsResponse* resp) {
  return Reply("ListDatasets", ctx, resp, [&]() -> absl::StatusOr<v1::ListDatasetsResponse> {
    TS_RETURN_IF_ERROR(Authorize(ctx, "ListDatasets", Role::kReader, "list datasets").status());
    if (datasets_ == nullptr) return NoDatasets();
    v1::ListDatasetsResponse list;
    for (v1::Dataset& d : datasets_->List()) *list.add_datasets() = std::move(d);
    return list;
  });
}

grpc::ServerUnaryReactor* CoordinatorService::DeleteDataset(grpc::CallbackServerContext* ctx,
                                                            const v1::DeleteDatasetRequest* req,
                                                            v1::DeleteDatasetResponse* resp) {
  return Reply("DeleteDataset", ctx, resp, [&]() -> absl::StatusOr<v1::DeleteDatasetResponse> {
    TS_ASSIGN_OR_RETURN(const Caller caller,
                        Authorize(ctx, "DeleteDataset", Role::kSubmitter, "delete datasets"));
    if (datasets_ == nullptr) return NoDatasets();
    const absl::Status deleted = datasets_->Delete(req->name());
    Audit(&caller, ctx, "DeleteDataset", req->name(), deleted);
    TS_RETURN_IF_ERROR(deleted);
    return v1::DeleteDatasetResponse();
  });
}

}  // namespace tierscore::coordinator
