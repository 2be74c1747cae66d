#ifndef TIERSCORE_CLIENT_REMOTE_RUN_H_
#define TIERSCORE_CLIENT_REMOTE_RUN_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tierscore/client.h"
#include "tierscore/v1/coordinator.pb.h"

namespace tierscore::client {

// `tierscore submit`: a job on a cluster, with the same inputs and outputs
// as local mode.
struct RemoteRunOptions {
  ClientOptions client;               // the coordinator, TLS, token
  std::vector<std::string> inputs;    // made absolute: workers resolve them
  std::vector<std::string> datasets;  // uploaded datasets, by name
  std::string policy_path;
  std::string kpis_path;
  bool wait = false;  // otherwise return once the job is queued
  std::string results_path;
  bool explain = false;
  bool no_cache = false;  // run even if an equal job has finished
  std::string kpis_out_path;
  std::string migration_out_path;  // migration matrices, long-form CSV
  std::string alias;               // where to publish (empty: customers/default unless no_publish)
  bool no_publish = false;         // publish nowhere; with an alias, a dry run
  absl::Duration timeout = absl::Hours(24);
  std::function<void(const v1::Job&)> on_update;  // progress while waiting
  // Called with the job's id as soon as it is queued, before any wait.
  std::function<void(const std::string& id)> on_submitted;
};

// Submits the job and, with `wait`, follows it to the end and writes the
// outputs (atomically: nothing is written unless the job succeeded). A job
// that failed or was cancelled is returned as it ended; errors are the
// calls' (the submission refused, the coordinator unreachable, ...).
absl::StatusOr<v1::Job> SubmitJob(const RemoteRunOptions& options);

}  // namespace tierscore::client

#endif  // TIERSCORE_CLIENT_REMOTE_RUN_H_
