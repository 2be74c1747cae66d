#include "coordinator/coordinator_server.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"

namespace tierscore::coordinator {

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Create(
    const CoordinatorServerOptions& options) {
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  TS_ASSIGN_OR_RETURN(s->pool_, WorkerPool::Create(options.pool, DefaultWorkerPoolSeams()));
  WorkerPool* pool = s->pool_.get();
  TS_ASSIGN_OR_RETURN(s->manager_,
                      JobManager::Create([pool](absl::Time deadline) {
                        return pool->WaitForHealthy(deadline);
                      }, options.jobs));
  s->service_ = std::make_unique<CoordinatorService>(s->manager_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  s->address_ = absl::StrCat(options.listen.substr(0, options.listen.rfind(':')), ":", s->port_);
  s->server_->GetHealthCheckService()->SetServingStatus(true);
  return s;
}

CoordinatorServer::~CoordinatorServer() {
  Shutdown(absl::ZeroDuration());
  manager_.reset();  // stops running jobs before the pool goes
}

void CoordinatorServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void CoordinatorServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace tierscore::coordinator
