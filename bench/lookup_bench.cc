// Online lookups against a coordinator: CLIENTS requests kept in flight
// (each a "client": when one answers, it sends the next) for a fixed time,
// driven by gRPC's callback API so that the load generator itself costs
// little CPU on the machine it shares with the server.
//   lookup_bench TARGET ALIAS MAX_CUSTOMER CLIENTS SECONDS [BATCH | health]
// BATCH > 1 sends BatchLookupTier calls of that many random ids; `health`
// sends grpc.health.v1 Check calls to the same server instead: the cost of
// an empty gRPC call on this machine, a baseline for the lookups.
// Prints: clients, lookups/s, p50 and p99 call latency in microseconds,
// errors (failed calls or unknown customers), and the errors by gRPC code.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "tierscore/v1/coordinator.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  tierscore::v1::Coordinator::Stub* stub;
  grpc::health::v1::Health::Stub* health;  // non-null: health checks only
  std::string alias;
  int max_customer;
  int width;
  int batch;
  Clock::time_point end;
  std::atomic<int64_t> errors{0};
  // Failed calls by gRPC status code; [0]: answered, customer not found.
  std::array<std::atomic<int64_t>, 17> codes{};
  absl::Mutex mu;
  int running ABSL_GUARDED_BY(mu) = 0;
};

// One client: a request in flight at a time.
class Client {
 public:
  Client(Run* run, uint64_t seed) : run_(run), rng_(seed), pick_(1, run->max_customer) {}

  void Send() {
    ctx_ = std::make_unique<grpc::ClientContext>();
    ctx_->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    start_ = Clock::now();
    if (run_->health != nullptr) {
      run_->health->async()->Check(ctx_.get(), &check_, &check_resp_,
                                   [this](const grpc::Status& st) { Done(st, true); });
      return;
    }
    if (run_->batch <= 1) {
      one_.set_alias(run_->alias);
      one_.set_customer_id(Id());
      run_->stub->async()->LookupTier(
          ctx_.get(), &one_, &one_resp_,
          [this](const grpc::Status& st) { Done(st, one_resp_.found()); });
      return;
    }
    many_.Clear();
    many_.set_alias(run_->alias);
    for (int i = 0; i < run_->batch; ++i) many_.add_customer_ids(Id());
    auto done = [this](const grpc::Status& st) {
      bool found = true;
      for (const auto& e : many_resp_.entries()) found &= e.found();
      Done(st, found);
    };
    run_->stub->async()->BatchLookupTier(ctx_.get(), &many_, &many_resp_, done);
  }

  const std::vector<double>& latencies() const { return latencies_; }

 private:
  std::string Id() { return absl::StrFormat("C%0*d", run_->width, pick_(rng_)); }

  void Done(const grpc::Status& status, bool found) {
    const auto now = Clock::now();
    if (status.ok() && found) {
      latencies_.push_back(std::chrono::duration<double, std::micro>(now - start_).count());
    } else {
      ++run_->errors;
      ++run_->codes[std::min<size_t>(static_cast<size_t>(status.error_code()), 16)];
    }
    if (now < run_->end) {
      Send();
      return;
    }
    absl::MutexLock lock(&run_->mu);
    --run_->running;
  }

  Run* run_;
  std::mt19937_64 rng_;
  std::uniform_int_distribution<int> pick_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  Clock::time_point start_;
  tierscore::v1::LookupTierRequest one_;
  tierscore::v1::LookupTierResponse one_resp_;
  tierscore::v1::BatchLookupTierRequest many_;
  tierscore::v1::BatchLookupTierResponse many_resp_;
  grpc::health::v1::HealthCheckRequest check_;
  grpc::health::v1::HealthCheckResponse check_resp_;
  std::vector<double> latencies_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s TARGET ALIAS MAX_CUSTOMER CLIENTS SECONDS [BATCH | health]\n",
                 argv[0]);
    return 2;
  }
  const int clients = std::stoi(argv[4]);
  const double seconds = std::stod(argv[5]);
  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  auto stub = tierscore::v1::Coordinator::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  const std::string mode = argc == 7 ? argv[6] : "1";
  Run run;
  run.stub = stub.get();
  run.health = mode == "health" ? health.get() : nullptr;
  run.alias = argv[2];
  run.max_customer = std::stoi(argv[3]);
  run.width = std::max<int>(7, static_cast<int>(std::to_string(run.max_customer).size()));
  run.batch = mode == "health" ? 1 : std::max(1, std::stoi(mode));
  run.end = Clock::now() +
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));

  std::vector<std::unique_ptr<Client>> all;
  for (int c = 0; c < clients; ++c) all.push_back(std::make_unique<Client>(&run, c + 1));
  {
    absl::MutexLock lock(&run.mu);
    run.running = clients;
  }
  for (auto& c : all) c->Send();
  {
    absl::MutexLock lock(&run.mu);
    run.mu.Await(absl::Condition(
        +[](Run* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu) { return r->running == 0; }, &run));
  }
  std::vector<double> latencies;
  for (const auto& c : all)
    latencies.insert(latencies.end(), c->latencies().begin(), c->latencies().end());
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0
                             : latencies[std::min(
                                   latencies.size() - 1,
                                   static_cast<size_t>(p * static_cast<double>(latencies.size())))];
  };
  // The errors by code: not_found=3,UNAVAILABLE(14)=12 ("-" for none).
  std::string codes;
  for (size_t c = 0; c < run.codes.size(); ++c) {
    if (run.codes[c] == 0) continue;
    absl::StrAppend(&codes, codes.empty() ? "" : ",",
                    c == 0 ? "not_found" : absl::StrCat("code", c), "=", run.codes[c].load());
  }
  std::printf("%d %.0f %.0f %.0f %lld %s\n", clients,
              static_cast<double>(latencies.size()) * run.batch / seconds, pct(0.50), pct(0.99),
              static_cast<long long>(run.errors.load()), codes.empty() ? "-" : codes.c_str());
  return 0;
}
