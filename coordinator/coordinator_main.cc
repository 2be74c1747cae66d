// tierscore-coordinator: the public Coordinator service over a set of
// workers. Flags live here only; CoordinatorServer does the work.
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "common/server_main.h"
#include "common/tls_flags.h"
#include "coordinator/coordinator_server.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  CLI::App app{"tierscore-coordinator: runs tierscore jobs on a set of workers"};
  tierscore::coordinator::CoordinatorServerOptions options;
  std::string port_file;
  std::string workers;
  double grace_seconds = 30;
  double call_timeout_seconds = 120;
  app.add_option("--listen", options.listen, "host:port to serve on; port 0 picks a free port")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "Write the bound port to this file once serving");
  app.add_option("--workers", workers,
                 "Workers: host:port,host:port or dns:///name:port (every address it resolves to)")
      ->required();
  bool check_config = false;
  tierscore::common::AddServingFlags(app, &options.health_listen, &options.metrics_listen,
                                     &check_config);
  app.add_option("--data-dir", options.data_dir,
                 "Directory for uploaded datasets, shared with the workers at the same path");
  app.add_option("--redis", options.redis,
                 "Store for published runs and lookups: redis://host:port/db or "
                 "unix:///path?db=N (default: none, runs are not published)");
  std::string redis_password_file;
  app.add_option("--redis-password-file", redis_password_file,
                 "File whose first line is the Redis password (else $TIERSCORE_REDIS_PASSWORD)")
      ->check(CLI::ExistingFile);
  double wait_for_workers_seconds = 300;
  app.add_option("--wait-for-workers", wait_for_workers_seconds,
                 "Seconds a job waits in the queue for a healthy worker")
      ->capture_default_str();
  app.add_option("--max-running", options.jobs.max_running, "Jobs run at once")
      ->capture_default_str();
  app.add_option("--keep-jobs", options.jobs.keep_finished,
                 "Finished jobs remembered (status, KPIs, result cache); older ones are forgotten")
      ->capture_default_str();
  double keep_jobs_hours = absl::ToDoubleHours(options.jobs.keep_finished_for);
  app.add_option("--keep-jobs-hours", keep_jobs_hours, "Hours a finished job is remembered at most")
      ->capture_default_str();
  app.add_option("--max-queued", options.jobs.max_queued, "Jobs waiting at most")
      ->capture_default_str();
  app.add_option("--check-inputs", options.jobs.check_inputs,
                 "Check each input at submit (exists, readable, has the job's columns); turn "
                 "off only when the coordinator does not see the workers' files")
      ->capture_default_str();
  app.add_option("--call-timeout", call_timeout_seconds,
                 "Seconds before a worker call counts as hung and its splits move")
      ->capture_default_str();
  double store_wait_seconds = absl::ToDoubleSeconds(options.jobs.store_wait);
  app.add_option("--store-wait", store_wait_seconds,
                 "Seconds to wait at start for Redis (the job store) to answer; then the "
                 "coordinator exits, so that it never serves without its past jobs")
      ->capture_default_str();
  double run_retention_minutes = absl::ToDoubleMinutes(options.jobs.runner.run_retention);
  app.add_option("--run-retention-minutes", run_retention_minutes,
                 "Minutes a replaced run stays readable by its id before it expires in Redis")
      ->capture_default_str();
  double job_timeout_seconds = absl::ToDoubleSeconds(options.jobs.job_timeout);
  app.add_option("--job-timeout", job_timeout_seconds,
                 "Seconds a running job may take before it fails DEADLINE_EXCEEDED (its worker "
                 "calls are cancelled)")
      ->capture_default_str();
  app.add_option("--grace", grace_seconds, "Seconds in-flight calls may finish after SIGTERM")
      ->capture_default_str();
  app.add_option("--lookup-lanes", options.lookup.lanes,
                 "Threads that batch concurrent lookups into shared store round trips; "
                 "0 answers each on its gRPC thread")
      ->capture_default_str();
  double alias_ttl_seconds = absl::ToDoubleSeconds(options.lookup.alias_ttl);
  app.add_option("--alias-ttl", alias_ttl_seconds,
                 "Seconds lookups trust which run an alias names (runs published elsewhere "
                 "are seen within this time)")
      ->capture_default_str();
  options.tls.insecure = false;  // a choice the user makes (common/credentials.h)
  options.worker_tls.insecure = false;
  tierscore::common::AddServerTlsFlags(
      app, &options.tls,
      "PEM CA of API clients' certificates; given, every client must present one");
  tierscore::common::AddChannelTlsFlags(app, &options.worker_tls, "worker-", "each worker");
  tierscore::coordinator::JobLimits& limits = options.jobs.limits;
  app.add_option("--max-criteria", limits.criteria, "Criteria a policy may have")
      ->capture_default_str();
  app.add_option("--max-tier-schemes", limits.tier_schemes, "Tier schemes a policy may have")
      ->capture_default_str();
  app.add_option("--max-grouping-sets", limits.grouping_sets, "Grouping sets a KPI spec may have")
      ->capture_default_str();
  app.add_option("--max-metrics", limits.metrics, "Metrics a KPI spec may have")
      ->capture_default_str();
  app.add_option("--max-inputs", limits.inputs, "Inputs and datasets a job may name")
      ->capture_default_str();
  app.add_option("--max-expression-bytes", limits.expression_bytes,
                 "Length of one expression or filter")
      ->capture_default_str();
  app.add_option("--max-groups", options.jobs.runner.max_groups,
                 "KPI groups (rows of a job's KPI table) a job may make")
      ->capture_default_str();
  app.add_option("--max-splits", options.jobs.runner.max_splits,
                 "Splits a job may be cut into (bounds a tiny split_bytes)")
      ->capture_default_str();
  app.add_option("--max-streams", options.max_streams,
                 "Result streams and publications running at once (each holds a thread)")
      ->capture_default_str();
  app.add_option("--max-streams-per-client", options.max_streams_per_client,
                 "The same, per client (token name, or address without tokens)")
      ->capture_default_str();
  double stream_stall_seconds = absl::ToDoubleSeconds(options.stream_stall_timeout);
  app.add_option("--stream-stall-seconds", stream_stall_seconds,
                 "A results stream whose client takes nothing for this long is cancelled")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-request-bytes", options.max_request_bytes,
                 "Largest request accepted (a job spec with its policy and KPI texts)")
      ->capture_default_str();
  app.add_option("--tokens", options.tokens_file,
                 "File of bearer tokens, one per line: <token> <role> <name> [aliases] (roles: "
                 "reader, submitter, admin). Without it every caller may do everything")
      ->check(CLI::ExistingFile);
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
  options.lookup.alias_ttl = absl::Seconds(alias_ttl_seconds);
  options.tls.require_client_cert = !options.tls.files.ca.empty();
  options.worker_tls.insecure = options.tls.insecure;
  if (auto password = tierscore::common::CheckServerSecurity(
          "tierscore-coordinator", options.tls.insecure, !options.data_roots.empty(), options.redis,
          redis_password_file);
      password.ok()) {
    options.redis_password = *std::move(password);
  } else {
    std::fprintf(stderr, "%s\n", std::string(password.status().message()).c_str());
    return 2;
  }
  if (options.tokens_file.empty()) {
    tierscore::common::LogEvent(
        spdlog::level::warn, "server.open",
        {{"server", "tierscore-coordinator"},
         {"detail", "no --tokens: every caller may submit, cancel and publish"}});
  }
  for (absl::string_view w : absl::StrSplit(workers, ',', absl::SkipWhitespace())) {
    options.pool.targets.emplace_back(w);
  }
  options.jobs.runner.call_timeout = absl::Seconds(call_timeout_seconds);
  options.jobs.runner.run_retention = absl::Seconds(run_retention_minutes * 60);
  options.jobs.wait_for_workers = absl::Seconds(wait_for_workers_seconds);
  options.jobs.job_timeout = absl::Seconds(job_timeout_seconds);
  options.jobs.store_wait = absl::Seconds(store_wait_seconds);
  options.jobs.keep_finished_for = absl::Hours(keep_jobs_hours);
  options.stream_stall_timeout = absl::Seconds(stream_stall_seconds);

  if (check_config) {
    return tierscore::common::ReportConfigCheck(
        tierscore::coordinator::CoordinatorServer::CheckConfig(options), "tierscore-coordinator");
  }
  const sigset_t stop = tierscore::common::BlockStopSignals();
  auto server = tierscore::coordinator::CoordinatorServer::Create(options);
  if (!server.ok()) {
    tierscore::common::LogEvent(
        spdlog::level::err, "server.failed",
        {{"server", "tierscore-coordinator"}, {"error", server.status().message()}});
    return 1;
  }
  if ((*server)->metrics_port() != 0) {
    tierscore::common::LogEvent(
        spdlog::level::info, "server.metrics",
        {{"server", "tierscore-coordinator"}, {"port", (*server)->metrics_port()}});
  }
  tierscore::common::LogEvent(
      spdlog::level::info, "workers.checked",
      {{"healthy", static_cast<int64_t>((*server)->workers()->Healthy().size())},
       {"total", static_cast<int64_t>((*server)->workers()->Members().size())}});
  return tierscore::common::ServeUntilStopped(
      **server, stop, port_file, absl::Seconds(grace_seconds), "tierscore-coordinator");
}
