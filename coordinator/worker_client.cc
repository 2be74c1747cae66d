#include "coordinator/worker_client.h"

#include <utility>
#include <vector>

namespace tierscore::coordinator {

CancelScope::Token CancelScope::Add(absl::AnyInvocable<void()> cancel) {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      const Token token = next_++;
      cancellers_.emplace(token, std::move(cancel));
      return token;
    }
  }
  cancel();
  return 0;
}

void CancelScope::Remove(Token token) {
  if (token == 0) return;
  absl::AnyInvocable<void()> unused;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  auto it = cancellers_.find(token);
  if (it == cancellers_.end()) return;
  unused = std::move(it->second);
  cancellers_.erase(it);
}

void CancelScope::Cancel() {
  absl::flat_hash_map<Token, absl::AnyInvocable<void()>> run;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    run.swap(cancellers_);
  }
  // Outside the lock: a canceller may complete its call, which Removes.
  for (auto& [token, cancel] : run) cancel();
}

bool CancelScope::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

}  // namespace tierscore::coordinator
