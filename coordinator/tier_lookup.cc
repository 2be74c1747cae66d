#include "coordinator/tier_lookup.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/names.h"
#include "common/status_macros.h"

namespace tierscore::coordinator {

absl::StatusOr<std::shared_ptr<const v1::RunMeta>> TierLookup::Resolve(const std::string& alias,
                                                                       const std::string& run_id) {
  if (alias.empty() == run_id.empty()) {
    return absl::InvalidArgumentError("give exactly one of alias and run_id");
  }
  TS_RETURN_IF_ERROR(alias.empty() ? common::CheckName(run_id, "run_id")
                                   : common::CheckName(alias, "alias"));
  std::string id = run_id;
  const absl::Time now = absl::Now();
  if (id.empty()) {
    {
      absl::MutexLock lock(&mu_);
      auto it = aliases_.find(alias);
      if (it != aliases_.end() && it->second.expires > now) id = it->second.run_id;
    }
    if (id.empty()) {
      TS_ASSIGN_OR_RETURN(id, runs_.CurrentRunId(alias));
      absl::MutexLock lock(&mu_);
      if (aliases_.size() > 1000) aliases_.clear();
      aliases_[alias] = {id, now + options_.alias_ttl};
    }
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = metas_.find(id);
    if (it != metas_.end()) return it->second;
  }
  TS_ASSIGN_OR_RETURN(v1::RunMeta meta, runs_.Run(id));
  for (v1::RunMeta::Scheme& scheme : *meta.mutable_schemes()) {
    scheme.clear_customers();  // for the next run's migration, not for readers
    scheme.clear_value_micros();
  }
  auto shared = std::make_shared<const v1::RunMeta>(std::move(meta));
  absl::MutexLock lock(&mu_);
  if (metas_.size() > 1000) metas_.clear();
  metas_[id] = shared;
  return shared;
}

void TierLookup::Invalidate(const std::string& alias) {
  absl::MutexLock lock(&mu_);
  aliases_.erase(alias);
}

TierLookup::TierLookup(common::Store* store, const TierLookupOptions& options)
    : store_(store), runs_(store), options_(options) {
  for (int i = 0; i < options_.lanes; ++i) lanes_.emplace_back([this] { Lane(); });
}

TierLookup::~TierLookup() {
  std::deque<Pending> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : lanes_) t.join();
  {
    absl::MutexLock lock(&mu_);
    left.swap(pending_);
  }
  for (Pending& p : left) p.done(absl::UnavailableError("the coordinator is stopping"));
}

void TierLookup::BatchAsync(v1::BatchLookupTierRequest request, Done done) {
  if (request.customer_ids_size() > kMaxBatch) {
    done(absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxBatch, " ids per batch, got ", request.customer_ids_size())));
    return;
  }
  if (request.alias().empty() == request.run_id().empty()) {
    done(absl::InvalidArgumentError("give exactly one of alias and run_id"));
    return;
  }
  if (absl::Status st = request.alias().empty() ? common::CheckName(request.run_id(), "run_id")
                                                : common::CheckName(request.alias(), "alias");
      !st.ok()) {
    done(std::move(st));  // before the request waits in a lane
    return;
  }
  if (request.customer_ids_size() == 0) {
    done(absl::InvalidArgumentError("customer_ids: at least one customer id is required"));
    return;
  }
  for (int i = 0; i < request.customer_ids_size(); ++i) {
    if (request.customer_ids(i).empty()) {
      done(absl::InvalidArgumentError(absl::StrCat("customer_ids[", i, "] is empty")));
      return;
    }
  }
  if (lanes_.empty()) {
    std::vector<Pending> one;
    one.push_back({std::move(request), std::move(done)});
    Serve(std::move(one));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      pending_.push_back({std::move(request), std::move(done)});
      return;
    }
  }
  done(absl::UnavailableError("the coordinator is stopping"));
}

absl::StatusOr<v1::BatchLookupTierResponse> TierLookup::Batch(
    const v1::BatchLookupTierRequest& request) {
  absl::Notification answered;
  absl::StatusOr<v1::BatchLookupTierResponse> out;
  BatchAsync(request, [&](absl::StatusOr<v1::BatchLookupTierResponse> r) {
    out = std::move(r);
    answered.Notify();
  });
  answered.WaitForNotification();
  return out;
}

void TierLookup::Lane() {
  while (true) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](TierLookup* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t->mu_) {
            return t->stopping_ || !t->pending_.empty();
          },
          this));
      if (stopping_) return;
      int keys = 0;
      while (!pending_.empty() &&
             (batch.empty() ||
              keys + pending_.front().request.customer_ids_size() <= options_.max_keys_per_trip)) {
        keys += pending_.front().request.customer_ids_size();
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    Serve(std::move(batch));
  }
}

void TierLookup::Serve(std::vector<Pending> batch) {
  std::vector<std::shared_ptr<const v1::RunMeta>> runs(batch.size());
  std::vector<std::pair<std::string, std::string>> key_fields;
  for (size_t b = 0; b < batch.size(); ++b) {
    auto run = Resolve(batch[b].request.alias(), batch[b].request.run_id());
    if (!run.ok()) {
      batch[b].done(run.status());
      batch[b].done = nullptr;
      continue;
    }
    runs[b] = *std::move(run);
    for (const std::string& id : batch[b].request.customer_ids()) {
      key_fields.push_back(common::RunStore::RecordKey(*runs[b], id));
    }
  }
  auto values = key_fields.empty() ? absl::StatusOr<std::vector<std::optional<std::string>>>()
                                   : store_->HashGet(key_fields);
  size_t at = 0;
  for (size_t b = 0; b < batch.size(); ++b) {
    if (batch[b].done == nullptr) continue;
    const v1::BatchLookupTierRequest& request = batch[b].request;
    if (!values.ok()) {
      batch[b].done(values.status());
      continue;
    }
    absl::StatusOr<v1::BatchLookupTierResponse> response =
        [&]() -> absl::StatusOr<v1::BatchLookupTierResponse> {
      v1::BatchLookupTierResponse out;
      *out.mutable_run() = *runs[b];
      for (int i = 0; i < request.customer_ids_size(); ++i) {
        const std::string& id = request.customer_ids(i);
        TS_ASSIGN_OR_RETURN(auto record, common::RunStore::ParseRecord(
                                             *runs[b], id, (*values)[at + static_cast<size_t>(i)]));
        auto* e = out.add_entries();
        e->set_customer_id(id);
        e->set_found(record.has_value());
        if (record.has_value()) *e->mutable_record() = *std::move(record);
      }
      return out;
    }();
    at += static_cast<size_t>(request.customer_ids_size());
    batch[b].done(std::move(response));
  }
}

absl::Status TierLookup::OneInline(const v1::LookupTierRequest& request,
                                   v1::LookupTierResponse* response) {
  if (request.customer_id().empty()) return absl::InvalidArgumentError("customer_id is required");
  TS_ASSIGN_OR_RETURN(std::shared_ptr<const v1::RunMeta> run,
                      Resolve(request.alias(), request.run_id()));
  TS_ASSIGN_OR_RETURN(auto values,
                      store_->HashGet({common::RunStore::RecordKey(*run, request.customer_id())}));
  if (values[0].has_value()) {
    v1::TierRecord* record = response->mutable_record();
    if (!record->ParseFromString(*values[0])) {
      return absl::DataLossError(absl::StrCat("the record of ", request.customer_id(), " in run ",
                                              run->run_id(), " does not parse"));
    }
    record->set_run_id(run->run_id());
    response->set_found(true);
  }
  *response->mutable_run() = *run;
  return absl::OkStatus();
}

void TierLookup::OneAsync(const v1::LookupTierRequest& request,
                          std::function<void(absl::StatusOr<v1::LookupTierResponse>)> done) {
  if (lanes_.empty() || request.customer_id().empty()) {
    v1::LookupTierResponse response;
    absl::Status st = OneInline(request, &response);
    if (!st.ok()) {
      done(st);
      return;
    }
    done(std::move(response));
    return;
  }
  v1::BatchLookupTierRequest batch;
  batch.set_alias(request.alias());
  batch.set_run_id(request.run_id());
  batch.add_customer_ids(request.customer_id());
  BatchAsync(std::move(batch),
             [done = std::move(done)](absl::StatusOr<v1::BatchLookupTierResponse> found) {
               if (!found.ok()) {
                 done(found.status());
                 return;
               }
               v1::LookupTierResponse response;
               response.set_found(found->entries(0).found());
               *response.mutable_record() = std::move(*found->mutable_entries(0)->mutable_record());
               *response.mutable_run() = std::move(*found->mutable_run());
               done(std::move(response));
             });
}

absl::Status TierLookup::One(const v1::LookupTierRequest& request,
                             v1::LookupTierResponse* response) {
  if (lanes_.empty()) return OneInline(request, response);
  absl::Notification answered;
  absl::Status st;
  OneAsync(request, [&](absl::StatusOr<v1::LookupTierResponse> r) {
    st = r.status();
    if (r.ok()) *response = *std::move(r);
    answered.Notify();
  });
  answered.WaitForNotification();
  return st;
}

}  // namespace tierscore::coordinator
