#ifndef TIERSCORE_COMMON_SERVER_MAIN_H_
#define TIERSCORE_COMMON_SERVER_MAIN_H_

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace tierscore::common {

// The shared life of a server binary's main(). Call BlockStopSignals()
// before any thread starts, so that SIGTERM/SIGINT reach only the main
// thread's sigwait.
inline sigset_t BlockStopSignals() {
  // Debian's abseil checks every Mutex acquisition for lock-order cycles,
  // a cost on every RPC; the tests (and their sanitizer builds) keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

// The Redis password of a server binary: from `file` (its first line) or
// $TIERSCORE_REDIS_PASSWORD, never from the command line, where every user
// of the machine can read it; an address holding one is refused.
inline absl::StatusOr<std::string> RedisPassword(const std::string& address,
                                                 const std::string& file) {
  if (address.find('@') != std::string::npos) {
    return absl::InvalidArgumentError(
        "--redis: the address holds a password, which every user of this machine can read on "
        "the command line; give it in --redis-password-file or $TIERSCORE_REDIS_PASSWORD");
  }
  if (!file.empty()) {
    std::ifstream in(file);
    std::string password;
    if (!in || !std::getline(in, password) || password.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis-password-file: no password in ", file));
    }
    return password;
  }
  const char* env = std::getenv("TIERSCORE_REDIS_PASSWORD");
  return std::string(env == nullptr ? "" : env);
}

// Parses a server's flags. Returns the exit code when main() should stop:
// 0 after --help, 2 (a usage error, as the CLI's) after a mistake, which
// CLI11 prints naming the flag; nullopt to go on.
inline std::optional<int> ParseServerFlags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return std::nullopt;
}

// --health-listen, --metrics-listen and --check-config, spelt alike by both
// servers.
inline void AddServingFlags(CLI::App& app, std::string* health_listen, std::string* metrics_listen,
                            bool* check_config) {
  app.add_option("--health-listen", *health_listen,
                 "host:port of a plaintext listener serving only grpc.health.v1, for probes "
                 "that cannot use TLS (default: none)");
  app.add_option("--metrics-listen", *metrics_listen,
                 "host:port to serve Prometheus /metrics on (default: none)");
  app.add_flag("--check-config", *check_config,
               "Check the flags and the files they name, then exit without serving: 0 when "
               "they are fine, 2 naming the problem");
}

// The exit code of --check-config: 0 saying so, or 2 naming the problem.
inline int ReportConfigCheck(const absl::Status& checked, const std::string& what) {
  if (!checked.ok()) {
    std::fprintf(stderr, "%s: %s\n", what.c_str(), std::string(checked.message()).c_str());
    return 2;
  }
  std::printf("%s: configuration ok\n", what.c_str());
  return 0;
}

// Plaintext is allowed only when asked for, and said loudly.
inline void WarnIfInsecure(bool insecure, const std::string& what) {
  if (!insecure) return;
  LogEvent(spdlog::level::warn, "server.insecure",
           {{"server", what},
            {"detail", "--insecure: no TLS; anyone on the network can read and make calls"}});
}

// The security checks both server binaries make after parsing their flags:
// the Redis password read (RedisPassword), and plaintext (`insecure`) or
// unconfined inputs (`confined` false) logged as warnings.
inline absl::StatusOr<std::string> CheckServerSecurity(const std::string& what, bool insecure,
                                                       bool confined, const std::string& redis,
                                                       const std::string& redis_password_file) {
  absl::StatusOr<std::string> password = RedisPassword(redis, redis_password_file);
  if (!password.ok()) return password.status();
  WarnIfInsecure(insecure, what);
  if (!confined) {
    LogEvent(spdlog::level::warn, "server.unconfined",
             {{"server", what},
              {"detail", "no --data-root: inputs are read from anywhere this process can read"}});
  }
  return password;
}

// Writes the bound port to `port_file` (if any), serves until a stop
// signal, then drains for up to `grace`. Returns the process exit code.
// `Server` has port(), address(), Shutdown(absl::Duration) and Wait().
template <typename Server>
int ServeUntilStopped(Server& server, const sigset_t& stop, const std::string& port_file,
                      absl::Duration grace, const std::string& what) {
  if (!port_file.empty()) {
    absl::Status st = WriteFileAtomically(port_file, absl::StrCat(server.port(), "\n"));
    if (!st.ok()) {
      LogEvent(spdlog::level::err, "server.failed", {{"server", what}, {"error", st.message()}});
      return 1;
    }
  }
  LogEvent(spdlog::level::info, "server.serving",
           {{"server", what}, {"address", server.address()}});
  int signal = 0;
  sigwait(&stop, &signal);
  LogEvent(spdlog::level::info, "server.draining",
           {{"server", what}, {"signal", signal}, {"grace_seconds", absl::ToDoubleSeconds(grace)}});
  server.Shutdown(grace);
  server.Wait();
  LogEvent(spdlog::level::info, "server.stopped", {{"server", what}});
  return 0;
}

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_SERVER_MAIN_H_
