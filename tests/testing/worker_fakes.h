#ifndef TIERSCORE_TESTS_TESTING_WORKER_FAKES_H_
#define TIERSCORE_TESTS_TESTING_WORKER_FAKES_H_

// Fakes at the WorkerClient seam: a decorator that routes every call of a
// real (in-process) worker through one hook, and a gated worker whose
// replies the test releases when and in the order it chooses.

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/worker_client.h"

namespace tierscore::testing {

using coordinator::CallOptions;
using coordinator::Reply;
using coordinator::WorkerClient;

// Routes every call to `Derived::Route(phase, request, options, done,
// forward)`, where `forward(WorkerClient&, request, options, done)` runs it
// on a worker. `Derived` decides what happens: forward, fail, hold back.
template <typename Derived>
class WorkerDecorator : public WorkerClient {
 public:
#define TS_DECORATE(Method, phase, Request, Response)                                         \
  void Method(v1::Request r, const CallOptions& o, Reply<v1::Response> done) override {       \
    static_cast<Derived*>(this)->Route(                                                       \
        phase, std::move(r), o, std::move(done),                                              \
        [](WorkerClient& w, v1::Request req, const CallOptions& opt, Reply<v1::Response> d) { \
          w.Method(std::move(req), opt, std::move(d));                                        \
        });                                                                                   \
  }
  TS_DECORATE(Scan, "scan", ScanRequest, ScanResponse)
  TS_DECORATE(Load, "load", LoadRequest, LoadResponse)
  TS_DECORATE(CheckIds, "check_ids", CheckIdsRequest, CheckIdsResponse)
  TS_DECORATE(Score, "score", ScoreRequest, ScoreResponse)
  TS_DECORATE(Probe, "probe", ProbeRequest, ProbeResponse)
  TS_DECORATE(Assign, "assign", AssignRequest, AssignResponse)
  TS_DECORATE(Export, "export", ExportRequest, ExportResponse)
  TS_DECORATE(Publish, "publish", PublishRequest, PublishResponse)
  TS_DECORATE(Release, "release", ReleaseRequest, ReleaseResponse)
#undef TS_DECORATE
  void Check(const CallOptions&, absl::AnyInvocable<void(absl::Status)> done) override {
    done(absl::OkStatus());
  }
};

// A worker whose replies in the gated phases are held until the test
// releases them: one by one, in any order. Calls of other phases pass
// straight through to `inner` (borrowed; must outlive this worker).
// Cancelling a held call replies CANCELLED at once, as gRPC would.
// Thread-safe.
class GatedWorker : public WorkerDecorator<GatedWorker> {
 public:
  GatedWorker(WorkerClient* inner, std::vector<std::string> gated_phases)
      : inner_(inner), gated_(std::move(gated_phases)) {}

  std::string name() const override { return "gated-" + inner_->name(); }

  template <typename Request, typename Response, typename Forward>
  void Route(const std::string& phase, Request r, const CallOptions& o, Reply<Response> done,
             Forward forward) {
    if (std::find(gated_.begin(), gated_.end(), phase) == gated_.end()) {
      forward(*inner_, std::move(r), o,
              [this, phase, done = std::move(done)](absl::StatusOr<Response> reply) mutable {
                Count(phase);
                done(std::move(reply));
              });
      return;
    }
    // The inner worker computes the reply now; it is held until released.
    auto shared = std::make_shared<Reply<Response>>(
        [this, phase, done = std::move(done)](absl::StatusOr<Response> reply) mutable {
          Count(phase);
          done(std::move(reply));
        });
    const int id = Register(phase, o, [shared](absl::Status override_status) {
      (*shared)(std::move(override_status));
    });
    forward(*inner_, std::move(r), o, [this, id, shared](absl::StatusOr<Response> reply) {
      auto deliver = [shared, reply = std::move(reply)]() mutable { (*shared)(std::move(reply)); };
      Arrive(id, std::move(deliver));
    });
  }

  // Waits until `n` replies are held (false after `timeout`).
  bool WaitHeld(size_t n, absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return HeldLocked() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  size_t held() {
    absl::MutexLock lock(&mu_);
    return HeldLocked();
  }
  // Calls started in gated phases so far (held, released or cancelled).
  int started() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(calls_.size());
  }
  // Replies delivered in `phase` so far, gated or not.
  int replies(const std::string& phase) {
    absl::MutexLock lock(&mu_);
    auto it = replies_.find(phase);
    return it == replies_.end() ? 0 : it->second;
  }
  // Delivers the held reply at position `i` of the held ones, in arrival
  // order (0 = oldest). False if there is none.
  bool ReleaseHeld(size_t i) {
    absl::AnyInvocable<void()> deliver;
    {
      absl::MutexLock lock(&mu_);
      size_t seen = 0;
      for (Held& h : calls_) {
        if (!h.deliver || h.done) continue;
        if (seen++ != i) continue;
        h.done = true;
        deliver = std::move(h.deliver);
        break;
      }
    }
    if (!deliver) return false;
    deliver();
    return true;
  }
  // Releases every held reply and lets later ones through at once.
  void Open() {
    std::vector<absl::AnyInvocable<void()>> all;
    {
      absl::MutexLock lock(&mu_);
      open_ = true;
      for (Held& h : calls_) {
        if (h.deliver && !h.done) {
          h.done = true;
          all.push_back(std::move(h.deliver));
        }
      }
    }
    for (auto& d : all) d();
  }

 private:
  struct Held {
    std::string phase;
    absl::AnyInvocable<void(absl::Status)> cancel;  // replies CANCELLED
    absl::AnyInvocable<void()> deliver;             // set once the reply is in
    bool done = false;
  };

  void Count(const std::string& phase) {
    absl::MutexLock lock(&mu_);
    ++replies_[phase];
  }

  size_t HeldLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    size_t n = 0;
    for (const Held& h : calls_) n += (h.deliver && !h.done) ? 1 : 0;
    return n;
  }

  int Register(const std::string& phase, const CallOptions& o,
               absl::AnyInvocable<void(absl::Status)> cancel) {
    int id;
    {
      absl::MutexLock lock(&mu_);
      id = static_cast<int>(calls_.size());
      calls_.push_back(Held{phase, std::move(cancel), nullptr, false});
    }
    // Left registered after the reply: cancelling a finished call is a no-op.
    if (o.cancel != nullptr) o.cancel->Add([this, id] { CancelHeld(id); });
    return id;
  }

  void CancelHeld(int id) {
    absl::AnyInvocable<void(absl::Status)> cancel;
    {
      absl::MutexLock lock(&mu_);
      Held& h = calls_[static_cast<size_t>(id)];
      if (h.done) return;
      h.done = true;
      cancel = std::move(h.cancel);
    }
    cancel(absl::CancelledError("cancelled while held"));
  }

  void Arrive(int id, absl::AnyInvocable<void()> deliver) {
    {
      absl::MutexLock lock(&mu_);
      Held& h = calls_[static_cast<size_t>(id)];
      if (h.done) return;  // cancelled meanwhile: the reply is dropped
      if (!open_) {
        h.deliver = std::move(deliver);
        return;
      }
      h.done = true;
    }
    deliver();
  }

  WorkerClient* const inner_;
  const std::vector<std::string> gated_;
  absl::Mutex mu_;
  std::deque<Held> calls_ ABSL_GUARDED_BY(mu_);
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, int> replies_ ABSL_GUARDED_BY(mu_);
};

// Replies to every call at once with an empty response, on the caller's
// thread: a worker with no work, for tests of the fan-out itself.
class EchoWorker : public WorkerDecorator<EchoWorker> {
 public:
  std::string name() const override { return "echo"; }
  template <typename Request, typename Response, typename Forward>
  void Route(const std::string&, Request, const CallOptions&, Reply<Response> done, Forward) {
    done(Response());
  }
};

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_WORKER_FAKES_H_
