#ifndef TIERSCORE_COORDINATOR_TIER_LOOKUP_H_
#define TIERSCORE_COORDINATOR_TIER_LOOKUP_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/run_store.h"
#include "tierscore/v1/coordinator.pb.h"

namespace tierscore::coordinator {

struct TierLookupOptions {
  // How long the run an alias names is trusted. A run published by this
  // coordinator is seen at once (Invalidate); one published by another
  // within this time, the replaced run staying readable for its retention.
  absl::Duration alias_ttl = absl::Seconds(1);
  // Threads that read the store. Each sends every lookup waiting when it is
  // free in one pipelined round trip, so that under load the store sees few
  // large requests rather than many small ones, with no wait when idle.
  // 0: each lookup is answered on the calling thread (its gRPC thread),
  // which costs fewer thread switches, but a slow or stopped store then
  // holds gRPC's threads and stalls every other call: keep lanes.
  int lanes = 2;
  int max_keys_per_trip = 4096;
};

// Online tier lookups from published runs. A batch reads one run (the
// alias is resolved once, so it never mixes two runs) in one round trip to
// the store: on the calling thread, or with lanes, in a round trip shared
// with the other lookups waiting at the time. Run metadata is immutable and
// cached; the alias is cached as the options say.
//
// Thread-safe. `store` is borrowed and must outlive this object; the
// destructor answers lookups still waiting with UNAVAILABLE. Errors:
// INVALID_ARGUMENT for bad requests, NOT_FOUND for an unknown alias or run,
// UNAVAILABLE when the store is unreachable.
class TierLookup {
 public:
  static constexpr int kMaxBatch = 1000;
  using Done = std::function<void(absl::StatusOr<v1::BatchLookupTierResponse>)>;

  TierLookup(common::Store* store, const TierLookupOptions& options);
  ~TierLookup();

  // Calls `done` once: from this thread without lanes (or for a bad
  // request), else from a lane thread.
  void BatchAsync(v1::BatchLookupTierRequest request, Done done);
  // The same, waiting for the answer.
  absl::StatusOr<v1::BatchLookupTierResponse> Batch(const v1::BatchLookupTierRequest& request);
  // One lookup. Without lanes it is answered on the calling thread with the
  // fewest copies (the hot path of LookupTier); with lanes, as a batch of
  // one. `done` is called once.
  void OneAsync(const v1::LookupTierRequest& request,
                std::function<void(absl::StatusOr<v1::LookupTierResponse>)> done);
  // The same into `response`, waiting for the answer.
  absl::Status One(const v1::LookupTierRequest& request, v1::LookupTierResponse* response);

  bool has_lanes() const { return !lanes_.empty(); }

  // The alias was switched to another run: read it again next time.
  void Invalidate(const std::string& alias);

 private:
  struct CachedAlias {
    std::string run_id;
    absl::Time expires;
  };
  struct Pending {
    v1::BatchLookupTierRequest request;
    Done done;
  };

  void Lane();
  absl::Status OneInline(const v1::LookupTierRequest& request, v1::LookupTierResponse* response);
  // Answers `batch` with one store round trip for all its lookups.
  void Serve(std::vector<Pending> batch);
  // The run's metadata as lookups return it (without per-tier totals).
  absl::StatusOr<std::shared_ptr<const v1::RunMeta>> Resolve(const std::string& alias,
                                                             const std::string& run_id);

  common::Store* const store_;
  common::RunStore runs_;
  const TierLookupOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const v1::RunMeta>> metas_
      ABSL_GUARDED_BY(mu_);  // by run id
  std::map<std::string, CachedAlias> aliases_ ABSL_GUARDED_BY(mu_);
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> lanes_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_TIER_LOOKUP_H_
