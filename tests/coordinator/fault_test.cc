// Worker faults in every phase, injected at the WorkerClient seam: a worker
// that dies (UNAVAILABLE), hangs (DEADLINE_EXCEEDED) or restarts empty
// (FAILED_PRECONDITION). The job must still equal the reference.
#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "coordinator/in_process_worker_client.h"
#include "engine/generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::coordinator {
namespace {

enum class Fault { kDies, kHangs, kRestarts };

// An in-process worker that fails on the `nth` call of `phase` and, for
// kDies and kHangs, on every call after it.
class FaultyWorker : public WorkerClient {
 public:
  FaultyWorker(std::string phase, int nth, Fault fault)
      : phase_(std::move(phase)), nth_(nth), fault_(fault) {
    absl::MutexLock lock(&mu_);
    Restart();
  }

  std::string name() const override { return "faulty"; }
  bool tripped() const { return tripped_.load(); }

  absl::StatusOr<v1::ScanResponse> Scan(const v1::ScanRequest& r, absl::Time d) override {
    return Route<v1::ScanResponse>("scan", [&](WorkerClient& w) { return w.Scan(r, d); });
  }
  absl::StatusOr<v1::LoadResponse> Load(const v1::LoadRequest& r, absl::Time d) override {
    return Route<v1::LoadResponse>("load", [&](WorkerClient& w) { return w.Load(r, d); });
  }
  absl::StatusOr<v1::ScoreResponse> Score(const v1::ScoreRequest& r, absl::Time d) override {
    return Route<v1::ScoreResponse>("score", [&](WorkerClient& w) { return w.Score(r, d); });
  }
  absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& r, absl::Time d) override {
    return Route<v1::ProbeResponse>("probe", [&](WorkerClient& w) { return w.Probe(r, d); });
  }
  absl::StatusOr<v1::AssignResponse> Assign(const v1::AssignRequest& r, absl::Time d) override {
    return Route<v1::AssignResponse>("assign", [&](WorkerClient& w) { return w.Assign(r, d); });
  }
  absl::StatusOr<v1::ExportResponse> Export(const v1::ExportRequest& r, absl::Time d) override {
    return Route<v1::ExportResponse>("export", [&](WorkerClient& w) { return w.Export(r, d); });
  }
  absl::StatusOr<v1::PublishResponse> Publish(const v1::PublishRequest& r, absl::Time d) override {
    return Route<v1::PublishResponse>("publish", [&](WorkerClient& w) { return w.Publish(r, d); });
  }
  absl::Status Release(const v1::ReleaseRequest& r, absl::Time d) override {
    return Route<v1::ReleaseResponse>("release", [&](WorkerClient& w) -> absl::StatusOr<v1::ReleaseResponse> {
             absl::Status st = w.Release(r, d);
             if (!st.ok()) return st;
             return v1::ReleaseResponse();
           })
        .status();
  }

 private:
  // A fresh worker behind the same name. Calls already running on the old
  // one finish there (as a real process's answers already sent would), so
  // it is retired, not destroyed.
  void Restart() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (core_ != nullptr) {
      retired_cores_.push_back(std::move(core_));
      retired_clients_.push_back(std::move(client_));
    }
    core_ = worker::WorkerCore::Create({.threads = 1});
    client_ = std::make_unique<InProcessWorkerClient>(core_.get(), "faulty");
  }

  template <typename Response, typename Fn>
  absl::StatusOr<Response> Route(const std::string& phase, Fn&& fn) {
    WorkerClient* target;
    {
      absl::MutexLock lock(&mu_);
      if (tripped_ && fault_ != Fault::kRestarts) return Failure();
      if (phase == phase_ && ++calls_ == nth_) {
        tripped_ = true;
        if (fault_ != Fault::kRestarts) return Failure();
        Restart();  // the call goes to a worker that knows nothing
      }
      target = client_.get();
    }
    return fn(*target);
  }

  absl::Status Failure() const {
    return fault_ == Fault::kDies ? absl::UnavailableError("connection refused")
                                  : absl::DeadlineExceededError("deadline exceeded");
  }

  const std::string phase_;
  const int nth_;
  const Fault fault_;
  std::atomic<bool> tripped_{false};
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<worker::WorkerCore> core_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<InProcessWorkerClient> client_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<worker::WorkerCore>> retired_cores_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<InProcessWorkerClient>> retired_clients_ ABSL_GUARDED_BY(mu_);
};

constexpr char kPolicy[] = R"yaml(
id_column: customer_id
value: revenue_12m
criteria:
  - {name: revenue, expr: log1p(revenue_12m), normalize: max, weight: 0.6}
  - {name: recency, expr: days_since_last_order, normalize: percentile, weight: 0.4, direction: lower}
tiers:
  - name: ladder
    pareto: {boundaries: [0.5, 0.7, 0.8, 0.9, 0.95, 0.98],
             names: [Diamond, Platinum, Gold, Silver, Bronze, Standard, Basic]}
  - name: top
    quantile: {boundaries: [0.01, 0.1], names: [Top1, Top10, Rest]}
)yaml";

constexpr char kKpis[] = R"yaml(
grouping_sets: [[ladder, region], [top], []]
metrics:
  - {name: customers, agg: count}
  - {name: revenue, agg: sum, expr: revenue_12m}
  - {name: nps, agg: nps, expr: nps_score}
)yaml";

struct Case {
  const char* phase;
  int nth;
  Fault fault;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.phase << " call " << c.nth << ": "
      << (c.fault == Fault::kDies ? "dies" : c.fault == Fault::kHangs ? "hangs" : "restarts");
}

class FaultTest : public ::testing::TestWithParam<Case> {};

TEST_P(FaultTest, JobEqualsTheReferenceDespiteTheFault) {
  const Case c = GetParam();
  testing::TempDir dir;
  engine::GeneratorOptions gen;
  gen.rows = 20000;
  gen.seed = 5;
  gen.distinct_values = 30;
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("c.csv", engine::GenerateCustomersCsv(gen)));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  *spec.mutable_kpis() = testing::KpisFromYaml(kKpis);
  spec.set_split_bytes(150000);  // ~13 splits over three workers

  auto healthy_a = worker::WorkerCore::Create({.threads = 1});
  auto healthy_b = worker::WorkerCore::Create({.threads = 1});
  InProcessWorkerClient a(healthy_a.get(), "a"), b(healthy_b.get(), "b");
  FaultyWorker faulty(c.phase, c.nth, c.fault);
  JobRunnerOptions options;
  options.cut_search.fetch_limit = 32;
  options.cut_search.score_bins = 8;
  auto run = testing::RunOnWorkers(spec, {&a, &faulty, &b}, options);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(faulty.tripped()) << "the fault was never injected";
  EXPECT_GE(run->outcome.recoveries, 1);
  testing::ExpectSameAsReference(spec, *run);
}

INSTANTIATE_TEST_SUITE_P(
    EveryPhase, FaultTest,
    ::testing::Values(Case{"load", 2, Fault::kDies}, Case{"load", 1, Fault::kHangs},
                      Case{"score", 1, Fault::kDies}, Case{"score", 1, Fault::kRestarts},
                      Case{"probe", 1, Fault::kDies}, Case{"probe", 3, Fault::kHangs},
                      Case{"probe", 2, Fault::kRestarts}, Case{"assign", 1, Fault::kDies},
                      Case{"assign", 1, Fault::kRestarts}, Case{"export", 2, Fault::kDies},
                      Case{"export", 1, Fault::kRestarts}),
    [](const ::testing::TestParamInfo<Case>& info) {
      const char* fault = info.param.fault == Fault::kDies    ? "dies"
                          : info.param.fault == Fault::kHangs ? "hangs"
                                                              : "restarts";
      return std::string(info.param.phase) + "_" + std::to_string(info.param.nth) + "_" + fault;
    });

TEST(FaultTest, AllWorkersGoneIsUnavailable) {
  testing::TempDir dir;
  v1::JobSpec spec;
  spec.add_inputs(dir.Write("c.csv", engine::GenerateCustomersCsv({.rows = 2000})));
  *spec.mutable_policy() = testing::PolicyFromYaml(kPolicy);
  spec.set_split_bytes(20000);
  FaultyWorker one("score", 1, Fault::kDies), two("load", 3, Fault::kDies);
  auto run = testing::RunOnWorkers(spec, {&one, &two});
  EXPECT_EQ(run.status().code(), absl::StatusCode::kUnavailable) << run.status();
  EXPECT_THAT(run.status().message(), ::testing::HasSubstr("all 2 workers are gone"));
}

}  // namespace
}  // namespace tierscore::coordinator
