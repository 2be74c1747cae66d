// The tierscore command line: local runs, data generation, and a
// coordinator's jobs and lookups. Flags live here only; the work is done by
// client/ and engine/ code.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/coordinator_client.h"
#include "client/local_run.h"
#include "client/output.h"
#include "client/progress.h"
#include "client/remote_run.h"
#include "common/defaults.h"
#include "engine/generator.h"

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "tierscore: error: %s\n", std::string(status.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tierscore: classify customer bases into value tiers and compute KPIs"};
  app.require_subcommand(1);

  tierscore::client::LocalRunOptions run;
  bool quiet = false;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a job in this process on all cores");
  run_cmd->add_option("--input", run.inputs, "Input CSV file (.csv or .csv.gz); repeatable")
      ->required();
  run_cmd->add_option("--policy", run.policy_path, "Policy file (YAML or JSON)")->required();
  run_cmd->add_option("--kpis", run.kpis_path, "KPI spec file (YAML or JSON)");
  run_cmd->add_option("--out", run.results_path, "Per-customer results CSV to write");
  run_cmd->add_option("--kpi-out", run.kpis_out_path, "KPI table CSV to write");
  run_cmd->add_flag("--explain", run.explain,
                    "Add each criterion's contribution to the score to the results");
  run_cmd->add_option("--threads", run.threads, "Worker threads (default: one per core)");
  run_cmd->add_option("--split-bytes", run.split_bytes, "Split size in bytes (default 64 MiB)");
  run_cmd->add_flag("--quiet", quiet, "Print nothing but errors");
  bool timings = false;
  run_cmd->add_flag("--timings", timings, "Print the duration of each phase");

  tierscore::engine::GeneratorOptions gen;
  std::string gen_out;
  std::string profile = "realistic";
  CLI::App* gen_cmd = app.add_subcommand("gen", "Generate a realistic customer base");
  gen_cmd->add_option("--rows", gen.rows, "Customers to generate")->required();
  gen_cmd->add_option("--seed", gen.seed, "Random seed (same seed, same file)");
  gen_cmd->add_option("--out", gen_out, "Output CSV (.gz to compress)")->required();
  gen_cmd->add_option("--profile", profile, "realistic, ties (few distinct values) or zeros")
      ->check(CLI::IsMember({"realistic", "ties", "zeros"}));

  tierscore::client::RemoteRunOptions submit;
  CLI::App* submit_cmd = app.add_subcommand("submit", "Submit a job to a tierscore coordinator");
  submit_cmd->add_option("--target", submit.target, "Coordinator host:port")->required();
  submit_cmd
      ->add_option("--input", submit.inputs, "Input CSV file, readable by the workers; repeatable")
      ->required();
  submit_cmd->add_option("--policy", submit.policy_path, "Policy file (YAML or JSON)")->required();
  submit_cmd->add_option("--kpis", submit.kpis_path, "KPI spec file (YAML or JSON)");
  submit_cmd->add_flag("--wait", submit.wait, "Follow the job to the end and write the outputs");
  submit_cmd->add_option("--out", submit.results_path, "Per-customer results CSV (with --wait)");
  submit_cmd->add_flag("--explain", submit.explain, "Add each criterion's contribution");
  submit_cmd->add_flag("--no-cache", submit.no_cache,
                       "Run even if a job with the same inputs, policy and KPIs has finished");
  submit_cmd->add_option("--kpi-out", submit.kpis_out_path, "KPI table CSV (with --wait)");
  submit_cmd->add_option("--migration-out", submit.migration_out_path,
                         "Migration matrices against the alias's previous run, CSV (with --wait)");
  submit_cmd->add_option("--alias", submit.alias,
                         absl::StrCat("Where the run is published for lookups (default ",
                                      tierscore::common::kDefaultAlias, ")"));
  bool submit_quiet = false;
  submit_cmd->add_flag("--quiet", submit_quiet, "Print nothing but errors and the job id");
  bool submit_timings = false;
  submit_cmd->add_flag("--timings", submit_timings,
                       "Print the duration of each phase and the worker traffic");

  std::string publish_target, publish_job;
  CLI::App* publish_cmd =
      app.add_subcommand("publish", "Publish again a job whose publication failed");
  publish_cmd->add_option("--target", publish_target, "Coordinator host:port")->required();
  publish_cmd->add_option("job", publish_job, "Job id")->required();

  std::string lookup_target, lookup_alias, lookup_run;
  std::vector<std::string> lookup_ids;
  CLI::App* lookup_cmd =
      app.add_subcommand("lookup", "Look customers' tiers up in a published run");
  lookup_cmd->add_option("--target", lookup_target, "Coordinator host:port")->required();
  auto* alias_opt = lookup_cmd->add_option(
      "--alias", lookup_alias,
      absl::StrCat("Alias (default ", tierscore::common::kDefaultAlias, ")"));
  lookup_cmd->add_option("--run", lookup_run, "Run id instead of an alias")->excludes(alias_opt);
  lookup_cmd->add_option("ids", lookup_ids, "Customer ids (at most 1000)")->required();

  CLI11_PARSE(app, argc, argv);

  if (*publish_cmd) {
    auto client = tierscore::client::CoordinatorClient::Create(publish_target);
    auto job = client->Publish(publish_job, absl::Hours(1));
    if (!job.ok()) return Fail(job.status());
    const auto& pub = job->result().publication();
    if (!pub.published()) return Fail(absl::UnavailableError(pub.error()));
    std::printf("published run %s as %s (%lld records)\n", pub.run_id().c_str(),
                pub.alias().c_str(), static_cast<long long>(pub.records()));
    return 0;
  }

  if (*lookup_cmd) {
    auto client = tierscore::client::CoordinatorClient::Create(lookup_target);
    const bool by_run = !lookup_run.empty();
    auto found = client->BatchLookup(
        by_run ? lookup_run : tierscore::common::AliasOrDefault(lookup_alias), lookup_ids, by_run);
    if (!found.ok()) return Fail(found.status());
    std::cout << tierscore::client::FormatLookup(*found);
    return 0;
  }

  if (*submit_cmd) {
    if ((!submit.results_path.empty() || !submit.kpis_out_path.empty()) && !submit.wait) {
      return Fail(absl::InvalidArgumentError("--out and --kpi-out need --wait"));
    }
    absl::StatusOr<tierscore::v1::Job> job;
    {
      tierscore::client::ProgressBar bar;
      if (!submit_quiet) {
        submit.on_update = [&bar](const tierscore::v1::Job& j) {
          tierscore::coordinator::JobProgress p;
          p.phase = j.state() == tierscore::v1::JOB_STATE_QUEUED ? "queued" : j.progress().phase();
          p.splits_done = j.progress().splits_done();
          p.splits_total = j.progress().splits_total();
          p.rows = j.progress().rows();
          p.bytes = j.progress().bytes();
          bar.Update(p);
        };
      }
      job = tierscore::client::SubmitJob(submit);
    }
    if (!job.ok()) return Fail(job.status());
    if (submit_timings) std::cerr << tierscore::client::FormatStats(job->result().stats());
    if (!submit.wait || submit_quiet) {
      std::printf("%s\n", job->id().c_str());
      return 0;
    }
    std::cout << "job " << job->id()
              << (job->cached_from().empty()
                      ? ""
                      : " (cached: the result of " + job->cached_from() + ")")
              << "\n"
              << tierscore::client::FormatTierSummary(job->result()) << "\n"
              << tierscore::client::FormatKpiTable(job->result().kpis())
              << tierscore::client::FormatMigration(job->result().kpis());
    const auto& pub = job->result().publication();
    if (pub.published()) {
      std::cout << "\npublished as " << pub.alias() << " (run " << pub.run_id() << ", "
                << pub.records() << " records)\n";
    } else if (!pub.error().empty()) {
      std::cout << "\nnot published: " << pub.error() << "\n"
                << "retry with: tierscore publish --target " << submit.target << " " << job->id()
                << "\n";
    }
    return 0;
  }

  if (*gen_cmd) {
    if (profile == "ties") gen.distinct_values = 20;
    if (profile == "zeros") gen.extra_zero_share = 0.5;
    absl::Status st = tierscore::engine::GenerateCustomers(gen, gen_out);
    if (!st.ok()) return Fail(st);
    if (!quiet)
      std::printf("wrote %lld customers to %s\n", static_cast<long long>(gen.rows),
                  gen_out.c_str());
    return 0;
  }

  const absl::Time start = absl::Now();
  absl::StatusOr<tierscore::v1::JobResult> result;
  {
    tierscore::client::ProgressBar bar;
    if (!quiet) run.progress = [&bar](const auto& p) { bar.Update(p); };
    result = tierscore::client::RunLocal(run);
  }
  if (!result.ok()) return Fail(result.status());
  if (!quiet) {
    std::cout << tierscore::client::FormatTierSummary(*result) << "\n"
              << tierscore::client::FormatKpiTable(result->kpis()) << "\ndone in "
              << absl::FormatDuration(absl::Now() - start) << "\n";
  }
  if (timings) std::cerr << tierscore::client::FormatStats(result->stats());
  return 0;
}
