#include "common/health_listener.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace tierscore::common {

namespace {
// A health check request is a service name; nothing larger is needed.
constexpr int kMaxRequestBytes = 4096;
}  // namespace

absl::StatusOr<std::unique_ptr<HealthListener>> HealthListener::Create(
    const std::string& listen, const std::vector<std::string>& services) {
  std::unique_ptr<HealthListener> h(new HealthListener());
  h->services_ = services;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  SetReflection(builder, false);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &h->port_);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.RegisterCallbackGenericService(&h->unimplemented_);
  h->server_ = builder.BuildAndStart();
  if (h->server_ == nullptr || h->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, " (health)"));
  }
  h->SetServing(true);
  return h;
}

HealthListener::~HealthListener() { Shutdown(); }

void HealthListener::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  for (const std::string& service : services_) health->SetServingStatus(service, serving);
  health->SetServingStatus(serving);
}

void HealthListener::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
}

}  // namespace tierscore::common
