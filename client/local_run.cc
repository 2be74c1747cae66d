#include "client/local_run.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/output.h"
#include "common/config_loader.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "coordinator/in_process_worker_client.h"
#include "engine/policy.h"
#include "worker/worker_core.h"

namespace tierscore::client {

absl::StatusOr<v1::JobSpec> LoadJobSpec(const std::vector<std::string>& inputs,
                                        const std::string& policy_path,
                                        const std::string& kpis_path) {
  v1::JobSpec spec;
  for (const auto& in : inputs) spec.add_inputs(in);
  TS_RETURN_IF_ERROR(common::LoadYamlFile(policy_path, spec.mutable_policy()));
  if (!kpis_path.empty()) {
    TS_RETURN_IF_ERROR(common::LoadYamlFile(kpis_path, spec.mutable_kpis()));
  } else {
    // Default: customers per tier of every scheme, and the total.
    TS_ASSIGN_OR_RETURN(v1::Policy policy, engine::ApplyPreset(spec.policy()));
    for (const auto& scheme : policy.tiers()) {
      spec.mutable_kpis()->add_grouping_sets()->add_columns(scheme.name());
    }
    spec.mutable_kpis()->add_grouping_sets();
    v1::Metric* m = spec.mutable_kpis()->add_metrics();
    m->set_name("customers");
    m->set_agg(v1::AGGREGATION_COUNT);
  }
  return spec;
}

absl::StatusOr<v1::JobResult> RunLocal(const LocalRunOptions& options) {
  TS_ASSIGN_OR_RETURN(v1::JobSpec spec,
                      LoadJobSpec(options.inputs, options.policy_path, options.kpis_path));
  if (options.split_bytes > 0) spec.set_split_bytes(options.split_bytes);

  auto core = worker::WorkerCore::Create({.threads = options.threads});
  coordinator::InProcessWorkerClient worker(core.get(), "local");
  coordinator::JobRunnerOptions runner_options;
  runner_options.load_calls_per_worker = options.threads;
  TS_ASSIGN_OR_RETURN(auto runner, coordinator::JobRunner::Create({&worker}, runner_options));
  const std::string job_id = "local";
  auto outcome = runner->Run(job_id, spec, options.progress);
  if (!outcome.ok()) {
    runner->Release(job_id);
    return outcome.status();
  }

  absl::Status written = absl::OkStatus();
  const absl::Time export_start = absl::Now();
  if (!options.results_path.empty()) {
    const std::string tmp = absl::StrCat(options.results_path, ".tmp");
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) {
      written = absl::PermissionDeniedError(absl::StrCat(
          "cannot write ", options.results_path, ": ", std::strerror(errno)));
    } else {
      auto put = [&](const std::string& text) -> absl::Status {
        if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) {
          return absl::DataLossError(absl::StrCat("failed writing ", options.results_path));
        }
        return absl::OkStatus();
      };
      written = put(coordinator::JobRunner::ResultsHeader(*outcome->compiled, options.explain));
      if (written.ok()) written = runner->ExportResults(*outcome, options.explain, put);
      if (std::fclose(f) != 0 && written.ok()) {
        written = absl::DataLossError(absl::StrCat("failed writing ", options.results_path));
      }
      if (written.ok() && std::rename(tmp.c_str(), options.results_path.c_str()) != 0) {
        written = absl::DataLossError(absl::StrCat("failed writing ", options.results_path));
      }
      if (!written.ok()) std::remove(tmp.c_str());
    }
  }
  runner->Release(job_id);
  TS_RETURN_IF_ERROR(written);
  auto* phase = outcome->result.mutable_stats()->add_phases();
  phase->set_name("export");
  phase->set_seconds(absl::ToDoubleSeconds(absl::Now() - export_start));
  if (!options.kpis_out_path.empty()) {
    TS_RETURN_IF_ERROR(common::WriteFileAtomically(options.kpis_out_path,
                                           KpiTableCsv(outcome->result.kpis())));
  }
  return outcome->result;
}

}  // namespace tierscore::client
