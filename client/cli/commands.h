#ifndef TIERSCORE_CLIENT_CLI_COMMANDS_H_
#define TIERSCORE_CLIENT_CLI_COMMANDS_H_

// The `tierscore` subcommands, one file (or one small family) each. A
// command adds itself and its flags to the app; main runs the one that was
// given. Flags live here only: the work is done by client/ and engine/
// code and the SDK.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "tierscore/client.h"

namespace tierscore::client::cli {

struct Command {
  CLI::App* app = nullptr;   // the subcommand (owned by the parent app)
  std::function<int()> run;  // the process exit code
};

// Exit codes (README "The CLI"), chosen by what the caller should do.
enum ExitCode : int {
  kOk = 0,
  kError = 1,        // anything else (a bug, an internal error)
  kUsage = 2,        // the command line is wrong
  kInvalid = 3,      // the request or its files are wrong (INVALID_ARGUMENT, ...)
  kNotFound = 4,     // no such job, alias, run, dataset or file
  kUnavailable = 5,  // try again later (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED)
  kJobFailed = 6,    // the job ran and failed
  kCancelled = 7,    // the job (or the call) was cancelled
  kDenied = 8,       // not allowed (UNAUTHENTICATED, PERMISSION_DENIED)
};

// Prints "tierscore: error: <message>" on one line to stderr; returns the
// exit code for the status's code (kUsage for a UsageError).
int Fail(const absl::Status& status);
// A command line that is wrong in a way the flag parser cannot see.
absl::Status UsageError(const std::string& message);
// The exit code for a final job: 0, kJobFailed or kCancelled (with a line
// on stderr for the last two).
int JobExit(const v1::Job& job);

enum class Format { kTable, kCsv, kJson };

// What every command that talks to a coordinator takes: --target (or
// $TIERSCORE_TARGET) and --format (or $TIERSCORE_FORMAT).
// How a command reaches the coordinator. Tokens come from a file or the
// environment, never from the command line (where `ps` shows them).
struct RemoteFlags {
  std::string target;
  std::string format = "table";
  std::string tls_ca, tls_cert, tls_key, tls_server_name;
  bool insecure = false;
  std::string token_file;
  Format output() const;
  // The SDK's options, with the token read; a UsageError for an unknown
  // --format.
  absl::StatusOr<ClientOptions> Options() const;
  // TLS or plaintext from the flags, else the environment.
  absl::Status ChooseTransport(ClientOptions& options) const;
  absl::StatusOr<std::unique_ptr<Client>> Connect() const;
};
void AddRemoteFlags(CLI::App* cmd, RemoteFlags* flags);

// A JSON string literal, quotes included.
std::string JsonString(const std::string& s);
// One line of JSON (proto field names as in the .proto files).
std::string Json(const google::protobuf::Message& message);
// Rows with a header: aligned for a terminal, CSV, or a JSON array of
// objects (string values).
std::string Render(const std::vector<std::string>& header,
                   const std::vector<std::vector<std::string>>& rows, Format format);

Command AddRunCommand(CLI::App& app);
Command AddGenCommand(CLI::App& app);
Command AddSubmitCommand(CLI::App& app);
Command AddWhatIfCommand(CLI::App& app);
Command AddPublishCommand(CLI::App& app);
Command AddLookupCommand(CLI::App& app);
// status, watch, jobs, cancel, kpis, results.
std::vector<Command> AddJobCommands(CLI::App& app);
// upload, datasets.
std::vector<Command> AddDatasetCommands(CLI::App& app);
// policy validate, policy explain.
std::vector<Command> AddPolicyCommands(CLI::App& app);

}  // namespace tierscore::client::cli

#endif  // TIERSCORE_CLIENT_CLI_COMMANDS_H_
