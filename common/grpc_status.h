#ifndef TIERSCORE_COMMON_GRPC_STATUS_H_
#define TIERSCORE_COMMON_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "common/names.h"
#include "grpcpp/support/status.h"

namespace tierscore::common {

// absl and gRPC share the canonical status codes, so conversion keeps the
// code and the message. Services convert once, at their edge.
inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), CutMessage(s.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_GRPC_STATUS_H_
