#include "coordinator/call_slots.h"

#include "absl/strings/str_cat.h"

namespace tierscore::coordinator {

absl::StatusOr<std::unique_ptr<CallSlots::Slot>> CallSlots::Take(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  if (used_ >= total_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the coordinator is streaming or publishing for ", used_,
                     " calls already, its limit (--max-streams); try again shortly"));
  }
  int& mine = by_caller_[caller];
  if (mine >= per_caller_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(caller, " has ", mine, " result streams or publications open already, the ",
                     "limit per client (--max-streams-per-client); finish one first"));
  }
  ++mine;
  ++used_;
  return std::unique_ptr<Slot>(new Slot(this, caller));
}

void CallSlots::Give(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  --used_;
  auto it = by_caller_.find(caller);
  if (it != by_caller_.end() && --it->second <= 0) by_caller_.erase(it);
}

int CallSlots::used() const {
  absl::MutexLock lock(&mu_);
  return used_;
}

}  // namespace tierscore::coordinator
