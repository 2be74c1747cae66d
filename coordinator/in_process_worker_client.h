#ifndef TIERSCORE_COORDINATOR_IN_PROCESS_WORKER_CLIENT_H_
#define TIERSCORE_COORDINATOR_IN_PROCESS_WORKER_CLIENT_H_

#include <string>

#include "coordinator/worker_client.h"
#include "engine/thread_pool.h"
#include "worker/worker_core.h"

namespace tierscore::coordinator {

// Calls a WorkerCore in the same process (no serialisation, no network),
// each call as a task on `executor`, so that the caller's thread never runs
// worker code. A call whose deadline passed or whose scope was cancelled
// before its turn is not run; one that has started runs to completion.
//
// `core` and `executor` are borrowed and must outlive the client and every
// call it started. Several clients may share one executor: its size, not
// the number of clients, bounds the threads. Thread-safe.
class InProcessWorkerClient : public WorkerClient {
 public:
  InProcessWorkerClient(worker::WorkerCore* core, engine::ThreadPool* executor, std::string name)
      : core_(core), executor_(executor), name_(std::move(name)) {}

  std::string name() const override { return name_; }

  void Scan(v1::ScanRequest r, const CallOptions& o, Reply<v1::ScanResponse> done) override;
  void Load(v1::LoadRequest r, const CallOptions& o, Reply<v1::LoadResponse> done) override;
  void CheckIds(v1::CheckIdsRequest r, const CallOptions& o,
                Reply<v1::CheckIdsResponse> done) override;
  void Score(v1::ScoreRequest r, const CallOptions& o, Reply<v1::ScoreResponse> done) override;
  void Probe(v1::ProbeRequest r, const CallOptions& o, Reply<v1::ProbeResponse> done) override;
  void Assign(v1::AssignRequest r, const CallOptions& o, Reply<v1::AssignResponse> done) override;
  void Export(v1::ExportRequest r, const CallOptions& o, Reply<v1::ExportResponse> done) override;
  void Publish(v1::PublishRequest r, const CallOptions& o,
               Reply<v1::PublishResponse> done) override;
  void Release(v1::ReleaseRequest r, const CallOptions& o,
               Reply<v1::ReleaseResponse> done) override;
  void Check(const CallOptions& o, absl::AnyInvocable<void(absl::Status)> done) override;

 private:
  template <typename Request, typename Response>
  void Run(Request request, const CallOptions& options, Reply<Response> done,
           absl::StatusOr<Response> (worker::WorkerCore::*method)(const Request&));

  worker::WorkerCore* const core_;
  engine::ThreadPool* const executor_;
  const std::string name_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_IN_PROCESS_WORKER_CLIENT_H_
