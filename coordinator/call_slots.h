#ifndef TIERSCORE_COORDINATOR_CALL_SLOTS_H_
#define TIERSCORE_COORDINATOR_CALL_SLOTS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace tierscore::coordinator {

// Bounds the calls that hold a thread of their own for as long as they run
// (StreamResults, PublishJob): in all, and per caller, so that one client
// cannot take every thread or starve the others.
//
// Thread-safe. A slot is given back when its handle is destroyed; the
// CallSlots must outlive every handle.
class CallSlots {
 public:
  // `total` and `per_caller` > 0.
  CallSlots(int total, int per_caller) : total_(total), per_caller_(per_caller) {}

  class Slot {
   public:
    ~Slot() { slots_->Give(caller_); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    friend class CallSlots;
    Slot(CallSlots* slots, std::string caller) : slots_(slots), caller_(std::move(caller)) {}
    CallSlots* const slots_;
    const std::string caller_;
  };

  // A slot for `caller` (a token's name, or the client's address), or
  // RESOURCE_EXHAUSTED naming the limit reached and its flag.
  absl::StatusOr<std::unique_ptr<Slot>> Take(const std::string& caller);

  // Slots in use (for tests).
  int used() const;

 private:
  void Give(const std::string& caller);

  const int total_;
  const int per_caller_;
  mutable absl::Mutex mu_;
  int used_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, int> by_caller_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_CALL_SLOTS_H_
