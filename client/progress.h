#ifndef TIERSCORE_CLIENT_PROGRESS_H_
#define TIERSCORE_CLIENT_PROGRESS_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/job_runner.h"
#include "tierscore/v1/coordinator.pb.h"

namespace tierscore::client {

// A one-line progress bar on stderr, drawn only when stderr is a terminal.
// Thread-safe.
class ProgressBar {
 public:
  ProgressBar();
  ~ProgressBar();  // clears the line

  void Update(const coordinator::JobProgress& p);
  // A job on a coordinator, as WatchJob reports it.
  void Update(const v1::Job& job);

 private:
  const bool enabled_;
  const absl::Time start_;
  absl::Mutex mu_;
  absl::Time last_draw_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace tierscore::client

#endif  // TIERSCORE_CLIENT_PROGRESS_H_
