#include "common/metrics.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tierscore::common {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(const std::string& listen) {
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->registry_ = std::make_shared<prometheus::Registry>();
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", listen, ": ", e.what()));
  }
  m->exposer_->RegisterCollectable(m->registry_);
  const std::vector<int> ports = m->exposer_->GetListeningPorts();
  m->port_ = ports.empty() ? 0 : ports.front();
  return m;
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry, const std::string& service)
    : service_(service),
      calls_(prometheus::BuildCounter()
                 .Name("tierscore_rpc_total")
                 .Help("gRPC calls served, by service, method and status code")
                 .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("tierscore_rpc_seconds")
                   .Help("gRPC call latency in seconds, by service and method")
                   .Register(registry)) {}

void RpcMetrics::Record(const std::string& method, const std::string& code,
                        absl::Duration latency) {
  calls_.Add({{"service", service_}, {"method", method}, {"code", code}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60};
  seconds_.Add({{"service", service_}, {"method", method}}, kBuckets)
      .Observe(absl::ToDoubleSeconds(latency));
}

std::string StatusCodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace tierscore::common
