// The tierscore command line: local runs, data generation, and a
// coordinator's jobs and lookups. Each subcommand is a file in client/cli/.
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/cli/commands.h"

namespace tierscore::client::cli {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "tierscore: error: %s\n", std::string(status.message()).c_str());
  return 1;
}

}  // namespace tierscore::client::cli

int main(int argc, char** argv) {
  namespace cli = tierscore::client::cli;
  CLI::App app{"tierscore: classify customer bases into value tiers and compute KPIs"};
  app.require_subcommand(1);
  const std::vector<cli::Command> commands = {
      cli::AddRunCommand(app),     cli::AddGenCommand(app),    cli::AddSubmitCommand(app),
      cli::AddPublishCommand(app), cli::AddLookupCommand(app),
  };
  CLI11_PARSE(app, argc, argv);
  for (const cli::Command& c : commands) {
    if (*c.app) return c.run();
  }
  return 1;  // unreachable: exactly one subcommand is required
}
