// tierscore-worker: runs job phases for a coordinator (the Worker service).
// Flags live here only; WorkerServer does the work.
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/server_main.h"
#include "common/tls_flags.h"
#include "spdlog/spdlog.h"
#include "worker/worker_server.h"

int main(int argc, char** argv) {
  CLI::App app{"tierscore-worker: runs tierscore job phases for a coordinator"};
  tierscore::worker::WorkerServerOptions options;
  std::string port_file;
  double grace_seconds = 30;
  app.add_option("--listen", options.listen, "host:port to serve on; port 0 picks a free port")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "Write the bound port to this file once serving");
  app.add_option("--threads", options.threads, "Cores for phase work (default: all)");
  app.add_option("--grace", grace_seconds, "Seconds in-flight calls may finish after SIGTERM")
      ->capture_default_str();
  bool check_config = false;
  tierscore::common::AddServingFlags(app, &options.health_listen, &options.metrics_listen,
                                     &check_config);
  app.add_option("--redis", options.redis,
                 "Store to publish runs to: redis://host:port/db or unix:///path?db=N");
  std::string redis_password_file;
  app.add_option("--redis-password-file", redis_password_file,
                 "File whose first line is the Redis password (else $TIERSCORE_REDIS_PASSWORD)")
      ->check(CLI::ExistingFile);
  double lease_seconds = 1800;
  app.add_option("--job-lease", lease_seconds,
                 "Seconds without a call after which a job's memory is freed")
      ->capture_default_str();
  options.tls.insecure = false;  // a choice the user makes (common/credentials.h)
  tierscore::common::AddServerTlsFlags(
      app, &options.tls, "PEM CA the coordinator's client certificate must chain to (required)");
  app.add_option("--tls-client-name", options.tls.client_name,
                 "Accept calls only from a client certificate carrying this name (a DNS name "
                 "or the common name of the coordinator's certificate)");
  app.add_option("--max-request-bytes", options.max_request_bytes,
                 "Largest request accepted from the coordinator")
      ->capture_default_str();
  app.add_option("--max-decompressed-bytes", options.max_decompressed_bytes,
                 "What one gzip input may decompress to (it is held in memory while loaded)")
      ->capture_default_str();
  app.add_option("--data-root", options.data_roots,
                 "A directory inputs may be read from (repeatable); paths elsewhere, through "
                 "links out of it, or not regular files are refused. None: anywhere")
      ->check(CLI::ExistingDirectory);
  std::string log_format = "text";
  app.add_flag("--reflection", options.reflection,
               "Serve gRPC server reflection (off: clients use the .proto files)");
  app.add_option("--log-format", log_format, "Logs for people (text) or log collectors (json)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  if (auto stop = tierscore::common::ParseServerFlags(app, argc, argv)) return *stop;
  if (absl::Status st = tierscore::common::ConfigureLogging(log_format); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  options.job_lease = absl::Seconds(lease_seconds);
  options.tls.require_client_cert = !options.tls.insecure;  // workers answer only the coordinator
  if (auto password = tierscore::common::CheckServerSecurity(
          "tierscore-worker", options.tls.insecure, !options.data_roots.empty(), options.redis,
          redis_password_file);
      password.ok()) {
    options.redis_password = *std::move(password);
  } else {
    std::fprintf(stderr, "%s\n", std::string(password.status().message()).c_str());
    return 2;
  }

  if (check_config) {
    return tierscore::common::ReportConfigCheck(
        tierscore::worker::WorkerServer::CheckConfig(options), "tierscore-worker");
  }
  const sigset_t stop = tierscore::common::BlockStopSignals();
  auto server = tierscore::worker::WorkerServer::Create(options);
  if (!server.ok()) {
    tierscore::common::LogEvent(
        spdlog::level::err, "server.failed",
        {{"server", "tierscore-worker"}, {"error", server.status().message()}});
    return 1;
  }
  if ((*server)->metrics_port() != 0) {
    tierscore::common::LogEvent(
        spdlog::level::info, "server.metrics",
        {{"server", "tierscore-worker"}, {"port", (*server)->metrics_port()}});
  }
  return tierscore::common::ServeUntilStopped(**server, stop, port_file,
                                              absl::Seconds(grace_seconds), "tierscore-worker");
}
