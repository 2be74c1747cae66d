#ifndef TIERSCORE_TESTS_TESTING_PUBLISHED_CLUSTER_H_
#define TIERSCORE_TESTS_TESTING_PUBLISHED_CLUSTER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/remote_run.h"
#include "coordinator/coordinator_server.h"
#include "engine/reference.h"
#include "grpcpp/client_context.h"
#include "tests/testing/redis_server.h"
#include "tierscore/client.h"
#include "worker/worker_server.h"

namespace tierscore::testing {

// BatchLookupTier as the server answers it: records with tier indices, for
// comparing with the reference (the SDK resolves them to names).
inline absl::StatusOr<v1::BatchLookupTierResponse> RawLookup(const client::Client& client,
                                                             const std::string& alias_or_run,
                                                             const std::vector<std::string>& ids,
                                                             bool by_run = false) {
  v1::BatchLookupTierRequest req;
  (by_run ? req.mutable_run_id() : req.mutable_alias())->assign(alias_or_run);
  for (const std::string& id : ids) req.add_customer_ids(id);
  v1::BatchLookupTierResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  const grpc::Status st = client.stub().BatchLookupTier(&ctx, req, &resp);
  if (!st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
  }
  return resp;
}

// A real redis-server, two workers and a coordinator on 127.0.0.1:0 that
// publish there: the whole path of a published run.
struct PublishedCluster {
  static absl::StatusOr<std::unique_ptr<PublishedCluster>> Start(const std::string& dir) {
    auto c = std::make_unique<PublishedCluster>();
    auto redis = RedisServer::Start(dir);
    if (!redis.ok()) return redis.status();
    c->redis = *std::move(redis);
    coordinator::CoordinatorServerOptions options;
    for (int i = 0; i < 2; ++i) {
      worker::WorkerServerOptions w;
      w.threads = 1;
      w.redis = c->redis->address();
      auto server = worker::WorkerServer::Create(w);
      if (!server.ok()) return server.status();
      options.pool.targets.push_back((*server)->address());
      c->workers.push_back(*std::move(server));
    }
    options.redis = c->redis->address();
    options.jobs.runner.run_retention = absl::Minutes(5);
    auto coordinator = coordinator::CoordinatorServer::Create(options);
    if (!coordinator.ok()) return coordinator.status();
    c->coordinator = *std::move(coordinator);
    c->client = *client::Client::Create({.target = c->coordinator->address(), .insecure = true});
    return c;
  }

  // Runs a job to its end; every run publishes (no cache).
  absl::StatusOr<v1::Job> Run(const std::vector<std::string>& inputs, const std::string& policy) {
    client::RemoteRunOptions o;
    o.client = {.target = coordinator->address(), .insecure = true};
    o.inputs = inputs;
    o.policy_path = policy;
    o.wait = true;
    o.no_cache = true;
    o.timeout = absl::Minutes(2);
    return client::SubmitJob(o);
  }

  // Every record of `ids` in a run (by run id), with the run's metadata:
  // what the next run's reference is given as its prior run.
  absl::StatusOr<engine::PriorRun> ReadRun(const std::string& run_id,
                                           const std::vector<std::string>& ids) {
    engine::PriorRun run;
    for (size_t begin = 0; begin < ids.size(); begin += 1000) {
      std::vector<std::string> batch(
          ids.begin() + static_cast<std::ptrdiff_t>(begin),
          ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), begin + 1000)));
      auto found = RawLookup(*client, run_id, batch, /*by_run=*/true);
      if (!found.ok()) return found.status();
      run.meta = found->run();
      for (const auto& e : found->entries()) {
        if (e.found()) run.records[e.customer_id()] = e.record();
      }
    }
    return run;
  }

  std::unique_ptr<RedisServer> redis;
  std::vector<std::unique_ptr<worker::WorkerServer>> workers;
  std::unique_ptr<coordinator::CoordinatorServer> coordinator;
  std::unique_ptr<client::Client> client;
};

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_PUBLISHED_CLUSTER_H_
