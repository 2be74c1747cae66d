// Network faults between the coordinator and real worker processes, inside
// Linux network namespaces this test makes itself. The test process first
// moves into a namespace of its own (unshare, before any gRPC thread
// exists); each worker runs in another namespace, joined to it by a veth
// pair. A partition sets the worker's end of its pair down (packets vanish
// silently, as on a real network), healing sets it up again; latency and
// loss use tc netem where the kernel has it. No packet leaves the
// namespaces. Skipped, with the reason, where namespaces cannot be made.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/credentials.h"
#include "coordinator/grpc_worker_client.h"
#include "engine/generator.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::coordinator {
namespace {

std::string IpPath() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

// This process in a network namespace of its own, and worker namespaces
// joined to it: worker i is 10.231.i.2, our end 10.231.i.1.
class Namespaces {
 public:
  // Why namespaces cannot be had here ("" when they can); call first.
  static std::string EnterOwn(const testing::TempDir& dir) {
    if (IpPath().empty()) return "no `ip` (iproute2) on this machine";
    if (unshare(CLONE_NEWNET) != 0) {
      return absl::StrCat("cannot make a network namespace: ", std::strerror(errno));
    }
    const auto up = testing::RunCommand({IpPath(), "link", "set", "lo", "up"}, dir.path());
    return up.code == 0 ? "" : "cannot bring up loopback: " + up.err;
  }

  explicit Namespaces(const testing::TempDir& dir) : dir_(dir) {}
  ~Namespaces() {
    for (const std::string& name : names_) Ip({"netns", "del", name});
  }

  // A worker namespace joined to ours; its address.
  std::string Add() {
    const int i = static_cast<int>(names_.size());
    const std::string name = absl::StrCat("ts", getpid(), "w", i);
    const std::string ours = absl::StrCat("tsc", i), theirs = absl::StrCat("tsw", i);
    names_.push_back(name);
    const std::string net = absl::StrCat("10.231.", i, ".");
    for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
             {"netns", "add", name},
             {"link", "add", ours, "type", "veth", "peer", "name", theirs, "netns", name},
             {"addr", "add", net + "1/24", "dev", ours},
             {"link", "set", ours, "up"},
             {"-n", name, "addr", "add", net + "2/24", "dev", theirs},
             {"-n", name, "link", "set", theirs, "up"},
             {"-n", name, "link", "set", "lo", "up"}}) {
      if (!Ip(cmd)) return "";
    }
    return net + "2";
  }

  // Worker i's end of its link down (a partition) or up (healed).
  bool SetLink(int i, bool up) {
    return Ip({"-n", names_[static_cast<size_t>(i)], "link", "set", absl::StrCat("tsw", i),
               up ? "up" : "down"});
  }

  // tc netem on our end of every link; the error when the kernel lacks it.
  std::string Impair(const std::string& netem) {
    for (size_t i = 0; i < names_.size(); ++i) {
      std::vector<std::string> cmd = {"/usr/sbin/tc",         "qdisc", "add",  "dev",
                                      absl::StrCat("tsc", i), "root",  "netem"};
      for (absl::string_view w : absl::StrSplit(netem, ' ')) cmd.emplace_back(w);
      const auto r = testing::RunCommand(cmd, dir_.path());
      if (r.code != 0) return absl::StrCat("tc netem ", netem, ": ", r.err);
    }
    return "";
  }

  const std::string& name(int i) const { return names_[static_cast<size_t>(i)]; }

 private:
  bool Ip(std::vector<std::string> args) {
    args.insert(args.begin(), IpPath());
    const auto r = testing::RunCommand(args, dir_.path());
    EXPECT_EQ(r.code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    return r.code == 0;
  }

  const testing::TempDir& dir_;
  std::vector<std::string> names_;
};

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria:
  - {name: revenue, expr: log1p(revenue_12m), normalize: max, weight: 0.7, direction: higher}
  - {name: recency, expr: days_since_last_order, normalize: percentile, weight: 0.3, direction: lower}
tiers:
  - name: ladder
    pareto: {boundaries: [0.5, 0.8, 0.95], names: [Gold, Silver, Bronze, Basic]}
  - name: top
    quantile: {boundaries: [0.01, 0.1], names: [Top1, Top10, Rest]}
)yaml";

constexpr char kKpis[] = R"yaml(
grouping_sets: [[ladder, region], []]
metrics:
  - {name: customers, agg: count}
  - {name: revenue, agg: sum, expr: revenue_12m}
)yaml";

class NetworkFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = Namespaces::EnterOwn(dir_); !why.empty()) GTEST_SKIP() << why;
    net_ = std::make_unique<Namespaces>(dir_);
    for (int i = 0; i < 2; ++i) {
      const std::string host = net_->Add();
      ASSERT_FALSE(host.empty());
      const std::string port_file = dir_.path() + absl::StrCat("/w", i, ".port");
      auto child = testing::ChildProcess::Start(
          {IpPath(), "netns", "exec", net_->name(i),
           std::string(TIERSCORE_BINARY_DIR) + "/worker/tierscore-worker", "--listen", host + ":0",
           "--port-file", port_file, "--threads", "1", "--insecure"},
          dir_.path() + absl::StrCat("/w", i, ".log"));
      ASSERT_TRUE(child.ok()) << child.status();
      workers_.push_back(*std::move(child));
      auto port = testing::WaitForPortFile(port_file, absl::Seconds(20));
      ASSERT_TRUE(port.ok()) << port.status();
      grpc::ChannelArguments args;
      auto creds =
          common::MakeChannelCredentials(common::ChannelTls::Plaintext(), "workers", &args);
      ASSERT_TRUE(creds.ok());
      // A healed link is found again within a second.
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
      clients_.push_back(GrpcWorkerClient::Create(absl::StrCat(host, ":", *port), *creds, args));
    }
    engine::GeneratorOptions gen;
    gen.rows = 60000;
    gen.seed = 11;
    gen.distinct_values = 40;
    gen.extra_zero_share = 0.05;
    spec_.add_inputs(dir_.Write("c.csv", engine::GenerateCustomersCsv(gen)));
    *spec_.mutable_policy() = testing::PolicyFromYaml(kPolicy);
    *spec_.mutable_kpis() = testing::KpisFromYaml(kKpis);
    spec_.set_split_bytes(400000);  // about 16 splits
    options_.call_timeout = absl::Seconds(3);
  }

  std::vector<WorkerClient*> Workers() {
    std::vector<WorkerClient*> out;
    for (auto& c : clients_) out.push_back(c.get());
    return out;
  }

  // Waits until worker i answers a health check (at most 30 s).
  bool Answers(int i) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (absl::Now() < give_up) {
      absl::Notification done;
      absl::Status status;
      clients_[static_cast<size_t>(i)]->Check({absl::Now() + absl::Seconds(2), nullptr},
                                              [&](absl::Status st) {
                                                status = std::move(st);
                                                done.Notify();
                                              });
      done.WaitForNotification();
      if (status.ok()) return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

  testing::TempDir dir_;
  std::unique_ptr<Namespaces> net_;
  std::vector<std::unique_ptr<testing::ChildProcess>> workers_;
  std::vector<std::unique_ptr<GrpcWorkerClient>> clients_;
  v1::JobSpec spec_;
  JobRunnerOptions options_;
};

TEST_F(NetworkFaultTest, APartitionMidJobIsSurvivedAndHealed) {
  // Worker 0 is cut off when scoring starts: its calls time out (no error
  // comes back from a silent network), its splits move to worker 1.
  bool cut = false;
  auto partition = [&](const JobProgress& p) {
    if (p.phase == "score" && !cut) cut = net_->SetLink(0, false);
  };
  RunControl control;
  control.deadline = absl::Now() + absl::Minutes(2);  // nothing may hang past it
  auto run = testing::RunOnWorkers(spec_, Workers(), options_, "partitioned", partition, control);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(cut);
  EXPECT_GE(run->outcome.recoveries, 1);
  EXPECT_EQ(std::count(run->outcome.split_worker.begin(), run->outcome.split_worker.end(), 0), 0)
      << "worker 0 kept splits";
  testing::ExpectSameAsReference(spec_, *run);

  // Healed: the next job uses both workers again, without a recovery.
  ASSERT_TRUE(net_->SetLink(0, true));
  ASSERT_TRUE(Answers(0)) << "worker 0 unreachable after the link came back";
  auto again = testing::RunOnWorkers(spec_, Workers(), options_, "healed", nullptr, control);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->outcome.recoveries, 0);
  EXPECT_NE(std::count(again->outcome.split_worker.begin(), again->outcome.split_worker.end(), 0),
            0);
  testing::ExpectSameAsReference(spec_, *again);
}

TEST_F(NetworkFaultTest, AWorkerCutOffForGoodFailsTheJobInTime) {
  // Every worker cut off during load: the job fails UNAVAILABLE or
  // DEADLINE_EXCEEDED, naming a worker, within its deadline.
  auto partition = [&](const JobProgress& p) {
    if (p.phase == "load" && p.splits_done == 2) {
      net_->SetLink(0, false);
      net_->SetLink(1, false);
    }
  };
  RunControl control;
  control.deadline = absl::Now() + absl::Minutes(2);
  auto run = testing::RunOnWorkers(spec_, Workers(), options_, "cut", partition, control);
  ASSERT_FALSE(run.ok());
  EXPECT_TRUE(absl::IsUnavailable(run.status()) || absl::IsDeadlineExceeded(run.status()))
      << run.status();
  EXPECT_NE(run.status().message().find("10.231."), absl::string_view::npos) << run.status();
}

TEST_F(NetworkFaultTest, LatencyAndLossGiveTheReferenceResult) {
  if (const std::string why = net_->Impair("delay 20ms 5ms loss 2%"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  options_.call_timeout = absl::Seconds(60);
  auto run = testing::RunOnWorkers(spec_, Workers(), options_);
  ASSERT_TRUE(run.ok()) << run.status();
  testing::ExpectSameAsReference(spec_, *run);
}

}  // namespace
}  // namespace tierscore::coordinator
