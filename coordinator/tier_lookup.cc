#include "coordinator/tier_lookup.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tierscore::coordinator {

absl::StatusOr<v1::RunMeta> TierLookup::Resolve(const std::string& alias,
                                                const std::string& run_id) {
  if (alias.empty() == run_id.empty()) {
    return absl::InvalidArgumentError("give exactly one of alias and run_id");
  }
  std::string id = run_id;
  if (id.empty()) {
    // The alias moves, so it is read every time (one round trip); the run
    // it names is immutable and its metadata cached.
    TS_ASSIGN_OR_RETURN(id, runs_.CurrentRunId(alias));
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = metas_.find(id);
    if (it != metas_.end()) return it->second;
  }
  TS_ASSIGN_OR_RETURN(v1::RunMeta meta, runs_.Run(id));
  absl::MutexLock lock(&mu_);
  if (metas_.size() > 1000) metas_.clear();
  metas_[id] = meta;
  return meta;
}

absl::StatusOr<v1::BatchLookupTierResponse> TierLookup::Batch(
    const v1::BatchLookupTierRequest& request) {
  if (request.customer_ids_size() > kMaxBatch) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxBatch, " ids per batch, got ",
                                                   request.customer_ids_size()));
  }
  TS_ASSIGN_OR_RETURN(v1::RunMeta run, Resolve(request.alias(), request.run_id()));
  const std::vector<std::string> ids(request.customer_ids().begin(), request.customer_ids().end());
  TS_ASSIGN_OR_RETURN(auto records, runs_.Lookup(run, ids));
  v1::BatchLookupTierResponse response;
  *response.mutable_run() = std::move(run);
  for (size_t i = 0; i < ids.size(); ++i) {
    auto* e = response.add_entries();
    e->set_customer_id(ids[i]);
    e->set_found(records[i].has_value());
    if (records[i].has_value()) *e->mutable_record() = *std::move(records[i]);
  }
  return response;
}

absl::StatusOr<v1::LookupTierResponse> TierLookup::One(const v1::LookupTierRequest& request) {
  if (request.customer_id().empty()) return absl::InvalidArgumentError("customer_id is required");
  v1::BatchLookupTierRequest batch;
  batch.set_alias(request.alias());
  batch.set_run_id(request.run_id());
  batch.add_customer_ids(request.customer_id());
  TS_ASSIGN_OR_RETURN(v1::BatchLookupTierResponse found, Batch(batch));
  v1::LookupTierResponse response;
  response.set_found(found.entries(0).found());
  *response.mutable_record() = found.entries(0).record();
  *response.mutable_run() = found.run();
  return response;
}

}  // namespace tierscore::coordinator
