// tierscore submit: a job on a cluster, followed to the end with --wait.
#include <cstdio>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "client/cli/commands.h"
#include "client/output.h"
#include "client/progress.h"
#include "client/remote_run.h"
#include "common/defaults.h"

namespace tierscore::client::cli {
namespace {

// The job's summary, KPIs, migration and publication, as `--wait` prints.
void PrintFinished(const v1::Job& job, const std::string& target) {
  std::cout << "job " << job.id()
            << (job.cached_from().empty() ? ""
                                          : " (cached: the result of " + job.cached_from() + ")")
            << "\n"
            << FormatTierSummary(job.result()) << "\n"
            << FormatKpiTable(job.result().kpis()) << FormatMigration(job.result().kpis());
  const auto& pub = job.result().publication();
  if (pub.published()) {
    std::cout << "\npublished as " << pub.alias() << " (run " << pub.run_id() << ", "
              << pub.records() << " records)\n";
  } else if (!pub.error().empty()) {
    std::cout << "\nnot published: " << pub.error() << "\n"
              << "retry with: tierscore publish --target " << target << " " << job.id() << "\n";
  }
}

}  // namespace

Command AddSubmitCommand(CLI::App& app) {
  struct Flags {
    RemoteRunOptions submit;
    bool quiet = false;
    bool timings = false;
  };
  auto f = std::make_shared<Flags>();
  RemoteRunOptions& s = f->submit;
  CLI::App* cmd = app.add_subcommand("submit", "Submit a job to a tierscore coordinator");
  cmd->add_option("--target", s.target, "Coordinator host:port")->required();
  cmd->add_option("--input", s.inputs, "Input CSV file, readable by the workers; repeatable")
      ->required();
  cmd->add_option("--policy", s.policy_path, "Policy file (YAML or JSON)")->required();
  cmd->add_option("--kpis", s.kpis_path, "KPI spec file (YAML or JSON)");
  cmd->add_flag("--wait", s.wait, "Follow the job to the end and write the outputs");
  cmd->add_option("--out", s.results_path, "Per-customer results CSV (with --wait)");
  cmd->add_flag("--explain", s.explain, "Add each criterion's contribution");
  cmd->add_flag("--no-cache", s.no_cache,
                "Run even if a job with the same inputs, policy and KPIs has finished");
  cmd->add_option("--kpi-out", s.kpis_out_path, "KPI table CSV (with --wait)");
  cmd->add_option("--migration-out", s.migration_out_path,
                  "Migration matrices against the alias's previous run, CSV (with --wait)");
  cmd->add_option("--alias", s.alias,
                  absl::StrCat("Where the run is published for lookups (default ",
                               common::kDefaultAlias, " unless --no-publish)"));
  cmd->add_flag("--no-publish", s.no_publish,
                "Publish nowhere; with --alias, a dry run against the alias's current run");
  cmd->add_flag("--quiet", f->quiet, "Print nothing but errors and the job id");
  cmd->add_flag("--timings", f->timings, "Print the duration of each phase and the worker traffic");

  return {cmd, [f] {
            RemoteRunOptions& s = f->submit;
            if ((!s.results_path.empty() || !s.kpis_out_path.empty()) && !s.wait) {
              return Fail(absl::InvalidArgumentError("--out and --kpi-out need --wait"));
            }
            absl::StatusOr<v1::Job> job;
            {
              ProgressBar bar;
              if (!f->quiet) s.on_update = [&bar](const v1::Job& j) { bar.Update(j); };
              job = SubmitJob(s);
            }
            if (!job.ok()) return Fail(job.status());
            if (f->timings) std::cerr << FormatStats(job->result().stats());
            if (!s.wait || f->quiet) {
              std::printf("%s\n", job->id().c_str());
              return 0;
            }
            PrintFinished(*job, s.target);
            return 0;
          }};
}

}  // namespace tierscore::client::cli
