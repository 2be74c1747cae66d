// The phased job against real gRPC worker servers on 127.0.0.1:0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "coordinator/grpc_worker_client.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"
#include "worker/worker_server.h"

namespace tierscore::coordinator {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria:
  - {name: revenue, expr: log1p(revenue_12m), normalize: max, weight: 0.5, direction: higher}
  - {name: margin, expr: margin_12m, normalize: minmax, weight: 0.3, direction: higher}
  - {name: tickets, expr: support_tickets, normalize: percentile, weight: 0.2, direction: lower}
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
  - {name: nps, agg: nps, expr: nps_score}
  - {name: p90, agg: quantile, q: 0.9, expr: revenue_12m}
)yaml";

class GrpcClusterTest : public ::testing::Test {
 protected:
  void StartWorkers(int n) {
    for (int i = 0; i < n; ++i) {
      auto server = worker::WorkerServer::Create({.listen = "127.0.0.1:0", .threads = 1});
      ASSERT_TRUE(server.ok()) << server.status();
      clients_.push_back(
          GrpcWorkerClient::Create((*server)->address(), grpc::InsecureChannelCredentials(), {}));
      servers_.push_back(*std::move(server));
    }
  }

  std::vector<WorkerClient*> Clients() {
    std::vector<WorkerClient*> out;
    for (auto& c : clients_) out.push_back(c.get());
    return out;
  }

  v1::JobSpec Spec(const std::string& input) {
    v1::JobSpec spec;
    spec.add_inputs(input);
    *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
    *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
    return spec;
  }

  std::string Generate(int64_t rows, int distinct_values, double zeros) {
    engine::GeneratorOptions gen;
    gen.rows = rows;
    gen.seed = 99;
    gen.distinct_values = distinct_values;
    gen.extra_zero_share = zeros;
    std::string path = dir_.path() + "/c" + std::to_string(rows) + ".csv";
    EXPECT_TRUE(engine::GenerateCustomers(gen, path).ok());
    return path;
  }

  testing::TempDir dir_;
  std::vector<std::unique_ptr<worker::WorkerServer>> servers_;
  std::vector<std::unique_ptr<GrpcWorkerClient>> clients_;
};

TEST_F(GrpcClusterTest, ThreeWorkersEqualTheReference) {
  StartWorkers(3);
  v1::JobSpec spec = Spec(Generate(30000, 12, 0.3));  // ties and zeros
  spec.set_split_bytes(100000);
  JobRunnerOptions options;
  options.cut_search.fetch_limit = 64;
  auto run = testing::RunOnWorkers(spec, Clients(), options);
  ASSERT_TRUE(run.ok()) << run.status();
  testing::ExpectSameAsReference(spec, *run);
  for (const auto& s : servers_) EXPECT_EQ(s->core()->JobCount(), 0u);
}

TEST_F(GrpcClusterTest, StatusCodesCrossTheWireIntact) {
  StartWorkers(2);
  // A column the policy needs is missing: NOT_FOUND, naming file and column.
  v1::JobSpec missing = Spec(dir_.Write("m.csv", "customer_id,revenue_12m\nA,1\n"));
  auto r1 = testing::RunOnWorkers(missing, Clients());
  EXPECT_EQ(r1.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r1.status().message(),
              HasSubstr("m.csv: column \"margin_12m\" is not in the header"));

  // An unreadable path: NOT_FOUND.
  auto r2 = testing::RunOnWorkers(Spec(dir_.path() + "/nope.csv"), Clients());
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kNotFound);

  // A bad value: INVALID_ARGUMENT with file:line:column.
  std::vector<std::string> lines =
      absl::StrSplit(engine::GenerateCustomersCsv({.rows = 100}), '\n');
  std::vector<std::string> fields = absl::StrSplit(lines[4], ',');
  fields[7] = "12x";  // revenue_12m of the fourth customer, on line 5
  size_t column = 1;
  for (int f = 0; f < 7; ++f) column += fields[static_cast<size_t>(f)].size() + 1;
  lines[4] = absl::StrJoin(fields, ",");
  auto r3 =
      testing::RunOnWorkers(Spec(dir_.Write("bad.csv", absl::StrJoin(lines, "\n"))), Clients());
  EXPECT_EQ(r3.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r3.status().message(),
              HasSubstr(absl::StrCat("bad.csv:5:", column,
                                     ": column \"revenue_12m\": expected a number, got \"12x\"")));

  // A bad policy never reaches a worker: INVALID_ARGUMENT naming the field.
  v1::JobSpec bad_policy = Spec(dir_.path() + "/nope.csv");
  bad_policy.mutable_policy()->mutable_criteria(0)->set_expr("lg(revenue_12m)");
  auto r4 = testing::RunOnWorkers(bad_policy, Clients());
  EXPECT_EQ(r4.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r4.status().message(), HasSubstr("criteria[0] (revenue).expr"));

  // A job the worker does not hold: FAILED_PRECONDITION (load it first).
  v1::ScoreRequest unknown;
  unknown.set_job_id("no-such-job");
  auto r5 = CallAndWait(*clients_[0], &WorkerClient::Score, unknown,
                        CallOptions{absl::Now() + absl::Seconds(5)});
  EXPECT_EQ(r5.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(GrpcClusterTest, UnreachableWorkerIsUnavailableAndDeadlinesHold) {
  StartWorkers(1);
  const std::string address = servers_[0]->address();
  servers_[0]->Shutdown(absl::ZeroDuration());
  servers_.clear();
  v1::ScanRequest scan;
  scan.set_path("/etc/hostname");
  auto gone = CallAndWait(*clients_[0], &WorkerClient::Scan, scan,
                          CallOptions{absl::Now() + absl::Seconds(2)});
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kUnavailable) << gone.status();

  StartWorkers(1);
  auto late = CallAndWait(*clients_[1], &WorkerClient::Scan, scan,
                          CallOptions{absl::Now() - absl::Milliseconds(1)});
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
}

// A peer that speaks just enough HTTP/2 for a call to start (its SETTINGS,
// and an ACK of the client's) and never answers: a call to it stays in
// flight until its deadline, unless it is cancelled.
class SilentPeer {
 public:
  SilentPeer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~SilentPeer() {
    stop_ = true;
    thread_.join();
    for (int c : connections_) close(c);
    close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    // An empty SETTINGS frame, then a SETTINGS ACK.
    static constexpr unsigned char kHello[] = {0, 0, 0, 4, 0, 0, 0, 0, 0,
                                               0, 0, 0, 4, 1, 0, 0, 0, 0};
    char sink[4096];
    while (!stop_) {
      pollfd fds[17];
      nfds_t n = 0;
      fds[n++] = {fd_, POLLIN, 0};
      for (int c : connections_) {
        if (n < 17) fds[n++] = {c, POLLIN, 0};
      }
      if (poll(fds, n, 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c >= 0) {
          EXPECT_EQ(write(c, kHello, sizeof kHello), static_cast<ssize_t>(sizeof kHello));
          connections_.push_back(c);
        }
      }
      for (nfds_t k = 1; k < n; ++k) {
        if (fds[k].revents & POLLIN) (void)!read(fds[k].fd, sink, sizeof sink);  // discarded
      }
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> connections_;  // the serving thread's
  std::thread thread_;
};

TEST_F(GrpcClusterTest, CancellingReachesACallInFlight) {
  SilentPeer silent;
  auto client = GrpcWorkerClient::Create(silent.address(), grpc::InsecureChannelCredentials(), {});
  CancelScope scope;
  v1::ScanRequest scan;
  scan.set_path("/etc/hostname");
  absl::Notification replied;
  absl::Status status;
  const absl::Time start = absl::Now();
  client->Scan(scan, CallOptions{absl::Now() + absl::Seconds(60), &scope},
               [&](const absl::StatusOr<v1::ScanResponse>& r) {
                 status = r.status();
                 replied.Notify();
               });
  EXPECT_FALSE(replied.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
  scope.Cancel();
  ASSERT_TRUE(replied.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // not the 60 s deadline
}

TEST_F(GrpcClusterTest, HealthIsCheckedOverTheWorkersChannel) {
  StartWorkers(1);
  absl::Notification done;
  absl::Status status = absl::UnknownError("no reply");
  clients_[0]->Check(CallOptions{absl::Now() + absl::Seconds(5)}, [&](absl::Status st) {
    status = std::move(st);
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(GrpcClusterTest, HealthServiceServesUntilShutdown) {
  StartWorkers(1);
  auto channel = grpc::CreateChannel(servers_[0]->address(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace tierscore::coordinator
