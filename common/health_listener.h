#ifndef TIERSCORE_COMMON_HEALTH_LISTENER_H_
#define TIERSCORE_COMMON_HEALTH_LISTENER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server.h"

namespace tierscore::common {

// A second, plaintext listener of a server that serves grpc.health.v1 and
// nothing else, for probes that can present neither TLS nor a token
// (Kubernetes' `grpc:` probes). Over plaintext it tells only whether the
// server is serving; every other method is UNIMPLEMENTED there. The server
// it belongs to mirrors its own status into it with SetServing.
// Thread-safe.
class HealthListener {
 public:
  // Serves on `listen` ("host:port"; port 0 picks a free one), SERVING for
  // "" and for each of `services`. UNAVAILABLE if the address cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<HealthListener>> Create(
      const std::string& listen, const std::vector<std::string>& services);
  ~HealthListener();  // Shutdown()

  int port() const { return port_; }

  // SERVING or NOT_SERVING for "" and every service given to Create.
  void SetServing(bool serving);

  // Stops at once (probes have no calls worth waiting for). Idempotent.
  void Shutdown();

 private:
  HealthListener() = default;

  std::vector<std::string> services_;
  // Answers every method but health checks UNIMPLEMENTED; registered
  // because gRPC builds no server without a service of its own.
  grpc::CallbackGenericService unimplemented_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_HEALTH_LISTENER_H_
