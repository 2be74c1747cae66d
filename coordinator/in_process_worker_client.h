#ifndef TIERSCORE_COORDINATOR_IN_PROCESS_WORKER_CLIENT_H_
#define TIERSCORE_COORDINATOR_IN_PROCESS_WORKER_CLIENT_H_

#include <string>

#include "coordinator/worker_client.h"
#include "worker/worker_core.h"

namespace tierscore::coordinator {

// Calls a WorkerCore in the same process: no serialisation, no network. The
// deadline is not enforced (calls run to completion). `core` is borrowed and
// must outlive this client. Thread-safe, as WorkerCore is.
class InProcessWorkerClient : public WorkerClient {
 public:
  InProcessWorkerClient(worker::WorkerCore* core, std::string name)
      : core_(core), name_(std::move(name)) {}

  std::string name() const override { return name_; }

  absl::StatusOr<v1::ScanResponse> Scan(const v1::ScanRequest& r, absl::Time) override {
    return core_->Scan(r);
  }
  absl::StatusOr<v1::LoadResponse> Load(const v1::LoadRequest& r, absl::Time) override {
    return core_->Load(r);
  }
  absl::StatusOr<v1::ScoreResponse> Score(const v1::ScoreRequest& r, absl::Time) override {
    return core_->Score(r);
  }
  absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& r, absl::Time) override {
    return core_->Probe(r);
  }
  absl::StatusOr<v1::AssignResponse> Assign(const v1::AssignRequest& r, absl::Time) override {
    return core_->Assign(r);
  }
  absl::StatusOr<v1::ExportResponse> Export(const v1::ExportRequest& r, absl::Time) override {
    return core_->Export(r);
  }
  absl::StatusOr<v1::PublishResponse> Publish(const v1::PublishRequest& r, absl::Time) override {
    return core_->Publish(r);
  }
  absl::Status Release(const v1::ReleaseRequest& r, absl::Time) override {
    return core_->Release(r);
  }

 private:
  worker::WorkerCore* core_;
  std::string name_;
};

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_IN_PROCESS_WORKER_CLIENT_H_
