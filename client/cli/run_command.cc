// tierscore run: a job in this process, on all cores.
#include <iostream>
#include <memory>

#include "absl/time/clock.h"
#include "client/cli/commands.h"
#include "client/local_run.h"
#include "client/output.h"
#include "client/progress.h"
#include "spdlog/spdlog.h"

namespace tierscore::client::cli {

Command AddRunCommand(CLI::App& app) {
  struct Flags {
    LocalRunOptions run;
    bool quiet = false;
    bool timings = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("run", "Run a job in this process on all cores");
  cmd->add_option("--input", f->run.inputs, "Input CSV file (.csv or .csv.gz); repeatable")
      ->required();
  cmd->add_option("--policy", f->run.policy_path, "Policy file (YAML or JSON)")->required();
  cmd->add_option("--kpis", f->run.kpis_path, "KPI spec file (YAML or JSON)");
  cmd->add_option("--out", f->run.results_path, "Per-customer results CSV to write");
  cmd->add_option("--kpi-out", f->run.kpis_out_path, "KPI table CSV to write");
  cmd->add_flag("--explain", f->run.explain,
                "Add each criterion's contribution to the score to the results");
  cmd->add_option("--threads", f->run.threads, "Worker threads (default: one per core)");
  cmd->add_option("--split-bytes", f->run.split_bytes,
                  "Split size in bytes (default: about four splits per thread, 4 to 64 MiB)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--quiet", f->quiet, "Print nothing but errors");
  cmd->add_flag("--timings", f->timings, "Print the duration of each phase");

  return {cmd, [f] {
            if (f->quiet) spdlog::set_level(spdlog::level::err);
            const absl::Time start = absl::Now();
            absl::StatusOr<v1::JobResult> result;
            {
              ProgressBar bar;
              if (!f->quiet) f->run.progress = [&bar](const auto& p) { bar.Update(p); };
              result = RunLocal(f->run);
            }
            if (!result.ok()) return Fail(result.status());
            if (!f->quiet) {
              std::cout << FormatTierSummary(*result) << "\n"
                        << FormatKpiTable(result->kpis()) << "\ndone in "
                        << absl::FormatDuration(absl::Now() - start) << "\n";
            }
            if (f->timings) std::cerr << FormatStats(result->stats());
            return 0;
          }};
}

}  // namespace tierscore::client::cli
