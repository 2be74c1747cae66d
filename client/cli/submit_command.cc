// tierscore submit: a job on a cluster, followed to the end with --wait;
// tierscore whatif: a dry run against an alias's current run.
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

struct JobFlags {
  RemoteFlags remote;
  RemoteRunOptions submit;
  bool quiet = false;
  bool timings = false;
};

// The inputs and files of a job, shared by submit and whatif.
void AddJobInputs(CLI::App* cmd, JobFlags* f) {
  AddRemoteFlags(cmd, &f->remote);
  RemoteRunOptions& s = f->submit;
  cmd->add_option("--input", s.inputs,
                  "Input CSV file, readable by the workers at this path; repeatable");
  cmd->add_option("--dataset", s.datasets, "An uploaded dataset (tierscore upload); repeatable");
  cmd->add_option("--policy", s.policy_path, "Policy file (YAML or JSON)")->required();
  cmd->add_option("--kpis", s.kpis_path, "KPI spec file (YAML or JSON)");
  cmd->add_flag("--quiet", f->quiet, "Print nothing but errors and the job id");
  cmd->add_flag("--timings", f->timings, "Print the duration of each phase and the worker traffic");
}

// Submits and, with wait, follows the job and prints it.
int Run(JobFlags& f) {
  RemoteRunOptions& s = f.submit;
  auto client_options = f.remote.Options();
  if (!client_options.ok()) return Fail(client_options.status());
  s.client = *std::move(client_options);
  if (s.inputs.empty() && s.datasets.empty()) {
    return Fail(absl::InvalidArgumentError("give at least one --input or --dataset"));
  }
  absl::StatusOr<v1::Job> job;
  {
    ProgressBar bar;
    if (!f.quiet && f.remote.output() == Format::kTable) {
      s.on_update = [&bar](const v1::Job& j) { bar.Update(j); };
      if (s.wait) {
        s.on_submitted = [](const std::string& id) {
          std::fprintf(stderr, "submitted job %s (tierscore watch %s follows it)\n", id.c_str(),
                       id.c_str());
        };
      }
    }
    job = SubmitJob(s);
  }
  if (!job.ok()) return Fail(job.status());
  if (f.timings) std::cerr << FormatStats(job->result().stats());
  const bool dry_run = s.no_publish && !s.alias.empty();
  if (f.remote.output() == Format::kJson) {
    std::cout << Json(*job);
  } else if (dry_run && f.remote.output() == Format::kCsv) {
    std::cout << MigrationCsv(job->result().kpis());  // what a what-if is for
  } else if (!s.wait || f.quiet || f.remote.output() == Format::kCsv) {
    std::printf("%s\n", job->id().c_str());
  } else if (job->state() == v1::JOB_STATE_SUCCEEDED) {
    PrintFinished(*job, s.client.target);
  }
  if (!s.wait) return kOk;
  const int code = JobExit(*job);
  if (code == kOk && dry_run && job->result().kpis().migration_size() == 0) {
    // Most likely a mistyped alias: say so rather than show no migration.
    return Fail(absl::NotFoundError(absl::StrCat(
        "alias ", s.alias, " has no published run: there was nothing to compare with")));
  }
  return code;
}

}  // namespace

Command AddSubmitCommand(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  RemoteRunOptions& s = f->submit;
  CLI::App* cmd = app.add_subcommand("submit", "Submit a job to a tierscore coordinator");
  AddJobInputs(cmd, f.get());
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
  return {cmd, [f] {
            RemoteRunOptions& s = f->submit;
            if ((!s.results_path.empty() || !s.kpis_out_path.empty()) && !s.wait) {
              return Fail(absl::InvalidArgumentError("--out and --kpi-out need --wait"));
            }
            return Run(*f);
          }};
}

Command AddWhatIfCommand(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  CLI::App* cmd = app.add_subcommand(
      "whatif",
      "A dry run: the policy assigned against an alias's current run (previous tiers, "
      "protection), with the tier summary and migration matrix, published nowhere");
  AddJobInputs(cmd, f.get());
  cmd->add_option("--alias", f->submit.alias, "The alias whose current run to compare with")
      ->required();
  cmd->add_option("--migration-out", f->submit.migration_out_path, "Migration matrices, CSV");
  return {cmd, [f] {
            f->submit.no_publish = true;
            f->submit.no_cache = true;
            f->submit.wait = true;
            return Run(*f);
          }};
}

}  // namespace tierscore::client::cli
