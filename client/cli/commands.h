#ifndef TIERSCORE_CLIENT_CLI_COMMANDS_H_
#define TIERSCORE_CLIENT_CLI_COMMANDS_H_

// The `tierscore` subcommands, one file each. A command adds itself and its
// flags to the app; main runs the one that was given. Flags live here only:
// the work is done by client/ and engine/ code.

#include <functional>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace tierscore::client::cli {

struct Command {
  CLI::App* app = nullptr;   // the subcommand (owned by the parent app)
  std::function<int()> run;  // the process exit code
};

Command AddRunCommand(CLI::App& app);
Command AddGenCommand(CLI::App& app);
Command AddSubmitCommand(CLI::App& app);
Command AddPublishCommand(CLI::App& app);
Command AddLookupCommand(CLI::App& app);

// Prints "tierscore: error: <message>" to stderr; returns the exit code 1.
int Fail(const absl::Status& status);

}  // namespace tierscore::client::cli

#endif  // TIERSCORE_CLIENT_CLI_COMMANDS_H_
