#include "tierscore/client.h"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/credentials.h"
#include "common/grpc_status.h"
#include "grpcpp/create_channel.h"

namespace tierscore::client {
namespace {

using common::FromGrpcStatus;

std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline, const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  if (deadline != absl::InfiniteDuration()) {
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  }
  return ctx;
}

bool Final(v1::JobState s) {
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED || s == v1::JOB_STATE_CANCELLED;
}

// The next backoff: doubled, capped, with up to 20% less at random so that
// clients do not retry in step.
absl::Duration Backoff(absl::Duration current, absl::Duration max) {
  const absl::Duration next = std::min(current * 2, max);
  const double jitter =
      0.8 + 0.2 * (static_cast<double>(absl::GetCurrentTimeNanos() % 1000) / 1000);
  return next * jitter;
}

std::string TierName(const v1::RunMeta::Scheme& scheme, int index) {
  return index >= 0 && index < scheme.tiers_size() ? scheme.tiers(index) : "";
}

CustomerTiers Resolve(const std::string& id, bool found, const v1::TierRecord& r,
                      const v1::RunMeta& run) {
  CustomerTiers out;
  out.customer_id = id;
  out.found = found;
  if (!found) return out;
  out.run_id = r.run_id().empty() ? run.run_id() : r.run_id();
  out.score = r.score();
  out.value = static_cast<double>(r.value_micros()) / 1e6;
  out.percentile = r.percentile();
  out.cum_before_share = r.cum_before_share();
  for (int s = 0; s < run.schemes_size(); ++s) {
    const v1::RunMeta::Scheme& scheme = run.schemes(s);
    SchemeTier t;
    t.scheme = scheme.name();
    t.tier = TierName(scheme, s < r.tiers_size() ? r.tiers(s) : -1);
    t.earned_tier = s < r.earned_tiers_size() ? TierName(scheme, r.earned_tiers(s)) : t.tier;
    t.compared = s < r.previous_tiers_size();
    t.previous_tier = t.compared ? TierName(scheme, r.previous_tiers(s)) : "";
    t.runs_below = s < r.runs_below_size() ? r.runs_below(s) : 0;
    t.gap_to_next_tier = s < r.gap_to_next_tier_size() ? r.gap_to_next_tier(s) : 0;
    out.tiers.push_back(std::move(t));
  }
  for (int c = 0; c < run.criteria_size() && c < r.contributions_size(); ++c) {
    out.contributions.emplace_back(run.criteria(c), r.contributions(c));
  }
  return out;
}

}  // namespace

absl::StatusOr<v1::ConfigText> ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  v1::ConfigText config;
  // The file's name, as a name the server takes (letters, digits, . _ - :).
  std::string name = path.substr(path.rfind('/') + 1).substr(0, 128);
  for (char& c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == ':';
    if (!ok) c = '_';
  }
  config.set_name(name.empty() ? "config" : name);
  config.set_text(text.str());
  return config;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const ClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("target: is required");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.keepalive)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  std::shared_ptr<grpc::ChannelCredentials> credentials = options.credentials;
  if (credentials == nullptr) {
    common::ChannelTls tls;
    tls.insecure = options.insecure;
    tls.files = {.cert = options.tls_cert, .key = options.tls_key, .ca = options.tls_ca};
    tls.server_name = options.tls_server_name;
    auto made = common::MakeChannelCredentials(tls, "client", &args);
    if (!made.ok()) return made.status();
    credentials = *std::move(made);
  }
  auto channel = grpc::CreateCustomChannel(options.target, credentials, args);
  return std::unique_ptr<Client>(new Client(options, v1::Coordinator::NewStub(channel)));
}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::Call(
    grpc::Status (v1::Coordinator::Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, bool retry, absl::Duration deadline) const {
  absl::Duration backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    Response response;
    auto ctx =
        Context(deadline == absl::ZeroDuration() ? options_.deadline : deadline, options_.token);
    const grpc::Status status = (stub_.get()->*method)(ctx.get(), request, &response);
    if (status.ok()) return response;
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      return absl::UnimplementedError(
          absl::StrCat(options_.target, " does not serve tierscore.v1.Coordinator",
                       status.error_message().empty() ? "" : ": ", status.error_message(),
                       " (is it a coordinator's address?)"));
    }
    if (!retry || status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        attempt >= options_.max_attempts) {
      return FromGrpcStatus(status);
    }
    absl::SleepFor(backoff);
    backoff = Backoff(backoff, options_.max_backoff);
  }
}

absl::StatusOr<Job> Client::Submit(const v1::JobSpec& spec) const {
  v1::SubmitJobRequest req;
  *req.mutable_spec() = spec;
  auto job = Call(&v1::Coordinator::Stub::SubmitJob, req, /*retry=*/false);
  if (!job.ok()) return job.status();
  return Job(this, job->id());
}

absl::StatusOr<v1::ListJobsResponse> Client::ListJobs(const v1::ListJobsRequest& request) const {
  return Call(&v1::Coordinator::Stub::ListJobs, request, /*retry=*/true);
}

absl::StatusOr<v1::Job> Job::Get() const {
  v1::GetJobRequest req;
  req.set_id(id_);
  return client_->Call(&v1::Coordinator::Stub::GetJob, req, /*retry=*/true);
}

absl::StatusOr<v1::Job> Job::Wait(const std::function<void(const v1::Job&)>& on_update,
                                  absl::Duration timeout) const {
  const absl::Time end =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  absl::Duration backoff = client_->options_.initial_backoff;
  v1::WatchJobRequest req;
  req.set_id(id_);
  while (true) {
    auto ctx = Context(end == absl::InfiniteFuture() ? absl::InfiniteDuration() : end - absl::Now(),
                       client_->options_.token);
    auto reader = client_->stub_->WatchJob(ctx.get(), req);
    v1::Job job;
    bool got_any = false;
    while (reader->Read(&job)) {
      got_any = true;
      if (on_update) on_update(job);
      if (Final(job.state())) {
        ctx->TryCancel();
        reader->Finish().ok();  // the job is final whatever the stream says
        return job;
      }
    }
    const grpc::Status status = reader->Finish();
    // The stream broke (say, the coordinator restarted): follow it again.
    const bool again =
        status.error_code() == grpc::StatusCode::UNAVAILABLE || (status.ok() && got_any);
    if (!again || absl::Now() + backoff >= end) {
      return status.ok() ? absl::UnavailableError(
                               absl::StrCat("watch of job ", id_, " ended before the job did"))
                         : FromGrpcStatus(status);
    }
    absl::SleepFor(backoff);
    backoff = Backoff(backoff, client_->options_.max_backoff);
  }
}

absl::StatusOr<v1::Job> Job::Cancel() const {
  v1::CancelJobRequest req;
  req.set_id(id_);
  return client_->Call(&v1::Coordinator::Stub::CancelJob, req, /*retry=*/true);
}

absl::StatusOr<v1::KpiTable> Job::Kpis() const {
  v1::GetKpisRequest req;
  req.set_id(id_);
  return client_->Call(&v1::Coordinator::Stub::GetKpis, req, /*retry=*/true);
}

absl::StatusOr<v1::Job> Job::Publish(absl::Duration timeout) const {
  v1::PublishJobRequest req;
  req.set_id(id_);
  return client_->Call(&v1::Coordinator::Stub::PublishJob, req, /*retry=*/false, timeout);
}

absl::Status Client::StreamResults(const std::string& id, bool explain, bool rows,
                                   const std::function<absl::Status(v1::ResultsChunk&)>& fn,
                                   absl::Duration timeout) const {
  v1::StreamResultsRequest req;
  req.set_id(id);
  req.set_explain(explain);
  req.set_rows(rows);
  auto ctx = Context(timeout, options_.token);
  auto reader = stub_->StreamResults(ctx.get(), req);
  v1::ResultsChunk chunk;
  absl::Status sunk;
  while (sunk.ok() && reader->Read(&chunk)) {
    sunk = fn(chunk);
    if (!sunk.ok()) ctx->TryCancel();
  }
  const grpc::Status status = reader->Finish();
  if (!sunk.ok()) return sunk;
  return FromGrpcStatus(status);
}

absl::Status Job::Rows(bool explain, const std::function<absl::Status(const v1::ResultRow&)>& fn,
                       ResultColumns* columns, absl::Duration timeout) const {
  bool first = true;
  return client_->StreamResults(
      id_, explain, /*rows=*/true,
      [&](v1::ResultsChunk& chunk) -> absl::Status {
        if (first && columns != nullptr) {
          columns->schemes.assign(chunk.schemes().begin(), chunk.schemes().end());
          columns->criteria.assign(chunk.criteria().begin(), chunk.criteria().end());
        }
        first = false;
        for (const v1::ResultRow& row : chunk.rows()) {
          absl::Status st = fn(row);
          if (!st.ok()) return st;
        }
        return absl::OkStatus();
      },
      timeout);
}

absl::Status Job::Csv(bool explain, const std::function<absl::Status(std::string_view)>& fn,
                      absl::Duration timeout) const {
  return client_->StreamResults(
      id_, explain, /*rows=*/false, [&](v1::ResultsChunk& chunk) { return fn(chunk.csv()); },
      timeout);
}

absl::StatusOr<std::vector<CustomerTiers>> Client::BatchLookup(
    const RunRef& run, const std::vector<std::string>& ids) const {
  v1::BatchLookupTierRequest req;
  req.set_alias(run.alias);
  req.set_run_id(run.run_id);
  for (const std::string& id : ids) req.add_customer_ids(id);
  auto resp = Call(&v1::Coordinator::Stub::BatchLookupTier, req, /*retry=*/true);
  if (!resp.ok()) return resp.status();
  std::vector<CustomerTiers> out;
  for (const auto& e : resp->entries()) {
    out.push_back(Resolve(e.customer_id(), e.found(), e.record(), resp->run()));
  }
  return out;
}

absl::StatusOr<CustomerTiers> Client::Lookup(const RunRef& run,
                                             const std::string& customer_id) const {
  v1::LookupTierRequest req;
  req.set_alias(run.alias);
  req.set_run_id(run.run_id);
  req.set_customer_id(customer_id);
  auto resp = Call(&v1::Coordinator::Stub::LookupTier, req, /*retry=*/true);
  if (!resp.ok()) return resp.status();
  return Resolve(customer_id, resp->found(), resp->record(), resp->run());
}

absl::StatusOr<v1::Dataset> Client::GetDataset(const std::string& name) const {
  v1::GetDatasetRequest req;
  req.set_name(name);
  return Call(&v1::Coordinator::Stub::GetDataset, req, /*retry=*/true);
}

absl::StatusOr<v1::ListDatasetsResponse> Client::ListDatasets() const {
  return Call(&v1::Coordinator::Stub::ListDatasets, v1::ListDatasetsRequest(), /*retry=*/true);
}

absl::Status Client::DeleteDataset(const std::string& name) const {
  v1::DeleteDatasetRequest req;
  req.set_name(name);
  return Call(&v1::Coordinator::Stub::DeleteDataset, req, /*retry=*/false).status();
}

absl::StatusOr<v1::Dataset> Client::UploadDataset(const std::string& name, const std::string& path,
                                                  const UploadOptions& options) const {
  std::ifstream probe(path, std::ios::binary | std::ios::ate);
  if (!probe) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  const int64_t total = probe.tellg();
  const bool gzip = options.gzip || absl::EndsWith(path, ".gz");
  // An unfinished upload of the same file resumes where it stands.
  int64_t offset = 0;
  auto existing = GetDataset(name);
  if (existing.ok() && !existing->complete() && !existing->uploading() &&
      existing->gzip() == gzip && existing->bytes() <= total) {
    offset = existing->bytes();
  }
  absl::Duration backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    auto uploaded = UploadFrom(name, path, gzip, offset, total, options);
    const absl::StatusCode code = uploaded.status().code();
    // ABORTED: the server still finishes the broken attempt, or holds more
    // than we thought; read where it stands again.
    const bool transient =
        code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDataLoss ||
        code == absl::StatusCode::kDeadlineExceeded || code == absl::StatusCode::kAborted;
    if (uploaded.ok() || !transient || attempt >= options.max_attempts) return uploaded;
    absl::SleepFor(backoff);
    backoff = Backoff(backoff, options_.max_backoff);
    // The server first takes in what reached it of the broken attempt.
    absl::StatusOr<v1::Dataset> where = GetDataset(name);
    for (int i = 0; i < 100 && where.ok() && where->uploading(); ++i) {
      absl::SleepFor(absl::Milliseconds(50));
      where = GetDataset(name);
    }
    if (where.ok() && !where->complete()) {
      offset = where->bytes();
    } else if (absl::IsNotFound(where.status())) {
      offset = 0;
    } else if (!where.ok()) {
      return where.status();
    } else {
      return where;  // complete: the last attempt finished after all
    }
  }
}

absl::StatusOr<v1::Dataset> Client::UploadFrom(const std::string& name, const std::string& path,
                                               bool gzip, int64_t offset, int64_t total,
                                               const UploadOptions& options) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  in.seekg(offset);
  v1::Dataset dataset;
  auto ctx = Context(absl::InfiniteDuration(), options_.token);
  auto writer = stub_->UploadDataset(ctx.get(), &dataset);
  v1::UploadDatasetRequest req;
  req.set_name(name);
  req.set_gzip(gzip);
  req.set_offset(offset);
  std::string buffer(std::max<size_t>(options.chunk_bytes, 1), '\0');
  int64_t sent = offset;
  bool open = true;
  do {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const size_t n = static_cast<size_t>(in.gcount());
    if (in.bad()) return absl::DataLossError(absl::StrCat("reading ", path));
    req.set_data(buffer.data(), n);
    req.set_crc32(static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(buffer.data()), static_cast<uInt>(n))));
    sent += static_cast<int64_t>(n);
    req.set_last(sent >= total || n == 0);
    open = writer->Write(req);
    if (open && options.on_progress) options.on_progress(sent, total);
    req.clear_name();
    req.clear_gzip();
    req.clear_offset();
  } while (open && !req.last());
  if (open) writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  if (!dataset.complete()) {
    return absl::UnavailableError(
        absl::StrCat("the upload of ", name, " stopped at byte ", dataset.bytes(), " of ", total));
  }
  return dataset;
}

}  // namespace tierscore::client
