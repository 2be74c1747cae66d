#include "client/local_run.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/output.h"
#include "common/config_loader.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "coordinator/in_process_worker_client.h"
#include "engine/policy.h"
#include "engine/results_csv.h"
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
  for (const auto& [path, flag] :
       {std::pair(options.results_path, "--out"), std::pair(options.kpis_out_path, "--kpi-out")}) {
    if (!path.empty()) TS_RETURN_IF_ERROR(common::CheckWritable(path, flag));
  }
  TS_ASSIGN_OR_RETURN(v1::JobSpec spec,
                      LoadJobSpec(options.inputs, options.policy_path, options.kpis_path));
  if (options.split_bytes > 0) spec.set_split_bytes(options.split_bytes);

  auto core = worker::WorkerCore::Create({.threads = options.threads});
  // Runs the worker's calls: as many at once as the job makes per worker.
  engine::ThreadPool executor(options.threads);
  coordinator::InProcessWorkerClient worker(core.get(), &executor, "local");
  coordinator::JobRunnerOptions runner_options;
  runner_options.load_calls_per_worker = options.threads;
  TS_ASSIGN_OR_RETURN(auto runner, coordinator::JobRunner::Create({&worker}, runner_options));
  const std::string job_id = "local";
  auto outcome = runner->Run(job_id, spec, options.progress);
  if (!outcome.ok()) {
    runner->Release(job_id);
    return outcome.status();
  }

  // Results stream into a temporary file that only a complete export
  // renames into place.
  const absl::Time export_start = absl::Now();
  absl::Status written = absl::OkStatus();
  if (!options.results_path.empty()) {
    written = [&]() -> absl::Status {
      TS_ASSIGN_OR_RETURN(auto file, common::AtomicFile::Create(options.results_path));
      TS_RETURN_IF_ERROR(
          file->Append(engine::ResultsHeader(outcome->compiled->policy, options.explain)));
      TS_RETURN_IF_ERROR(runner->ExportResults(
          *outcome, options.explain, [&](const std::string& csv) { return file->Append(csv); }));
      return file->Commit();
    }();
  }
  runner->Release(job_id);
  TS_RETURN_IF_ERROR(written);
  auto* phase = outcome->result.mutable_stats()->add_phases();
  phase->set_name("export");
  phase->set_seconds(absl::ToDoubleSeconds(absl::Now() - export_start));
  if (!options.kpis_out_path.empty()) {
    TS_RETURN_IF_ERROR(
        common::WriteFileAtomically(options.kpis_out_path, KpiTableCsv(outcome->result.kpis())));
  }
  return outcome->result;
}

}  // namespace tierscore::client
