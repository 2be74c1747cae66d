// Real tierscore-worker processes on loopback: one is SIGKILLed while the
// job loads, another SIGSTOPped during the cut search. The job must finish
// on the last worker with the reference's result. First with the job runner
// in this process, then with the tierscore-coordinator binary.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "coordinator/grpc_worker_client.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/temp_dir.h"
#include "tierscore/client.h"

namespace tierscore::coordinator {
namespace {

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria:
  - {name: revenue, expr: log1p(revenue_12m), normalize: max, weight: 0.5, direction: higher}
  - {name: margin, expr: margin_12m, normalize: minmax, weight: 0.3, direction: higher}
  - {name: recency, expr: 1 - days_since_last_order / 730, weight: 0.2,
     normalize: none, direction: higher}
tiers:
  - name: ladder
    pareto: {boundaries: [0.5, 0.7, 0.8, 0.9, 0.95, 0.98],
             names: [Diamond, Platinum, Gold, Silver, Bronze, Standard, Basic]}
  - {name: abc, abc: {}}
)yaml";

constexpr char kKpis[] = R"yaml(
grouping_sets: [[ladder, segment], [ladder], []]
metrics:
  - {name: customers, agg: count}
  - {name: revenue, agg: sum, expr: revenue_12m}
  - {name: p90, agg: quantile, q: 0.9, expr: revenue_12m}
)yaml";

// Starts `n` tierscore-worker processes on loopback ports; their addresses.
std::vector<std::string> StartWorkers(const testing::TempDir& dir, int n,
                                      std::vector<std::unique_ptr<testing::ChildProcess>>* out,
                                      const std::vector<std::string>& flags = {}) {
  std::vector<std::string> addresses;
  for (int i = 0; i < n; ++i) {
    const std::string port_file = dir.path() + "/worker" + std::to_string(out->size()) + ".port";
    std::vector<std::string> argv = {std::string(TIERSCORE_BINARY_DIR) + "/worker/tierscore-worker",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--port-file",
                                     port_file,
                                     "--threads",
                                     "1",
                                     "--insecure"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto child = testing::ChildProcess::Start(argv);
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) return {};
    out->push_back(*std::move(child));
    auto port = testing::WaitForPortFile(port_file, absl::Seconds(20));
    EXPECT_TRUE(port.ok()) << port.status();
    if (!port.ok()) return {};
    addresses.push_back("127.0.0.1:" + std::to_string(*port));
  }
  return addresses;
}

using ::testing::HasSubstr;
using ::testing::Not;

// The lines of a JSON log, each parsed; a line that is not a JSON object
// fails the test.
std::vector<google::protobuf::Struct> ReadJsonLog(const std::string& path) {
  std::ifstream in(path);
  std::vector<google::protobuf::Struct> out;
  for (std::string line; std::getline(in, line);) {
    google::protobuf::Struct parsed;
    const auto st = google::protobuf::util::JsonStringToMessage(line, &parsed);
    EXPECT_TRUE(st.ok()) << "not JSON: " << line;
    EXPECT_TRUE(parsed.fields().contains("event")) << "no event: " << line;
    out.push_back(std::move(parsed));
  }
  return out;
}

TEST(WorkerProcessTest, KilledAndHungWorkersCostTimeNotResults) {
  testing::TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = 150000;
  gen.seed = 8;
  const std::string input = dir.path() + "/customers.csv";
  ASSERT_TRUE(engine::GenerateCustomers(gen, input).ok());

  std::vector<std::unique_ptr<testing::ChildProcess>> workers;
  const std::vector<std::string> addresses = StartWorkers(dir, 3, &workers);
  ASSERT_EQ(addresses.size(), 3u);
  std::vector<std::unique_ptr<GrpcWorkerClient>> clients;
  std::vector<WorkerClient*> seams;
  for (const std::string& a : addresses) {
    clients.push_back(GrpcWorkerClient::Create(a, grpc::InsecureChannelCredentials(), {}));
    seams.push_back(clients.back().get());
  }

  v1::JobSpec spec;
  spec.add_inputs(input);
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
  spec.set_split_bytes(400000);  // ~35 splits

  JobRunnerOptions options;
  options.load_calls_per_worker = 1;
  options.call_timeout = absl::Seconds(3);  // how long a hung worker costs
  auto runner = JobRunner::Create(seams, options);
  ASSERT_TRUE(runner.ok());
  std::atomic<bool> killed{false}, stopped{false};
  auto outcome = (*runner)->Run("killjob", spec, [&](const JobProgress& p) {
    if (p.phase == "load" && p.splits_done >= 4 && !killed.exchange(true)) {
      workers[0]->Signal(SIGKILL);
    }
    if (p.phase == "search" && !stopped.exchange(true)) workers[1]->Signal(SIGSTOP);
  });
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(killed && stopped);
  EXPECT_GE(outcome->recoveries, 2);
  EXPECT_FALSE(outcome->alive[0]);
  EXPECT_FALSE(outcome->alive[1]);

  testing::ClusterRun run;
  run.outcome = *std::move(outcome);
  std::string csv;
  ASSERT_TRUE((*runner)
                  ->ExportResults(run.outcome, false,
                                  [&](const std::string& chunk) {
                                    csv += chunk;
                                    return absl::OkStatus();
                                  })
                  .ok());
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    testing::ResultRow row;
    std::from_chars(f[1].data(), f[1].data() + f[1].size(), row.score);
    row.tiers = {f[2], f[3]};
    run.rows[f[0]] = row;
  }
  (*runner)->Release("killjob");
  testing::ExpectSameAsReference(spec, run);
}

}  // namespace
}  // namespace tierscore::coordinator

namespace tierscore::coordinator {
namespace {

// The real binaries: tierscore-coordinator and three tierscore-workers on
// loopback ports, driven through the public API. One worker is SIGKILLed
// while the job loads, another SIGSTOPped during the cut search (the
// coordinator's --call-timeout detects it).
TEST(ClusterProcessTest, CoordinatorAndWorkersSurviveKillAndStop) {
  testing::TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = 150000;
  gen.seed = 9;
  gen.extra_zero_share = 0.2;
  const std::string input = dir.path() + "/customers.csv";
  ASSERT_TRUE(engine::GenerateCustomers(gen, input).ok());

  std::vector<std::unique_ptr<testing::ChildProcess>> workers;
  const std::vector<std::string> started = StartWorkers(dir, 3, &workers);
  ASSERT_EQ(started.size(), 3u);
  const std::string addresses = absl::StrJoin(started, ",");
  const std::string coordinator_port = dir.path() + "/c";
  const std::string coordinator_log = dir.path() + "/coordinator.log";
  auto coordinator = testing::ChildProcess::Start(
      {std::string(TIERSCORE_BINARY_DIR) + "/coordinator/tierscore-coordinator", "--listen",
       "127.0.0.1:0", "--port-file", coordinator_port, "--workers", addresses, "--call-timeout",
       "3", "--log-format", "json", "--insecure"},
      coordinator_log);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  auto port = testing::WaitForPortFile(coordinator_port, absl::Seconds(20));
  ASSERT_TRUE(port.ok()) << port.status();
  auto client =
      *client::Client::Create({.target = "127.0.0.1:" + std::to_string(*port), .insecure = true});

  v1::JobSpec spec;
  spec.add_inputs(input);
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
  spec.set_split_bytes(300000);  // ~45 splits: loading takes a while
  spec.set_no_publish(true);
  auto submitted = client->Submit(spec);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  bool killed = false, stopped = false;
  auto done =
      client->Attach(submitted->id())
          .Wait(
              [&](const v1::Job& job) {
                // WatchJob sends each phase as it starts (progress within one is
                // throttled): the kill lands while the splits load.
                if (job.progress().phase() == "load" && !killed) {
                  workers[0]->Signal(SIGKILL);
                  killed = true;
                }
                if ((job.progress().phase() == "search" || job.progress().phase() == "assign") &&
                    !stopped) {
                  workers[1]->Signal(SIGSTOP);
                  stopped = true;
                }
              },
              absl::Minutes(3));
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_TRUE(killed && stopped);
  EXPECT_GE(done->result().stats().recoveries(), 1);

  auto kpis = client->Attach(done->id()).Kpis();
  ASSERT_TRUE(kpis.ok());
  v1::JobResult result = done->result();
  *result.mutable_kpis() = *kpis;
  auto compiled = engine::CompileJob(spec.policy(), spec.kpis());
  auto ref = engine::RunReference(**compiled, {input});
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(testing::ResultDiff(result, ref->result), "");

  // Per-customer results, streamed from the surviving worker.
  std::string csv;
  ASSERT_TRUE(client->Attach(done->id())
                  .Csv(
                      false,
                      [&](std::string_view chunk) {
                        csv += chunk;
                        return absl::OkStatus();
                      },
                      absl::Minutes(1))
                  .ok());
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), ref->ids.size() + 1);
  for (size_t i = 0; i < ref->ids.size(); ++i) {
    std::vector<std::string> f = absl::StrSplit(lines[i + 1], ',');
    ASSERT_EQ(f[0], ref->ids[i]);
    ASSERT_EQ(f[2],
              compiled->get()->policy.schemes[0].names[static_cast<size_t>(ref->tiers[0][i])]);
  }

  // The job's life is in the coordinator's log, one JSON object per line.
  const std::vector<google::protobuf::Struct> log = ReadJsonLog(coordinator_log);
  auto has = [&](const std::string& event) {
    for (const auto& line : log) {
      auto it = line.fields().find("event");
      if (it == line.fields().end() || it->second.string_value() != event) continue;
      auto job = line.fields().find("job");
      if (event.rfind("job.", 0) != 0 ||
          (job != line.fields().end() && job->second.string_value() == done->id())) {
        return &line;
      }
    }
    return static_cast<const google::protobuf::Struct*>(nullptr);
  };
  for (const char* event : {"job.submitted", "job.started", "job.worker_lost", "job.finished"}) {
    EXPECT_NE(has(event), nullptr) << "no " << event << " in the log";
  }
  if (const auto* finished = has("job.finished")) {
    EXPECT_EQ(finished->fields().at("customers").number_value(), 150000);
    EXPECT_GT(finished->fields().at("seconds").number_value(), 0);
  }
}

// The Redis password comes from a file or the environment: an address
// holding one is refused before anything is logged, the password never
// appears in a log or an error, and a cluster given it by file (workers)
// and by environment (coordinator) publishes to a Redis that requires it.
TEST(ClusterProcessTest, RedisPasswordsStayOffCommandLinesAndLogs) {
  testing::TempDir dir;
  const std::string coordinator_binary =
      std::string(TIERSCORE_BINARY_DIR) + "/coordinator/tierscore-coordinator";
  auto in_address = testing::RunCommand(
      {coordinator_binary, "--listen", "127.0.0.1:0", "--workers", "127.0.0.1:1", "--insecure",
       "--redis", "redis://:s3cret-pw@127.0.0.1:6379/0"},
      dir.path());
  EXPECT_EQ(in_address.code, 2);
  EXPECT_THAT(in_address.err, HasSubstr("--redis-password-file"));
  EXPECT_THAT(in_address.err + in_address.out, Not(HasSubstr("s3cret-pw")));

  auto redis = testing::RedisServer::Start(dir.path(), /*tcp=*/true, "s3cret-pw");
  ASSERT_TRUE(redis.ok()) << redis.status();
  const std::string password_file = dir.Write("redis.password", "s3cret-pw\n");
  std::vector<std::unique_ptr<testing::ChildProcess>> children;
  const std::vector<std::string> workers =
      StartWorkers(dir, 1, &children,
                   {"--redis", (*redis)->bare_address(), "--redis-password-file", password_file});
  ASSERT_EQ(workers.size(), 1u);
  const std::string port_file = dir.path() + "/c.port";
  const std::string log_path = dir.path() + "/coordinator.log";
  setenv("TIERSCORE_REDIS_PASSWORD", "s3cret-pw", 1);
  auto coordinator = testing::ChildProcess::Start(
      {coordinator_binary, "--listen", "127.0.0.1:0", "--port-file", port_file, "--workers",
       workers[0], "--insecure", "--redis", (*redis)->bare_address(), "--log-format", "json"},
      log_path);
  unsetenv("TIERSCORE_REDIS_PASSWORD");
  ASSERT_TRUE(coordinator.ok());
  auto port = testing::WaitForPortFile(port_file, absl::Seconds(20));
  ASSERT_TRUE(port.ok()) << port.status();
  const std::string input = dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 300}));
  const std::string cli = std::string(TIERSCORE_BINARY_DIR) + "/client/tierscore";
  const std::vector<std::string> env = {absl::StrCat("TIERSCORE_TARGET=127.0.0.1:", *port),
                                        "TIERSCORE_INSECURE=1"};
  auto submitted = testing::RunCommand(
      {cli, "submit", "--input", input, "--policy",
       std::string(TIERSCORE_SOURCE_DIR) + "/examples/policies/value_ladder.yaml", "--alias",
       "customers/x", "--wait", "--quiet"},
      dir.path(), env);
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  auto found =
      testing::RunCommand({cli, "lookup", "--alias", "customers/x", "C0000001"}, dir.path(), env);
  EXPECT_EQ(found.code, 0) << found.err;
  EXPECT_THAT(found.out, HasSubstr("C0000001"));
  (*coordinator)->Signal(SIGTERM);
  (*coordinator)->Wait(absl::Seconds(20));
  std::ifstream in(log_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, Not(HasSubstr("s3cret-pw")));
  EXPECT_THAT(text, HasSubstr("run.published"));
  EXPECT_FALSE(ReadJsonLog(log_path).empty());
}

}  // namespace
}  // namespace tierscore::coordinator

namespace tierscore::coordinator {
namespace {

// Asks the server at `address` for its services through gRPC reflection (a
// ListServices request, sent as one message); the call's status and the
// reply's bytes.
std::pair<grpc::Status, std::string> ListServices(const std::string& address) {
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  const std::string list_services("\x3a\x00", 2);  // field 7, list_services: ""
  grpc::Slice slice(list_services);
  grpc::ByteBuffer request(&slice, 1), response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                 grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return {status, bytes};
}

TEST(ServerProcessTest, ReflectionIsOffUnlessAskedFor) {
  testing::TempDir dir;
  std::vector<std::unique_ptr<testing::ChildProcess>> workers;
  const std::vector<std::string> plain = StartWorkers(dir, 1, &workers);
  const std::vector<std::string> reflecting = StartWorkers(dir, 1, &workers, {"--reflection"});
  ASSERT_EQ(plain.size(), 1u);
  ASSERT_EQ(reflecting.size(), 1u);
  EXPECT_EQ(ListServices(plain[0]).first.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  auto [status, services] = ListServices(reflecting[0]);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(services, HasSubstr("tierscore.v1.Worker"));
}

}  // namespace
}  // namespace tierscore::coordinator
