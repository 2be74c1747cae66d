// Security against real servers on 127.0.0.1:0. TLS, with certificates
// made by scripts/dev-certs.sh: a cluster runs a job over TLS and mutual
// TLS; plaintext, a foreign CA, a missing or wrong client certificate are
// refused with the codes a caller acts on; renewed certificates are picked
// up while serving; the binaries refuse to start without a choice between
// TLS and --insecure. Tokens: every role against every kind of call, through
// the SDK, and through the binaries with the audit log read back.
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/memory_store.h"
#include "coordinator/coordinator_server.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/temp_dir.h"
#include "tierscore/client.h"
#include "tierscore/v1/worker.grpc.pb.h"
#include "worker/worker_server.h"

namespace tierscore {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
    w.health_listen = "127.0.0.1:0";
    auto worker = worker::WorkerServer::Create(w);
    ASSERT_TRUE(worker.ok()) << worker.status();
    worker_ = *std::move(worker);

    coordinator::CoordinatorServerOptions c;
    c.pool.targets = {worker_->address()};
    c.tls.insecure = false;
    c.tls.files = {.cert = certs_ + "/coordinator.pem", .key = certs_ + "/coordinator.key"};
    c.worker_tls = CoordinatorToWorkers();
    c.health_listen = "127.0.0.1:0";
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

// Probes that can present neither TLS nor a token (Kubernetes' grpc:
// probes) get a plaintext port that answers health checks and nothing
// else, and says NOT_SERVING as soon as its server drains.
TEST_F(TlsClusterTest, TheHealthPortIsPlaintextAndAnswersOnlyHealthChecks) {
  using grpc::health::v1::HealthCheckResponse;
  auto health = [](const std::string& target, const std::string& service) {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    grpc::Status st = stub->Check(&ctx, req, &resp);
    return std::make_pair(st.error_code(), resp.status());
  };
  const std::string worker = absl::StrCat("127.0.0.1:", worker_->health_port());
  const std::string coordinator = absl::StrCat("127.0.0.1:", coordinator_->health_port());
  ASSERT_NE(worker_->health_port(), worker_->port());
  for (const auto& [target, service] : {std::make_pair(worker, "tierscore.v1.Worker"),
                                        std::make_pair(coordinator, "tierscore.v1.Coordinator")}) {
    EXPECT_EQ(health(target, ""), std::make_pair(grpc::OK, HealthCheckResponse::SERVING));
    EXPECT_EQ(health(target, service), std::make_pair(grpc::OK, HealthCheckResponse::SERVING));
    EXPECT_EQ(health(target, "no.such.Service").first, grpc::NOT_FOUND);
  }
  // The Worker and Coordinator services are not there in plaintext.
  auto scan = v1::Worker::NewStub(grpc::CreateChannel(worker, grpc::InsecureChannelCredentials()));
  grpc::ClientContext scan_ctx;
  scan_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ScanRequest scan_req;
  v1::ScanResponse scan_resp;
  EXPECT_EQ(scan->Scan(&scan_ctx, scan_req, &scan_resp).error_code(), grpc::UNIMPLEMENTED);
  auto api = client::Client::Create({.target = coordinator, .insecure = true, .max_attempts = 1});
  ASSERT_TRUE(api.ok());
  EXPECT_EQ((*api)->ListJobs().status().code(), absl::StatusCode::kUnimplemented);

  // Draining: NOT_SERVING on the health port while calls may still finish.
  worker_->Shutdown(absl::Seconds(5));
  EXPECT_EQ(health(worker, "tierscore.v1.Worker").second, HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(health(worker, "").second, HealthCheckResponse::NOT_SERVING);
  coordinator_->Shutdown(absl::Seconds(5));
  EXPECT_EQ(health(coordinator, "").second, HealthCheckResponse::NOT_SERVING);
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

constexpr char kTokens[] =
    "reader-token-0123456789 reader dashboards\n"
    "nightly-token-0123456789 submitter nightly customers/nightly\n"
    "weekly-token-0123456789 submitter weekly customers/weekly\n"
    "admin-token-0123456789 admin ops\n";

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto worker = worker::WorkerServer::Create({.threads = 1});
    ASSERT_TRUE(worker.ok());
    worker_ = *std::move(worker);
    coordinator::CoordinatorServerOptions c;
    c.pool.targets = {worker_->address()};
    c.tokens_file = tmp_.Write("tokens", kTokens);
    c.data_dir = tmp_.path() + "/data";
    c.jobs.max_running = 0;  // jobs stay queued: cancellable
    c.store = &store_;
    auto coordinator = coordinator::CoordinatorServer::Create(c);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    coordinator_ = *std::move(coordinator);
    input_ = tmp_.Write("customers.csv", engine::GenerateCustomersCsv({.rows = 100}));
  }

  std::unique_ptr<client::Client> As(const std::string& token) {
    return *client::Client::Create(
        {.target = coordinator_->address(), .insecure = true, .token = token});
  }

  v1::JobSpec Spec(const std::string& alias, bool no_publish) const {
    v1::JobSpec spec;
    *spec.mutable_policy_text() = *client::ReadConfigFile(Policy());
    spec.add_inputs(input_);
    spec.set_alias(alias);
    spec.set_no_publish(no_publish);
    return spec;
  }

  testing::TempDir tmp_;
  common::MemoryStore store_;
  std::string input_;
  std::unique_ptr<worker::WorkerServer> worker_;
  std::unique_ptr<coordinator::CoordinatorServer> coordinator_;
};

TEST_F(TokenTest, NoOrUnknownTokenIsUnauthenticated) {
  for (const std::string token : {"", "nightly-token-01234567", "nightly-token-0123456789x"}) {
    auto client = As(token);
    EXPECT_EQ(client->ListJobs().status().code(), absl::StatusCode::kUnauthenticated) << token;
    EXPECT_EQ(client->Submit(Spec("", true)).status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client->Lookup(client::RunRef::Alias("customers/nightly"), "C1").status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client->Attach("job-1").Wait(nullptr, absl::Seconds(5)).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
}

TEST_F(TokenTest, ReadersReadAndChangeNothing) {
  auto reader = As("reader-token-0123456789");
  EXPECT_TRUE(reader->ListJobs().ok());
  EXPECT_TRUE(reader->ListDatasets().ok());
  auto submit = reader->Submit(Spec("", true));
  EXPECT_EQ(submit.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(submit.status().message(), HasSubstr("dashboards (reader) may not submit jobs"));
  EXPECT_EQ(reader->UploadDataset("base", input_).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(reader->DeleteDataset("base").code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(TokenTest, SubmittersOwnTheirJobsAndPublishToTheirAliases) {
  auto nightly = As("nightly-token-0123456789");
  auto weekly = As("weekly-token-0123456789");
  auto admin = As("admin-token-0123456789");
  auto other_alias = nightly->Submit(Spec("customers/weekly", false));
  EXPECT_EQ(other_alias.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(other_alias.status().message(), HasSubstr("may not publish to \"customers/weekly\""));
  // A dry run against any alias publishes nothing: allowed.
  EXPECT_TRUE(nightly->Submit(Spec("customers/weekly", true)).ok());

  auto job = nightly->Submit(Spec("customers/nightly", false));
  ASSERT_TRUE(job.ok()) << job.status();
  auto state = admin->Attach(job->id()).Get();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->owner(), "nightly");
  // Another submitter may read it but neither cancel nor publish it.
  EXPECT_TRUE(weekly->Attach(job->id()).Get().ok());
  auto cancel = weekly->Attach(job->id()).Cancel();
  EXPECT_EQ(cancel.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(cancel.status().message(), HasSubstr("it is nightly's"));
  EXPECT_EQ(weekly->Attach(job->id()).Publish().status().code(),
            absl::StatusCode::kPermissionDenied);
  // Its owner may, and so may an admin.
  EXPECT_TRUE(nightly->Attach(job->id()).Cancel().ok());
  auto second = weekly->Submit(Spec("customers/weekly", false));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(admin->Attach(second->id()).Cancel().ok());
  // Datasets: submitters upload and delete.
  EXPECT_TRUE(nightly->UploadDataset("base", input_).ok());
  EXPECT_TRUE(weekly->DeleteDataset("base").ok());
}

// Confinement: the coordinator refuses inputs outside its data roots at
// submit (the same words whether the file exists or not), and a worker
// refuses them too, also when the coordinator cannot check (a link out of
// the root on a volume only the workers see).
TEST(ConfinementTest, InputsOutsideTheDataRootsAreRefusedEverywhere) {
  testing::TempDir tmp;
  const std::string root = tmp.path() + "/data";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  const std::string good =
      tmp.Write("data/customers.csv", engine::GenerateCustomersCsv({.rows = 50}));
  const std::string secret =
      tmp.Write("secret.csv", engine::GenerateCustomersCsv({.rows = 50, .seed = 3}));
  const std::string link = root + "/link.csv";
  ASSERT_EQ(symlink(secret.c_str(), link.c_str()), 0);

  auto worker = worker::WorkerServer::Create({.threads = 1, .data_roots = {root}});
  ASSERT_TRUE(worker.ok()) << worker.status();
  auto start = [&](bool check_inputs) {
    coordinator::CoordinatorServerOptions c;
    c.pool.targets = {(*worker)->address()};
    c.data_roots = {root};
    c.jobs.check_inputs = check_inputs;
    return *coordinator::CoordinatorServer::Create(c);
  };
  auto coordinator = start(true);
  auto client = *client::Client::Create({.target = coordinator->address(), .insecure = true});
  auto submit = [&](const std::string& input) {
    v1::JobSpec spec;
    *spec.mutable_policy_text() = *client::ReadConfigFile(Policy());
    spec.add_inputs(input);
    spec.set_no_publish(true);
    return client->Submit(spec).status();
  };
  const absl::Status outside = submit(secret);
  EXPECT_EQ(outside.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(outside.message(), HasSubstr("is outside the data roots"));
  const absl::Status missing = submit(tmp.path() + "/no-such.csv");
  EXPECT_EQ(missing.code(), outside.code());
  EXPECT_EQ(missing.message().substr(missing.message().find("\" is")),
            outside.message().substr(outside.message().find("\" is")));
  for (const std::string& path :
       {link, root + "/../secret.csv", std::string("/etc/passwd"), std::string("/dev/zero")}) {
    EXPECT_EQ(submit(path).code(), absl::StatusCode::kPermissionDenied) << path;
  }
  EXPECT_TRUE(submit(good).ok());

  // A coordinator that does not look at files passes the link on; the
  // worker refuses it and the job fails saying why.
  auto blind = start(false);
  auto blind_client = *client::Client::Create({.target = blind->address(), .insecure = true});
  v1::JobSpec spec;
  *spec.mutable_policy_text() = *client::ReadConfigFile(Policy());
  spec.add_inputs(link);
  spec.set_no_publish(true);
  auto job = blind_client->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = job->Wait(nullptr, absl::Seconds(60));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(done->error_code(), static_cast<int>(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(done->error(), HasSubstr("is outside the data roots"));
}

// The binaries: tokens from a file or the environment (never argv), exit
// code 8 when refused, and an audit line for every change and refusal that
// names the caller and never shows a token.
TEST(TokenProcessTest, TheCliAndTheAuditLog) {
  testing::TempDir tmp;
  const std::string tokens = tmp.Write("tokens", kTokens);
  auto redis = testing::RedisServer::Start(tmp.path());
  ASSERT_TRUE(redis.ok()) << redis.status();
  const std::string worker_port = tmp.path() + "/w.port";
  auto worker = testing::ChildProcess::Start(
      {std::string(TIERSCORE_BINARY_DIR) + "/worker/tierscore-worker", "--listen", "127.0.0.1:0",
       "--port-file", worker_port, "--threads", "1", "--insecure", "--redis", (*redis)->address()},
      tmp.path() + "/worker.log");
  ASSERT_TRUE(worker.ok());
  auto wport = testing::WaitForPortFile(worker_port, absl::Seconds(20));
  ASSERT_TRUE(wport.ok());
  const std::string port_file = tmp.path() + "/c.port";
  const std::string log = tmp.path() + "/coordinator.log";
  auto coordinator = testing::ChildProcess::Start(
      {std::string(TIERSCORE_BINARY_DIR) + "/coordinator/tierscore-coordinator", "--listen",
       "127.0.0.1:0", "--port-file", port_file, "--workers", absl::StrCat("127.0.0.1:", *wport),
       "--insecure", "--tokens", tokens, "--log-format", "json", "--redis", (*redis)->address()},
      log);
  ASSERT_TRUE(coordinator.ok());
  auto cport = testing::WaitForPortFile(port_file, absl::Seconds(20));
  ASSERT_TRUE(cport.ok());
  const std::string cli = std::string(TIERSCORE_BINARY_DIR) + "/client/tierscore";
  const std::string input =
      tmp.Write("customers.csv", engine::GenerateCustomersCsv({.rows = 200, .seed = 2}));
  const std::vector<std::string> env = {absl::StrCat("TIERSCORE_TARGET=127.0.0.1:", *cport),
                                        "TIERSCORE_INSECURE=1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> all = env;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  const std::vector<std::string> submit = {cli,        "submit", "--input", input,
                                           "--policy", Policy(), "--alias", "customers/nightly",
                                           "--wait",   "--quiet"};

  auto anonymous = testing::RunCommand(submit, tmp.path(), env);
  EXPECT_EQ(anonymous.code, 8) << anonymous.err;
  EXPECT_THAT(anonymous.err, HasSubstr("no bearer token"));
  auto reader =
      testing::RunCommand(submit, tmp.path(), with({"TIERSCORE_TOKEN=reader-token-0123456789"}));
  EXPECT_EQ(reader.code, 8);
  EXPECT_THAT(reader.err, HasSubstr("dashboards (reader) may not submit jobs"));
  const std::string token_file = tmp.Write("nightly.token", "nightly-token-0123456789\n");
  auto nightly =
      testing::RunCommand(submit, tmp.path(), with({"TIERSCORE_TOKEN_FILE=" + token_file}));
  ASSERT_EQ(nightly.code, 0) << nightly.err;
  const std::string job_id = std::string(absl::StripAsciiWhitespace(nightly.out));
  auto status = testing::RunCommand({cli, "status", job_id, "--format", "json"}, tmp.path(),
                                    with({"TIERSCORE_TOKEN=reader-token-0123456789"}));
  EXPECT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("\"owner\":\"nightly\""));

  (*coordinator)->Signal(SIGTERM);
  (*coordinator)->Wait(absl::Seconds(20));
  const std::string text = testing::TempDir::Read(log);
  EXPECT_THAT(text, HasSubstr(R"("event":"audit","caller":"nightly","role":"submitter")"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat(R"("method":"SubmitJob","target":")", job_id,
                                           R"(","code":"OK")")));
  EXPECT_THAT(text, HasSubstr(R"x("caller":"(unauthenticated)")x"));
  EXPECT_THAT(text, HasSubstr(R"("caller":"dashboards","role":"reader")"));
  EXPECT_THAT(text, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(text, Not(HasSubstr("token-0123456789")));
}

}  // namespace
}  // namespace tierscore
