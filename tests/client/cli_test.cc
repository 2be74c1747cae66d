// The `tierscore` binary against a real cluster (in-process servers on
// 127.0.0.1:0 and a real redis-server): every remote command, each output
// format, and the documented exit codes.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/memory_store.h"
#include "coordinator/coordinator_server.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/temp_dir.h"
#include "worker/worker_server.h"

namespace tierscore::client {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kCli = std::string(TIERSCORE_BINARY_DIR) + "/client/tierscore";
const std::string kPolicy = std::string(TIERSCORE_SOURCE_DIR) + "/examples/policies/loyalty.yaml";
const std::string kKpis = std::string(TIERSCORE_SOURCE_DIR) + "/examples/kpis/by_tier_segment.yaml";

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = testing::RedisServer::Start(dir_.path());
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    coordinator::CoordinatorServerOptions options;
    for (int i = 0; i < 2; ++i) {
      worker::WorkerServerOptions wo;
      wo.threads = 1;
      wo.redis = redis_->address();
      auto w = worker::WorkerServer::Create(wo);
      ASSERT_TRUE(w.ok()) << w.status();
      options.pool.targets.push_back((*w)->address());
      workers_.push_back(*std::move(w));
    }
    options.redis = redis_->address();
    options.data_dir = dir_.path() + "/data";
    auto c = coordinator::CoordinatorServer::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = *std::move(c);
    engine::GeneratorOptions gen;
    gen.rows = 5000;
    gen.seed = 11;
    input_ = dir_.Write("customers.csv", engine::GenerateCustomersCsv(gen));
  }

  // The CLI with --target (from the environment) and these arguments.
  testing::CommandResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), kCli);
    return testing::RunCommand(
        args, dir_.path(), {"TIERSCORE_TARGET=" + coordinator_->address(), "TIERSCORE_INSECURE=1"});
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::vector<std::unique_ptr<worker::WorkerServer>> workers_;
  std::unique_ptr<coordinator::CoordinatorServer> coordinator_;
  std::string input_;
};

TEST_F(CliTest, AJobFromUploadToLookupInEveryFormat) {
  auto up = Cli({"upload", "base", input_});
  ASSERT_EQ(up.code, 0) << up.err;
  EXPECT_THAT(up.out, HasSubstr("uploaded base:"));
  auto listed = Cli({"datasets", "--format", "csv"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(Lines(listed.out),
              ::testing::ElementsAre(StartsWith("name,complete,bytes"), StartsWith("base,yes,")));

  auto submitted = Cli({"submit", "--dataset", "base", "--policy", kPolicy, "--kpis", kKpis,
                        "--alias", "cli/test", "--wait", "--format", "json"});
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  EXPECT_THAT(submitted.out, HasSubstr("\"state\":\"JOB_STATE_SUCCEEDED\""));
  const size_t at = submitted.out.find("\"id\":\"") + 6;
  const std::string id = submitted.out.substr(at, submitted.out.find('"', at) - at);
  ASSERT_THAT(id, StartsWith("job-"));

  auto status = Cli({"status", id});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("job " + id + ": succeeded"));
  EXPECT_THAT(status.out, HasSubstr("published as cli/test"));
  auto status_csv = Cli({"status", id, "--format", "csv"});
  EXPECT_THAT(Lines(status_csv.out),
              ::testing::ElementsAre(StartsWith("id,state,phase"), StartsWith(id + ",succeeded")));
  EXPECT_THAT(Cli({"status", id, "--format", "json"}).out, StartsWith("{\"id\":\"" + id));

  auto watch = Cli({"watch", id});
  EXPECT_EQ(watch.code, 0) << watch.err;
  auto jobs = Cli({"jobs", "--format", "csv", "--state", "succeeded", "--alias", "cli/test"});
  ASSERT_EQ(jobs.code, 0) << jobs.err;
  EXPECT_EQ(Lines(jobs.out).size(), 2u);
  EXPECT_EQ(Lines(Cli({"jobs", "--format", "csv", "--state", "failed"}).out).size(), 1u);

  auto kpis = Cli({"kpis", id, "--format", "csv"});
  ASSERT_EQ(kpis.code, 0) << kpis.err;
  EXPECT_THAT(kpis.out, StartsWith("ladder,segment,"));
  EXPECT_THAT(Cli({"kpis", id, "--format", "json"}).out, StartsWith("{\"dim_columns\""));

  auto results = Cli({"results", id});
  ASSERT_EQ(results.code, 0) << results.err;
  EXPECT_EQ(Lines(results.out).size(), 5001u);
  EXPECT_THAT(results.out, StartsWith("customer_id,score,ladder,abc,value\n"));
  auto rows = Cli({"results", id, "--format", "json", "--explain"});
  ASSERT_EQ(rows.code, 0) << rows.err;
  const auto json_lines = Lines(rows.out);
  ASSERT_EQ(json_lines.size(), 5000u);
  EXPECT_THAT(json_lines[0], StartsWith("{\"customer_id\":\"C0000001\",\"score\":"));
  EXPECT_THAT(json_lines[0], HasSubstr("\"tiers\":{\"ladder\":"));
  EXPECT_THAT(json_lines[0], HasSubstr("\"contributions\":{\"revenue\":"));
  const std::string out = dir_.path() + "/results.csv";
  ASSERT_EQ(Cli({"results", id, "--out", out}).code, 0);
  EXPECT_EQ(testing::TempDir::Read(out), results.out);

  auto lookup = Cli({"lookup", "--alias", "cli/test", "C0000001", "C0000002"});
  ASSERT_EQ(lookup.code, 0) << lookup.err;
  EXPECT_THAT(lookup.out, HasSubstr("C0000001 (run " + id + ")"));
  auto lookup_csv = Cli({"lookup", "--alias", "cli/test", "--format", "csv", "C0000001", "nobody"});
  EXPECT_EQ(lookup_csv.code, 4);  // one id is not there
  EXPECT_THAT(Lines(lookup_csv.out),
              ::testing::ElementsAre(
                  "customer_id,found,run_id,score,value,percentile,ladder,ladder_previous,abc,"
                  "abc_previous",
                  StartsWith("C0000001,true," + id + ","), "nobody,false,,,,,,,,"));

  auto lookup_json =
      Cli({"lookup", "--alias", "cli/test", "--format", "json", "C0000001", "nobody"});
  EXPECT_THAT(lookup_json.out,
              StartsWith("[{\"customer_id\":\"C0000001\",\"found\":true,\"run_id\":"));
  EXPECT_THAT(lookup_json.out, HasSubstr("\"tiers\":{\"ladder\":{\"tier\":"));
  EXPECT_THAT(lookup_json.out, HasSubstr("{\"customer_id\":\"nobody\",\"found\":false}]"));

  // A dry run compares with the alias's current run and moves nothing.
  auto whatif = Cli({"whatif", "--alias", "cli/test", "--input", input_, "--policy", kPolicy});
  ASSERT_EQ(whatif.code, 0) << whatif.err;
  EXPECT_THAT(whatif.out, HasSubstr("migration of ladder since run " + id));
  EXPECT_THAT(Cli({"lookup", "--alias", "cli/test", "C0000001"}).out, HasSubstr("(run " + id));
  auto whatif_csv = Cli(
      {"whatif", "--alias", "cli/test", "--input", input_, "--policy", kPolicy, "--format", "csv"});
  ASSERT_EQ(whatif_csv.code, 0) << whatif_csv.err;
  EXPECT_THAT(whatif_csv.out, StartsWith("scheme,previous_run,from,to,customers,value\n"));
  auto typo = Cli({"whatif", "--alias", "cli/tset", "--input", input_, "--policy", kPolicy});
  EXPECT_EQ(typo.code, 4);
  EXPECT_THAT(typo.err, HasSubstr("alias cli/tset has no published run"));
  EXPECT_THAT(Cli({"kpis", id, "--migration", "--format", "json"}).out,
              HasSubstr("\"migration\":[]"));  // the alias's first run
  auto no_migration = Cli({"kpis", id, "--migration"});
  EXPECT_THAT(no_migration.err, HasSubstr("was not compared with a previous run"));

  auto publish = Cli({"publish", id});
  EXPECT_EQ(publish.code, 0) << publish.err;  // published already: returned as it is
  EXPECT_EQ(Cli({"cancel", id}).code, 0);     // finished: unchanged
  ASSERT_EQ(Cli({"datasets", "--delete", "base"}).code, 0);
  EXPECT_EQ(Lines(Cli({"datasets", "--format", "csv"}).out).size(), 1u);
}

TEST_F(CliTest, ExitCodesSayWhatToDo) {
  auto usage = testing::RunCommand({kCli, "status"}, dir_.path());  // no --target anywhere
  EXPECT_EQ(usage.code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--target is required"));
  EXPECT_EQ(testing::RunCommand({kCli}, dir_.path()).code, 2);
  EXPECT_EQ(Cli({"status", "job-1-1-0000", "--format", "yaml"}).code, 2);

  auto missing = Cli({"status", "job-1-1-0000"});
  EXPECT_EQ(missing.code, 4);
  EXPECT_THAT(missing.err, StartsWith("tierscore: error: "));
  EXPECT_EQ(Lines(missing.err).size(), 1u);  // one line, naming the cause
  auto bad_name = Cli({"status", "a b"});
  EXPECT_EQ(bad_name.code, 3);

  auto relative = Cli({"submit", "--input", "nowhere.csv", "--policy", kPolicy});
  EXPECT_EQ(relative.code, 4);  // made absolute by the CLI, then not found at submit
  EXPECT_THAT(relative.err, HasSubstr("nowhere.csv\" does not exist"));
  auto bad_policy = Cli({"submit", "--input", input_, "--policy",
                         std::string(TIERSCORE_SOURCE_DIR) + "/tests/data/bad_policy.yaml"});
  EXPECT_EQ(bad_policy.code, 3);

  // A job that fails while running: 6, with its error.
  std::string header = Lines(testing::TempDir::Read(input_))[0];
  std::string row = "Z";
  for (char c : header) {
    if (c == ',') row += ",x";
  }
  auto failed = Cli({"submit", "--input", dir_.Write("bad.csv", header + "\n" + row + "\n"),
                     "--policy", kPolicy, "--no-publish", "--wait"});
  EXPECT_EQ(failed.code, 6);
  EXPECT_THAT(failed.err, HasSubstr("bad.csv:2:"));

  // Outputs that cannot be written are found before the job runs.
  const int jobs_before = static_cast<int>(Lines(Cli({"jobs", "--format", "csv"}).out).size());
  auto no_dir = Cli({"submit", "--input", input_, "--policy", kPolicy, "--no-publish", "--wait",
                     "--out", dir_.path() + "/no/such/dir/r.csv"});
  EXPECT_EQ(no_dir.code, 4);
  EXPECT_THAT(no_dir.err, HasSubstr("--out: directory"));
  EXPECT_EQ(static_cast<int>(Lines(Cli({"jobs", "--format", "csv"}).out).size()), jobs_before);
  EXPECT_EQ(Cli({"jobs", "--limit", "0"}).code, 2);
  EXPECT_EQ(Cli({"jobs", "--since", "1x"}).code, 2);
  EXPECT_EQ(Cli({"jobs", "--format", "xml"}).code, 2);
  // $TIERSCORE_FORMAT concerns commands that talk to a coordinator only.
  EXPECT_EQ(testing::RunCommand({kCli, "policy", "validate", kPolicy}, dir_.path(),
                                {"TIERSCORE_FORMAT=xml"})
                .code,
            0);
  // A worker's address is not a coordinator's: said in so many words.
  auto worker = testing::RunCommand(
      {kCli, "jobs", "--insecure", "--target", workers_[0]->address()}, dir_.path());
  EXPECT_EQ(worker.code, 1);
  EXPECT_THAT(worker.err, HasSubstr("does not serve tierscore.v1.Coordinator"));

  // A TLS file that is not there: 4, as any missing file, in one line.
  auto no_ca = testing::RunCommand(
      {kCli, "jobs", "--target", "127.0.0.1:1", "--tls-ca", dir_.path() + "/none.pem"},
      dir_.path());
  EXPECT_EQ(no_ca.code, 4) << no_ca.err;
  EXPECT_THAT(no_ca.err, HasSubstr("none.pem"));

  // Nobody listening: 5 (try again later).
  auto down =
      testing::RunCommand({kCli, "jobs", "--insecure", "--target", "127.0.0.1:1"}, dir_.path());
  EXPECT_EQ(down.code, 5);

  // A policy that does not validate against an input: 4, naming the column.
  auto columns = testing::RunCommand(
      {kCli, "policy", "validate", kPolicy, "--input", dir_.Write("few.csv", "customer_id\nA\n")},
      dir_.path());
  EXPECT_EQ(columns.code, 4);
  EXPECT_THAT(columns.err, HasSubstr("is not in the header"));
  auto explained = testing::RunCommand({kCli, "policy", "explain", kPolicy}, dir_.path());
  EXPECT_EQ(explained.code, 0);
  EXPECT_THAT(explained.out, HasSubstr("downgrade protection: at most 1 tier(s) down per run"));
  // The JSON form reads back as a policy (the README says so), defaults
  // and all, and explains the same.
  auto json =
      testing::RunCommand({kCli, "policy", "explain", kPolicy, "--format", "json"}, dir_.path());
  ASSERT_EQ(json.code, 0) << json.err;
  const std::string again = dir_.Write("again.json", json.out);
  auto validated = testing::RunCommand({kCli, "policy", "validate", again}, dir_.path());
  EXPECT_EQ(validated.code, 0) << validated.err;
  auto explained_again = testing::RunCommand({kCli, "policy", "explain", again}, dir_.path());
  EXPECT_EQ(explained_again.out, explained.out);
}

// TLS or plaintext: a flag beats the environment, two flags (or two
// variables) that contradict each other are a usage error.
TEST_F(CliTest, AFlagBeatsTheEnvironmentForTls) {
  const std::string target = "TIERSCORE_TARGET=" + coordinator_->address();
  const std::string missing_ca = dir_.path() + "/none.pem";
  auto run = [&](std::vector<std::string> args, std::vector<std::string> env) {
    args.insert(args.begin(), {kCli, "jobs"});
    env.push_back(target);
    return testing::RunCommand(args, dir_.path(), env);
  };
  // $TIERSCORE_TLS_CA set for every command, --insecure for this one.
  auto plain = run({"--insecure"}, {"TIERSCORE_TLS_CA=" + missing_ca});
  EXPECT_EQ(plain.code, 0) << plain.err;
  // $TIERSCORE_INSECURE set, --tls-ca for this one: TLS (its file is missing).
  auto tls = run({"--tls-ca", missing_ca}, {"TIERSCORE_INSECURE=1"});
  EXPECT_EQ(tls.code, 4) << tls.err;
  EXPECT_THAT(tls.err, HasSubstr("none.pem"));
  auto both_flags = run({"--insecure", "--tls-ca", missing_ca}, {});
  EXPECT_EQ(both_flags.code, 2) << both_flags.err;
  EXPECT_THAT(both_flags.err, HasSubstr("exclude each other"));
  auto both_vars = run({}, {"TIERSCORE_INSECURE=1", "TIERSCORE_TLS_CA=" + missing_ca});
  EXPECT_EQ(both_vars.code, 2) << both_vars.err;
  EXPECT_THAT(both_vars.err, HasSubstr("$TIERSCORE_INSECURE and $TIERSCORE_TLS_CA"));
  auto off = run({}, {"TIERSCORE_INSECURE=0"});  // neither: told what to give
  EXPECT_EQ(off.code, 2) << off.err;
  EXPECT_THAT(off.err, HasSubstr("no --tls-ca"));
}

TEST(CliQueueTest, ACancelledJobExitsSeven) {
  testing::TempDir dir;
  coordinator::CoordinatorServerOptions options;
  options.pool.targets = {"127.0.0.1:1"};  // never healthy: jobs stay queued
  options.jobs.wait_for_workers = absl::Minutes(5);
  auto coordinator = coordinator::CoordinatorServer::Create(options);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  const std::vector<std::string> env = {"TIERSCORE_TARGET=" + (*coordinator)->address(),
                                        "TIERSCORE_INSECURE=1"};
  const std::string input = dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 10}));
  auto submitted = testing::RunCommand(
      {kCli, "submit", "--input", input, "--policy", kPolicy, "--no-publish", "--quiet"},
      dir.path(), env);
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  const std::string id = Lines(submitted.out).at(0);
  auto cancel = testing::RunCommand({kCli, "cancel", id}, dir.path(), env);
  EXPECT_EQ(cancel.code, 0) << cancel.err;
  EXPECT_THAT(cancel.out, HasSubstr("cancel"));  // cancelled, or cancelling while it waits
  auto watch = testing::RunCommand({kCli, "watch", id, "--format", "csv"}, dir.path(), env);
  EXPECT_EQ(watch.code, 7);
  EXPECT_THAT(watch.out, HasSubstr(id + ",cancelled"));
}

// `submit --wait` names the job before it waits, and follows it across a
// coordinator restart: the first coordinator has no healthy worker and is
// stopped with the job queued; a second one on the same port, with the
// same job store and a worker, runs it, and the command ends with its
// result.
TEST(CliRestartTest, SubmitWaitFollowsTheJobAcrossACoordinatorRestart) {
  testing::TempDir dir;
  common::MemoryStore store;  // the job store both coordinators share
  coordinator::CoordinatorServerOptions first;
  first.pool.targets = {"127.0.0.1:1"};  // never healthy: the job stays queued
  first.jobs.wait_for_workers = absl::Minutes(5);
  first.store = &store;
  auto coordinator = coordinator::CoordinatorServer::Create(first);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  const std::string address = (*coordinator)->address();
  const std::string input = dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 300}));
  const std::string err = dir.path() + "/submit.err";
  setenv("TIERSCORE_INSECURE", "1", 1);
  auto submit = testing::ChildProcess::Start({kCli, "submit", "--target", address, "--input", input,
                                              "--policy", kPolicy, "--no-publish", "--wait"},
                                             err);
  unsetenv("TIERSCORE_INSECURE");
  ASSERT_TRUE(submit.ok());
  std::string said;
  for (int i = 0; i < 200 && !absl::StrContains(said, "submitted job"); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    said = testing::TempDir::Read(err);
  }
  ASSERT_THAT(said, HasSubstr("submitted job job-"));
  absl::SleepFor(absl::Milliseconds(300));  // persisted, and watched
  coordinator->reset();                     // the coordinator goes away with the job queued

  auto worker = worker::WorkerServer::Create({.threads = 1});
  ASSERT_TRUE(worker.ok());
  coordinator::CoordinatorServerOptions second;
  second.listen = address;
  second.pool.targets = {(*worker)->address()};
  second.store = &store;
  auto restarted = coordinator::CoordinatorServer::Create(second);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_EQ((*submit)->Wait(absl::Seconds(60)), 0) << testing::TempDir::Read(err);
}

}  // namespace
}  // namespace tierscore::client
