// TLS on every endpoint, against real servers on 127.0.0.1:0 with
// certificates made by scripts/dev-certs.sh: a cluster runs a job over TLS
// and mutual TLS; plaintext, a foreign CA, a missing or wrong client
// certificate are refused with the codes a caller acts on; renewed
// certificates are picked up while serving; the binaries refuse to start
// without a choice between TLS and --insecure.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/coordinator_server.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"
#include "tierscore/client.h"
#include "worker/worker_server.h"

namespace tierscore {
namespace {

using ::testing::HasSubstr;

// A CA and the cluster's certificates (see scripts/dev-certs.sh) in `dir`.
void MakeCerts(const testing::TempDir& tmp, const std::string& dir) {
  auto made = testing::RunCommand(
      {"/bin/bash", std::string(TIERSCORE_SOURCE_DIR) + "/scripts/dev-certs.sh", dir}, tmp.path());
  ASSERT_EQ(made.code, 0) << made.err;
}

std::string Policy() {
  return std::string(TIERSCORE_SOURCE_DIR) + "/examples/policies/value_ladder.yaml";
}

class TlsClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = tmp_.path() + "/certs";
    MakeCerts(tmp_, certs_);
    other_ = tmp_.path() + "/other";  // a CA nobody here trusts
    MakeCerts(tmp_, other_);
    input_ = tmp_.Write("customers.csv", engine::GenerateCustomersCsv({.rows = 3000, .seed = 4}));

    worker::WorkerServerOptions w;
    w.threads = 1;
    w.tls = WorkerTls();
    auto worker = worker::WorkerServer::Create(w);
    ASSERT_TRUE(worker.ok()) << worker.status();
    worker_ = *std::move(worker);

    coordinator::CoordinatorServerOptions c;
    c.pool.targets = {worker_->address()};
    c.tls.insecure = false;
    c.tls.files = {.cert = certs_ + "/coordinator.pem", .key = certs_ + "/coordinator.key"};
    c.worker_tls = CoordinatorToWorkers();
    auto coordinator = coordinator::CoordinatorServer::Create(c);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = *std::move(coordinator);
  }

  common::ServerTls WorkerTls() const {
    common::ServerTls tls;
    tls.files = {
        .cert = certs_ + "/worker.pem", .key = certs_ + "/worker.key", .ca = certs_ + "/ca.pem"};
    tls.require_client_cert = true;
    tls.client_name = "tierscore-coordinator";
    return tls;
  }

  common::ChannelTls CoordinatorToWorkers() const {
    common::ChannelTls tls;
    tls.files = {.cert = certs_ + "/coordinator.pem",
                 .key = certs_ + "/coordinator.key",
                 .ca = certs_ + "/ca.pem"};
    tls.server_name = "tierscore-worker";
    return tls;
  }

  client::ClientOptions ClientTls() const {
    return {.target = coordinator_->address(), .tls_ca = certs_ + "/ca.pem"};
  }

  // A health check on `target` through a channel made with `tls`.
  grpc::Status Check(const std::string& target, const common::ChannelTls& tls) {
    grpc::ChannelArguments args;
    auto credentials = common::MakeChannelCredentials(tls, "test", &args);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    auto stub =
        grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(target, *credentials, args));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    return stub->Check(&ctx, req, &resp);
  }

  v1::JobSpec Spec() const {
    v1::JobSpec spec;
    *spec.mutable_policy_text() = *client::ReadConfigFile(Policy());
    spec.add_inputs(input_);
    spec.set_no_publish(true);
    return spec;
  }

  testing::TempDir tmp_;
  std::string certs_, other_, input_;
  std::unique_ptr<worker::WorkerServer> worker_;
  std::unique_ptr<coordinator::CoordinatorServer> coordinator_;
};

TEST_F(TlsClusterTest, AJobRunsOverTlsAndMutualTls) {
  auto client = client::Client::Create(ClientTls());
  ASSERT_TRUE(client.ok()) << client.status();
  auto job = (*client)->Submit(Spec());
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = job->Wait();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_EQ(done->result().customers(), 3000);
}

TEST_F(TlsClusterTest, PlaintextAndForeignCertificatesAreRefused) {
  // Plaintext to a TLS port: the handshake fails, UNAVAILABLE.
  auto plain = client::Client::Create(
      {.target = coordinator_->address(), .insecure = true, .max_attempts = 1});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->ListJobs().status().code(), absl::StatusCode::kUnavailable);
  // A client that trusts another CA does not accept the coordinator.
  auto foreign = client::Client::Create(
      {.target = coordinator_->address(), .tls_ca = other_ + "/ca.pem", .max_attempts = 1});
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ((*foreign)->ListJobs().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(TlsClusterTest, WorkersAnswerOnlyTheCoordinatorsCertificate) {
  common::ChannelTls tls = CoordinatorToWorkers();
  EXPECT_TRUE(Check(worker_->address(), tls).ok());
  // No client certificate: the handshake fails.
  tls.files.cert.clear();
  tls.files.key.clear();
  EXPECT_EQ(Check(worker_->address(), tls).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A certificate of the same CA with another name: refused by name.
  tls.files.cert = certs_ + "/client.pem";
  tls.files.key = certs_ + "/client.key";
  grpc::Status named = Check(worker_->address(), tls);
  EXPECT_EQ(named.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(named.error_message(), HasSubstr("coordinator's certificate"));
  // The coordinator's name, signed by another CA: the handshake fails.
  tls.files.cert = other_ + "/coordinator.pem";
  tls.files.key = other_ + "/coordinator.key";
  EXPECT_EQ(Check(worker_->address(), tls).error_code(), grpc::StatusCode::UNAVAILABLE);
  // Plaintext.
  EXPECT_EQ(Check(worker_->address(), common::ChannelTls::Plaintext()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(TlsOptionsTest, EveryMistakeIsNamedAtStart) {
  testing::TempDir tmp;
  const std::string certs = tmp.path() + "/certs";
  MakeCerts(tmp, certs);
  const std::string not_pem = tmp.Write("not.pem", "hello\n");

  worker::WorkerServerOptions w;
  w.tls.insecure = false;  // and no files
  auto none = worker::WorkerServer::Create(w);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("no TLS certificate given"));

  w.tls.files = {.cert = not_pem, .key = certs + "/worker.key", .ca = certs + "/ca.pem"};
  auto bad = worker::WorkerServer::Create(w);
  EXPECT_THAT(bad.status().message(), HasSubstr("tls-cert: " + not_pem + " holds no PEM"));

  w.tls.files = {.cert = certs + "/worker.pem", .key = certs + "/worker.key"};
  w.tls.require_client_cert = true;
  auto no_ca = worker::WorkerServer::Create(w);
  EXPECT_THAT(no_ca.status().message(), HasSubstr("tls-ca is required"));

  w.tls.insecure = true;
  auto both = worker::WorkerServer::Create(w);
  EXPECT_THAT(both.status().message(), HasSubstr("exclude each other"));

  auto client = client::Client::Create({.target = "127.0.0.1:1"});
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TlsOptionsTest, BinariesRefuseToStartWithoutAChoice) {
  testing::TempDir tmp;
  const std::vector<std::vector<std::string>> commands = {
      {std::string(TIERSCORE_BINARY_DIR) + "/worker/tierscore-worker", "--listen", "127.0.0.1:0"},
      {std::string(TIERSCORE_BINARY_DIR) + "/coordinator/tierscore-coordinator", "--listen",
       "127.0.0.1:0", "--workers", "127.0.0.1:1"}};
  for (const std::vector<std::string>& argv : commands) {
    auto run = testing::RunCommand(argv, tmp.path(), {}, absl::Seconds(30));
    EXPECT_NE(run.code, 0) << argv[0];
    EXPECT_THAT(run.err, HasSubstr("no TLS certificate given")) << argv[0];
  }
}

// A renewed server certificate is served without a restart: the
// coordinator's files are replaced by ones of another CA, and a client
// trusting only that CA gets in once the watcher has read them.
TEST(TlsReloadTest, ARenewedCertificateIsServedWithoutARestart) {
  testing::TempDir tmp;
  MakeCerts(tmp, tmp.path() + "/old");
  MakeCerts(tmp, tmp.path() + "/new");
  const std::string live = tmp.path() + "/live";
  ASSERT_EQ(testing::RunCommand({"/bin/cp", "-r", tmp.path() + "/old", live}, tmp.path()).code, 0);

  auto worker = worker::WorkerServer::Create({.threads = 1});
  ASSERT_TRUE(worker.ok());
  coordinator::CoordinatorServerOptions c;
  c.pool.targets = {(*worker)->address()};
  c.tls.insecure = false;
  c.tls.files = {.cert = live + "/coordinator.pem",
                 .key = live + "/coordinator.key",
                 .reload = absl::Seconds(1)};
  auto coordinator = coordinator::CoordinatorServer::Create(c);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();

  auto reach = [&](const std::string& ca) {
    auto client = client::Client::Create(
        {.target = (*coordinator)->address(), .tls_ca = ca, .max_attempts = 1});
    return (*client)->ListJobs().status();
  };
  EXPECT_TRUE(reach(tmp.path() + "/old/ca.pem").ok());
  EXPECT_FALSE(reach(tmp.path() + "/new/ca.pem").ok());
  // Key and certificate change together: a directory renamed over another.
  ASSERT_EQ(
      testing::RunCommand({"/bin/cp", "-r", tmp.path() + "/new", live + ".next"}, tmp.path()).code,
      0);
  ASSERT_EQ(testing::RunCommand({"/bin/rm", "-r", live}, tmp.path()).code, 0);
  ASSERT_EQ(std::rename((live + ".next").c_str(), live.c_str()), 0);
  absl::Status now = absl::UnknownError("not tried");
  for (int i = 0; i < 50 && !now.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(200));
    now = reach(tmp.path() + "/new/ca.pem");
  }
  EXPECT_TRUE(now.ok()) << now;
}

}  // namespace
}  // namespace tierscore
