#include "coordinator/coordinator_server.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/redis_client.h"
#include "common/redis_store.h"
#include "common/status_macros.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"

namespace tierscore::coordinator {

// What a coordinator exports to Prometheus. Thread-safe.
struct CoordinatorServer::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : rpc(r, "Coordinator"),
        jobs(prometheus::BuildGauge().Name("tierscore_jobs").Help("Jobs by state").Register(r)),
        phase_seconds(prometheus::BuildHistogram()
                          .Name("tierscore_job_phase_seconds")
                          .Help("Duration of each phase of succeeded jobs")
                          .Register(r)),
        rows_scored(prometheus::BuildCounter()
                        .Name("tierscore_rows_scored_total")
                        .Help("Customers classified by succeeded jobs")
                        .Register(r)
                        .Add({})),
        bytes_read(prometheus::BuildCounter()
                       .Name("tierscore_bytes_read_total")
                       .Help("Input bytes read by succeeded jobs")
                       .Register(r)
                       .Add({})),
        workers(prometheus::BuildGauge()
                    .Name("tierscore_workers")
                    .Help("Workers by health")
                    .Register(r)) {}

  void OnJob(const v1::Job& job, v1::JobState previous) {
    if (previous != v1::JOB_STATE_UNSPECIFIED) jobs.Add({{"state", State(previous)}}).Decrement();
    jobs.Add({{"state", State(job.state())}}).Increment();
    if (job.state() != v1::JOB_STATE_SUCCEEDED) return;
    static const prometheus::Histogram::BucketBoundaries kBuckets = {0.01, 0.05, 0.1, 0.5, 1,
                                                                     5,    10,   60,  300, 1800};
    for (const auto& p : job.result().stats().phases()) {
      phase_seconds.Add({{"phase", p.name()}}, kBuckets).Observe(p.seconds());
    }
    rows_scored.Increment(static_cast<double>(job.result().customers()));
    bytes_read.Increment(static_cast<double>(job.result().stats().bytes()));
  }

  void OnChecked(int healthy, int total) {
    workers.Add({{"state", "healthy"}}).Set(healthy);
    workers.Add({{"state", "unhealthy"}}).Set(total - healthy);
  }

  static std::string State(v1::JobState s) {
    std::string name = v1::JobState_Name(s).substr(sizeof("JOB_STATE_") - 1);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
  }

  common::RpcMetrics rpc;
  prometheus::Family<prometheus::Gauge>& jobs;
  prometheus::Family<prometheus::Histogram>& phase_seconds;
  prometheus::Counter& rows_scored;
  prometheus::Counter& bytes_read;
  prometheus::Family<prometheus::Gauge>& workers;
};

absl::Status CoordinatorServer::CheckConfig(const CoordinatorServerOptions& options) {
  TS_RETURN_IF_ERROR(WorkerPool::CheckTargets(options.pool.targets));
  if (!options.redis.empty()) TS_RETURN_IF_ERROR(common::ParseRedisAddress(options.redis).status());
  TS_RETURN_IF_ERROR(common::DataRoots::Create(options.data_roots).status());
  TS_RETURN_IF_ERROR(common::MakeServerCredentials(options.tls, "coordinator").status());
  grpc::ChannelArguments worker_args;
  TS_RETURN_IF_ERROR(
      common::MakeChannelCredentials(options.worker_tls, "workers", &worker_args).status());
  if (!options.tokens_file.empty()) TS_RETURN_IF_ERROR(Tokens::Load(options.tokens_file).status());
  if (!options.data_dir.empty()) TS_RETURN_IF_ERROR(DatasetStore::CheckWritable(options.data_dir));
  if (options.max_streams <= 0 || options.max_streams_per_client <= 0) {
    return absl::InvalidArgumentError("max-streams and max-streams-per-client must be positive");
  }
  if (options.stream_stall_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("stream-stall-seconds must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Create(
    const CoordinatorServerOptions& options) {
  TS_RETURN_IF_ERROR(CheckConfig(options));
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  WorkerPoolOptions pool_options = options.pool;
  JobManagerOptions job_options = options.jobs;
  std::vector<std::string> roots = options.data_roots;
  if (!options.data_dir.empty()) {
    TS_ASSIGN_OR_RETURN(s->datasets_, DatasetStore::Create(options.data_dir));
    job_options.datasets = s->datasets_.get();
    // Uploaded datasets are the coordinator's own: readable when confined.
    if (!roots.empty()) roots.push_back(s->datasets_->directory());
  }
  TS_ASSIGN_OR_RETURN(job_options.data_roots, common::DataRoots::Create(roots));
  if (!options.metrics_listen.empty()) {
    TS_ASSIGN_OR_RETURN(s->metrics_, common::MetricsServer::Create(options.metrics_listen));
    s->coordinator_metrics_ = std::make_unique<Metrics>(s->metrics_->registry());
    Metrics* m = s->coordinator_metrics_.get();
    pool_options.on_checked = [m](int healthy, int total) { m->OnChecked(healthy, total); };
    job_options.on_state_change = [m](const v1::Job& job, v1::JobState previous) {
      m->OnJob(job, previous);
    };
  }
  common::Store* store = options.store;
  if (store == nullptr && !options.redis.empty()) {
    common::RedisStoreOptions redis;
    redis.redis.address = options.redis;
    redis.redis.password = options.redis_password;
    TS_ASSIGN_OR_RETURN(s->owned_store_, common::RedisStore::Create(redis));
    store = s->owned_store_.get();
  }
  if (store != nullptr) {
    job_options.runner.store = store;
    job_options.job_store = store;
    s->lookup_ = std::make_unique<TierLookup>(store, options.lookup);
    TierLookup* lookup = s->lookup_.get();
    job_options.on_published = [lookup](const std::string& alias) { lookup->Invalidate(alias); };
  }
  TS_ASSIGN_OR_RETURN(auto server_credentials,
                      common::MakeServerCredentials(options.tls, "coordinator"));
  grpc::ChannelArguments worker_args;
  TS_ASSIGN_OR_RETURN(auto worker_credentials,
                      common::MakeChannelCredentials(options.worker_tls, "workers", &worker_args));
  TS_ASSIGN_OR_RETURN(
      s->pool_,
      WorkerPool::Create(pool_options, DefaultWorkerPoolSeams(worker_credentials, worker_args)));
  WorkerPool* pool = s->pool_.get();
  TS_ASSIGN_OR_RETURN(
      s->manager_,
      JobManager::Create([pool](absl::Time deadline) { return pool->WaitForHealthy(deadline); },
                         job_options));
  if (!options.tokens_file.empty()) {
    TS_ASSIGN_OR_RETURN(s->tokens_, Tokens::Load(options.tokens_file));
  }
  s->slots_ = std::make_unique<CallSlots>(options.max_streams, options.max_streams_per_client);
  s->service_ = std::make_unique<CoordinatorService>(
      s->manager_.get(), s->lookup_.get(), s->datasets_.get(), s->tokens_.get(),
      s->coordinator_metrics_ ? &s->coordinator_metrics_->rpc : nullptr, s->slots_.get(),
      options.stream_stall_timeout);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  common::SetReflection(builder, options.reflection);
  builder.AddListeningPort(options.listen, server_credentials, &s->port_);
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  s->address_ = absl::StrCat(options.listen.substr(0, options.listen.rfind(':')), ":", s->port_);
  // By name too, so that probes can ask for the API itself.
  s->server_->GetHealthCheckService()->SetServingStatus(v1::Coordinator::service_full_name(), true);
  s->server_->GetHealthCheckService()->SetServingStatus(true);
  if (!options.health_listen.empty()) {
    TS_ASSIGN_OR_RETURN(s->health_,
                        common::HealthListener::Create(options.health_listen,
                                                       {v1::Coordinator::service_full_name()}));
  }
  return s;
}

CoordinatorServer::~CoordinatorServer() {
  Shutdown(absl::ZeroDuration());
  manager_.reset();  // stops running jobs before the pool goes
  pool_.reset();     // and the pool's checks before the metrics
}

void CoordinatorServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  if (health_ != nullptr) health_->SetServing(false);
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void CoordinatorServer::Wait() {
  if (server_ != nullptr) server_->Wait();
  if (health_ != nullptr) health_->Shutdown();
}

}  // namespace tierscore::coordinator
