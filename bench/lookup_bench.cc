// Online lookups against a coordinator: N client threads, each sending
// LookupTier for random known customers for a fixed time.
//   lookup_bench TARGET ALIAS MAX_CUSTOMER CLIENTS SECONDS
// Prints: clients, lookups/s, p50 and p99 latency in microseconds, errors.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "grpcpp/create_channel.h"
#include "tierscore/v1/coordinator.grpc.pb.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s TARGET ALIAS MAX_CUSTOMER CLIENTS SECONDS\n", argv[0]);
    return 2;
  }
  const std::string target = argv[1], alias = argv[2];
  const int max_customer = std::stoi(argv[3]);
  const int clients = std::stoi(argv[4]);
  const double seconds = std::stod(argv[5]);
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = tierscore::v1::Coordinator::NewStub(channel);
  const int width = std::max<int>(7, static_cast<int>(std::to_string(max_customer).size()));

  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::atomic<int64_t> errors{0};
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(static_cast<uint64_t>(c) + 1);
      std::uniform_int_distribution<int> pick(1, max_customer);
      tierscore::v1::LookupTierRequest req;
      req.set_alias(alias);
      tierscore::v1::LookupTierResponse resp;
      auto& mine = latencies[static_cast<size_t>(c)];
      while (std::chrono::steady_clock::now() < end) {
        req.set_customer_id(absl::StrFormat("C%0*d", width, pick(rng)));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        const auto start = std::chrono::steady_clock::now();
        const grpc::Status st = stub->LookupTier(&ctx, req, &resp);
        const double us = std::chrono::duration<double, std::micro>(
                              std::chrono::steady_clock::now() - start)
                              .count();
        if (!st.ok() || !resp.found()) {
          ++errors;
        } else {
          mine.push_back(us);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())))];
  };
  std::printf("%d %.0f %.0f %.0f %lld\n", clients, static_cast<double>(all.size()) / seconds,
              pct(0.50), pct(0.99), static_cast<long long>(errors.load()));
  return 0;
}
