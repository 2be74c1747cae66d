#ifndef TIERSCORE_COORDINATOR_TIER_LOOKUP_H_
#define TIERSCORE_COORDINATOR_TIER_LOOKUP_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/run_store.h"
#include "tierscore/v1/coordinator.pb.h"

namespace tierscore::coordinator {

// Online tier lookups from published runs. A batch reads one run (the
// alias is resolved once), in one round trip to the store plus one to
// resolve the alias; run metadata is immutable and cached.
//
// Thread-safe. `store` is borrowed and must outlive this object. Errors:
// INVALID_ARGUMENT for bad requests, NOT_FOUND for an unknown alias or run,
// UNAVAILABLE when the store is unreachable.
class TierLookup {
 public:
  static constexpr int kMaxBatch = 1000;

  explicit TierLookup(common::Store* store) : runs_(store) {}

  absl::StatusOr<v1::BatchLookupTierResponse> Batch(const v1::BatchLookupTierRequest& request);
  absl::StatusOr<v1::LookupTierResponse> One(const v1::LookupTierRequest& request);

 private:
  absl::StatusOr<v1::RunMeta> Resolve(const std::string& alias, const std::string& run_id);

  common::RunStore runs_;
  absl::Mutex mu_;
  std::map<std::string, v1::RunMeta> metas_ ABSL_GUARDED_BY(mu_);  // by run id
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_TIER_LOOKUP_H_
