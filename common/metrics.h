#ifndef TIERSCORE_COMMON_METRICS_H_
#define TIERSCORE_COMMON_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace tierscore::common {

// A Prometheus registry served over HTTP at /metrics. Thread-safe.
class MetricsServer {
 public:
  // `listen` is "host:port"; port 0 picks a free port (see port()).
  // UNAVAILABLE if it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(const std::string& listen);

  prometheus::Registry& registry() { return *registry_; }
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

// Calls of one gRPC service: tierscore_rpc_total{service,method,code} and
// tierscore_rpc_seconds{service,method}. Thread-safe.
class RpcMetrics {
 public:
  // `registry` must outlive this object.
  RpcMetrics(prometheus::Registry& registry, const std::string& service);

  // `code` is the canonical status code name, e.g. "OK", "UNAVAILABLE".
  void Record(const std::string& method, const std::string& code, absl::Duration latency);

 private:
  const std::string service_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& seconds_;
};

// The canonical name of a status code number (gRPC and absl share them).
std::string StatusCodeName(int code);

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_METRICS_H_
