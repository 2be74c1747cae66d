#include "client/remote_run.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "client/local_run.h"
#include "client/output.h"
#include "common/defaults.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "tierscore/client.h"

namespace tierscore::client {

absl::StatusOr<v1::Job> SubmitJob(const RemoteRunOptions& options) {
  for (const auto& [path, flag] :
       {std::pair(options.results_path, "--out"), std::pair(options.kpis_out_path, "--kpi-out"),
        std::pair(options.migration_out_path, "--migration-out")}) {
    if (!path.empty()) TS_RETURN_IF_ERROR(common::CheckWritable(path, flag));
  }
  std::vector<std::string> inputs;
  for (const std::string& in : options.inputs) {
    std::error_code ec;
    // Absolute and without `.` or `..` parts, which data roots refuse.
    const auto absolute = std::filesystem::absolute(in, ec).lexically_normal();
    inputs.push_back(ec ? in : absolute.string());
  }
  // The policy and KPI spec go as text: the coordinator reads them as this
  // CLI would, and its errors name the files. Without a KPI spec, the
  // default one (customers per tier) is made here from the policy.
  TS_ASSIGN_OR_RETURN(v1::JobSpec spec, LoadJobSpec(inputs, options.policy_path, ""));
  spec.clear_policy();
  TS_ASSIGN_OR_RETURN(*spec.mutable_policy_text(), ReadConfigFile(options.policy_path));
  if (!options.kpis_path.empty()) {
    spec.clear_kpis();
    TS_ASSIGN_OR_RETURN(*spec.mutable_kpis_text(), ReadConfigFile(options.kpis_path));
  }
  spec.set_no_cache(options.no_cache);
  spec.set_alias(options.alias.empty() && !options.no_publish ? common::kDefaultAlias
                                                              : options.alias);
  spec.set_no_publish(options.no_publish);
  for (const std::string& d : options.datasets) spec.add_datasets(d);
  spec.set_summary_only(options.results_path.empty());
  TS_ASSIGN_OR_RETURN(auto client, Client::Create(options.client));
  TS_ASSIGN_OR_RETURN(Job handle, client->Submit(spec));
  if (options.on_submitted) options.on_submitted(handle.id());
  if (!options.wait) return handle.Get();

  // The wait follows the job across dropped connections and coordinator
  // restarts; if it still ends, the job may be running: say which it is.
  absl::StatusOr<v1::Job> waited = handle.Wait(options.on_update, options.timeout);
  if (!waited.ok()) {
    return absl::Status(waited.status().code(),
                        absl::StrCat("job ", handle.id(), ": ", waited.status().message(),
                                     " (it may still run: tierscore watch ", handle.id(), ")"));
  }
  v1::Job job = *std::move(waited);
  if (job.state() != v1::JOB_STATE_SUCCEEDED) return job;  // no outputs
  TS_ASSIGN_OR_RETURN(v1::KpiTable kpis, handle.Kpis());
  *job.mutable_result()->mutable_kpis() = kpis;

  if (!options.results_path.empty()) {
    TS_ASSIGN_OR_RETURN(auto file, common::AtomicFile::Create(options.results_path));
    TS_RETURN_IF_ERROR(handle.Csv(
        options.explain, [&](std::string_view csv) { return file->Append(csv); }, options.timeout));
    TS_RETURN_IF_ERROR(file->Commit());
  }
  if (!options.kpis_out_path.empty()) {
    TS_RETURN_IF_ERROR(common::WriteFileAtomically(options.kpis_out_path, KpiTableCsv(kpis)));
  }
  if (!options.migration_out_path.empty()) {
    TS_RETURN_IF_ERROR(common::WriteFileAtomically(options.migration_out_path, MigrationCsv(kpis)));
  }
  return job;
}

}  // namespace tierscore::client
