// The tierscore command line: local runs, data generation, policy checks,
// and a coordinator's jobs, datasets and lookups. Each subcommand (or small
// family) is a file in client/cli/; exit codes are cli::ExitCode.
#include <iostream>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/cli/commands.h"
#include "common/files.h"
#include "common/logging.h"
#include "grpc/support/log.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  namespace cli = tierscore::client::cli;
  // An interrupted command leaves no half-written temporary behind.
  tierscore::common::InstallTemporaryFileCleanup();
  // Log lines (a local run's warnings) go to stderr, never into output.
  tierscore::common::ConfigureLogging("text", /*to_stderr=*/true).IgnoreError();
  // gRPC's own lines (a failed handshake, say) repeat the error the command
  // prints in one line: sent to the debug level, which the CLI does not show.
  gpr_set_log_function([](gpr_log_func_args* args) {
    spdlog::debug("grpc: {}:{}: {}", args->file, args->line, args->message);
  });
  CLI::App app{"tierscore: classify customer bases into value tiers and compute KPIs"};
  app.require_subcommand(1);
  app.footer(
      "Commands that talk to a coordinator take --target (or $TIERSCORE_TARGET) and --format "
      "table|csv|json (or $TIERSCORE_FORMAT).\nExit codes: 0 ok, 1 error, 2 usage, 3 invalid "
      "input, 4 not found, 5 unavailable (retry), 6 job failed, 7 cancelled, 8 not allowed.");
  bool check_args = false;
  app.add_flag("--check-args", check_args,
               "Parse the command line (before the command: tierscore --check-args submit ...) "
               "and exit 0 without running it, or 2 naming the mistake");
  std::vector<cli::Command> commands = {
      cli::AddRunCommand(app),    cli::AddGenCommand(app),     cli::AddSubmitCommand(app),
      cli::AddWhatIfCommand(app), cli::AddPublishCommand(app), cli::AddLookupCommand(app),
  };
  for (auto* add : {&cli::AddJobCommands, &cli::AddDatasetCommands, &cli::AddPolicyCommands}) {
    for (cli::Command& c : (*add)(app)) commands.push_back(std::move(c));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and the usage
    return cli::kUsage;
  }
  if (check_args) return cli::kOk;
  for (const cli::Command& c : commands) {
    if (*c.app) return c.run();
  }
  return cli::kUsage;
}
