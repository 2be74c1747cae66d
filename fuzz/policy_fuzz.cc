// libFuzzer: a policy and a KPI spec from YAML/JSON text, as a client sends
// them (policy_text, kpis_text), through loading and compilation: errors
// name the text, nothing crashes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config_loader.h"
#include "engine/job.h"
#include "engine/policy.h"
#include "tierscore/v1/kpi.pb.h"
#include "tierscore/v1/policy.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tierscore::v1::Policy policy;
  if (!tierscore::common::ParseYamlToProto(text, "fuzz.yaml", &policy).ok()) {
    tierscore::v1::KpiSpec kpis;
    (void)tierscore::common::ParseYamlToProto(text, "fuzz.yaml", &kpis);
    return 0;
  }
  auto compiled = tierscore::engine::CompilePolicy(policy);
  if (compiled.ok()) (void)tierscore::engine::CompileJob(policy, tierscore::v1::KpiSpec());
  return 0;
}
