#include "worker/worker_server.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/redis_client.h"
#include "common/redis_store.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"

namespace tierscore::worker {

absl::Status WorkerServer::CheckConfig(const WorkerServerOptions& options) {
  if (!options.redis.empty()) {
    if (auto address = common::ParseRedisAddress(options.redis); !address.ok()) {
      return address.status();
    }
  }
  if (auto roots = common::DataRoots::Create(options.data_roots); !roots.ok()) {
    return roots.status();
  }
  return common::MakeServerCredentials(options.tls, "worker").status();
}

absl::StatusOr<std::unique_ptr<WorkerServer>> WorkerServer::Create(
    const WorkerServerOptions& options) {
  if (absl::Status st = CheckConfig(options); !st.ok()) return st;
  std::unique_ptr<WorkerServer> s(new WorkerServer());
  auto credentials = common::MakeServerCredentials(options.tls, "worker");
  if (!credentials.ok()) return credentials.status();
  common::Store* store = options.store;
  if (store == nullptr && !options.redis.empty()) {
    common::RedisStoreOptions redis;
    redis.redis.address = options.redis;
    redis.redis.password = options.redis_password;
    auto created = common::RedisStore::Create(redis);
    if (!created.ok()) return created.status();
    s->owned_store_ = *std::move(created);
    store = s->owned_store_.get();
  }
  auto roots = common::DataRoots::Create(options.data_roots);
  if (!roots.ok()) return roots.status();
  s->core_ = WorkerCore::Create({.threads = options.threads,
                                 .store = store,
                                 .data_roots = *std::move(roots),
                                 .max_decompressed_bytes = options.max_decompressed_bytes});
  const int cores = options.threads > 0
                        ? options.threads
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s->executor_ = std::make_unique<engine::ThreadPool>(
      options.call_threads > 0 ? options.call_threads : 2 * cores);
  if (!options.metrics_listen.empty()) {
    auto metrics = common::MetricsServer::Create(options.metrics_listen);
    if (!metrics.ok()) return metrics.status();
    s->metrics_ = *std::move(metrics);
    s->worker_metrics_ = std::make_unique<WorkerMetrics>(s->metrics_->registry());
  }
  s->service_ =
      std::make_unique<WorkerService>(s->core_.get(), s->executor_.get(), s->worker_metrics_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  common::SetReflection(builder, options.reflection);
  builder.AddListeningPort(options.listen, *credentials, &s->port_);
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  builder.SetMaxSendMessageSize(-1);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  s->address_ = absl::StrCat(host, ":", s->port_);
  s->server_->GetHealthCheckService()->SetServingStatus(v1::Worker::service_full_name(), true);
  s->server_->GetHealthCheckService()->SetServingStatus(true);
  if (!options.health_listen.empty()) {
    auto health =
        common::HealthListener::Create(options.health_listen, {v1::Worker::service_full_name()});
    if (!health.ok()) return health.status();
    s->health_ = *std::move(health);
  }
  const absl::Duration lease = options.job_lease;
  s->sweeper_ = std::thread([server = s.get(), lease] {
    absl::MutexLock lock(&server->mu_);
    while (!server->mu_.AwaitWithTimeout(absl::Condition(&server->stopping_), lease / 4)) {
      server->core_->ExpireIdle(lease);
    }
  });
  return s;
}

WorkerServer::~WorkerServer() {
  Shutdown(absl::ZeroDuration());
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (sweeper_.joinable()) sweeper_.join();
}

void WorkerServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  if (health_ != nullptr) health_->SetServing(false);
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void WorkerServer::Wait() {
  if (server_ != nullptr) server_->Wait();
  if (health_ != nullptr) health_->Shutdown();
}

}  // namespace tierscore::worker
