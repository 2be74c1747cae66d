#include "coordinator/in_process_worker_client.h"

#include <utility>

namespace tierscore::coordinator {
namespace {

// Why a call is not run, if it is not.
absl::Status Gate(const CallOptions& options) {
  if (options.cancel != nullptr && options.cancel->cancelled()) {
    return absl::CancelledError("cancelled before it ran");
  }
  if (absl::Now() >= options.deadline) {
    return absl::DeadlineExceededError("deadline passed before it ran");
  }
  return absl::OkStatus();
}

}  // namespace

template <typename Request, typename Response>
void InProcessWorkerClient::Run(
    Request request, const CallOptions& options, Reply<Response> done,
    absl::StatusOr<Response> (worker::WorkerCore::*method)(const Request&)) {
  executor_->Schedule(
      [this, request = std::move(request), options, done = std::move(done), method]() mutable {
        absl::Status gate = Gate(options);
        if (!gate.ok()) {
          done(std::move(gate));
          return;
        }
        done((core_->*method)(request));
      });
}

void InProcessWorkerClient::Scan(v1::ScanRequest r, const CallOptions& o,
                                 Reply<v1::ScanResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::Scan);
}
void InProcessWorkerClient::Load(v1::LoadRequest r, const CallOptions& o,
                                 Reply<v1::LoadResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::Load);
}
void InProcessWorkerClient::CheckIds(v1::CheckIdsRequest r, const CallOptions& o,
                                     Reply<v1::CheckIdsResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::CheckIds);
}
void InProcessWorkerClient::Score(v1::ScoreRequest r, const CallOptions& o,
                                  Reply<v1::ScoreResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::Score);
}
void InProcessWorkerClient::Probe(v1::ProbeRequest r, const CallOptions& o,
                                  Reply<v1::ProbeResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::Probe);
}
void InProcessWorkerClient::Assign(v1::AssignRequest r, const CallOptions& o,
                                   Reply<v1::AssignResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::Assign);
}
void InProcessWorkerClient::Export(v1::ExportRequest r, const CallOptions& o,
                                   Reply<v1::ExportResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::Export);
}
void InProcessWorkerClient::Publish(v1::PublishRequest r, const CallOptions& o,
                                    Reply<v1::PublishResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::Publish);
}
void InProcessWorkerClient::Release(v1::ReleaseRequest r, const CallOptions& o,
                                    Reply<v1::ReleaseResponse> done) {
  Run(std::move(r), o, std::move(done), &worker::WorkerCore::Release);
}

void InProcessWorkerClient::Check(const CallOptions& o,
                                  absl::AnyInvocable<void(absl::Status)> done) {
  done(Gate(o));  // in this process: serving whenever it can be called
}

}  // namespace tierscore::coordinator
