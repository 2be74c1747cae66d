#include "coordinator/worker_pool.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "coordinator/grpc_worker_client.h"

namespace tierscore::coordinator {
namespace {

constexpr char kDnsPrefix[] = "dns:///";

// Splits "host:port" (or "[v6]:port").
bool SplitHostPort(const std::string& s, std::string* host, std::string* port) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  *host = s.substr(0, colon);
  *port = s.substr(colon + 1);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return true;
}

absl::StatusOr<std::vector<std::string>> ResolveWithGetaddrinfo(const std::string& name_port) {
  std::string host, port;
  if (!SplitHostPort(name_port, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("expected name:port, got ", name_port));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  std::vector<std::string> out;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, ip, sizeof ip);
      out.push_back(absl::StrCat(ip, ":", port));
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, ip, sizeof ip);
      out.push_back(absl::StrCat("[", ip, "]:", port));
    }
  }
  freeaddrinfo(result);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

WorkerPoolSeams DefaultWorkerPoolSeams(std::shared_ptr<grpc::ChannelCredentials> credentials,
                                       const grpc::ChannelArguments& args) {
  WorkerPoolSeams seams;
  seams.connect = [credentials = std::move(credentials),
                   args](const std::string& address) -> std::shared_ptr<WorkerClient> {
    return GrpcWorkerClient::Create(address, credentials, args);
  };
  seams.resolve = ResolveWithGetaddrinfo;
  return seams;
}

absl::Status WorkerPool::CheckTargets(const std::vector<std::string>& targets) {
  if (targets.empty()) {
    return absl::InvalidArgumentError("workers: at least one worker address is required");
  }
  for (const std::string& t : targets) {
    std::string host, port;
    const std::string bare = absl::StartsWith(t, kDnsPrefix) ? t.substr(sizeof kDnsPrefix - 1) : t;
    if (!SplitHostPort(bare, &host, &port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("workers: \"", t, "\" is not host:port or dns:///name:port"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Create(const WorkerPoolOptions& options,
                                                               WorkerPoolSeams seams) {
  if (absl::Status st = CheckTargets(options.targets); !st.ok()) return st;
  std::unique_ptr<WorkerPool> pool(new WorkerPool(options, std::move(seams)));
  pool->Refresh();
  pool->thread_ = std::thread([p = pool.get()] { p->Loop(); });
  return pool;
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void WorkerPool::Resolve() {
  std::vector<std::string> addresses;
  for (const std::string& t : options_.targets) {
    if (!absl::StartsWith(t, kDnsPrefix)) {
      addresses.push_back(t);
      continue;
    }
    auto resolved = seams_.resolve(t.substr(sizeof kDnsPrefix - 1));
    if (!resolved.ok()) {
      // Keep what this name resolved to before: a DNS hiccup is no reason
      // to drop workers; their health checks decide.
      absl::MutexLock lock(&mu_);
      for (const auto& [address, w] : workers_) addresses.push_back(address);
      continue;
    }
    addresses.insert(addresses.end(), resolved->begin(), resolved->end());
  }
  absl::MutexLock lock(&mu_);
  std::map<std::string, Worker> next;
  for (const std::string& a : addresses) {
    auto it = workers_.find(a);
    if (it != workers_.end()) {
      next[a] = it->second;
    } else if (next.find(a) == next.end()) {
      next[a] = Worker{seams_.connect(a), false, 0};
    }
  }
  workers_ = std::move(next);
  last_resolve_ = absl::Now();
}

void WorkerPool::Check() {
  std::vector<std::pair<std::string, std::shared_ptr<WorkerClient>>> members;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [address, w] : workers_) members.emplace_back(address, w.client);
  }
  // All at once, outside the lock; the round waits for the slowest answer
  // (at most the timeout).
  struct Round {
    absl::Mutex mu;
    std::vector<std::optional<bool>> ok ABSL_GUARDED_BY(mu);
    size_t pending ABSL_GUARDED_BY(mu) = 0;
  };
  auto round = std::make_shared<Round>();
  {
    absl::MutexLock lock(&round->mu);
    round->ok.resize(members.size());
    round->pending = members.size();
  }
  const CallOptions options{absl::Now() + options_.check_timeout, nullptr};
  for (size_t i = 0; i < members.size(); ++i) {
    members[i].second->Check(options, [round, i](const absl::Status& st) {
      absl::MutexLock lock(&round->mu);
      round->ok[i] = st.ok();
      --round->pending;
    });
  }
  std::vector<std::optional<bool>> ok;
  {
    absl::MutexLock lock(&round->mu);
    round->mu.Await(absl::Condition(
        +[](Round* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu) { return r->pending == 0; },
        round.get()));
    ok = round->ok;
  }
  std::vector<std::pair<std::string, bool>> changed;  // logged outside the lock
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < members.size(); ++i) {
      auto it = workers_.find(members[i].first);
      if (it == workers_.end()) continue;
      Worker& w = it->second;
      const bool was = w.healthy;
      if (ok[i].value_or(false)) {
        w.healthy = true;
        w.failures = 0;
      } else if (++w.failures >= options_.failures_to_drop || !w.healthy) {
        w.healthy = false;
      }
      // A new worker's first failed check is no loss: it never served.
      if (w.healthy != was && (was || w.failures == 0)) changed.emplace_back(it->first, w.healthy);
    }
  }
  for (const auto& [address, healthy] : changed) {
    common::LogEvent(healthy ? spdlog::level::info : spdlog::level::warn,
                     healthy ? "worker.healthy" : "worker.lost", {{"worker", address}});
  }
}

void WorkerPool::ReportChecked() {
  if (!options_.on_checked) return;
  int healthy = 0, total = 0;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [address, w] : workers_) {
      ++total;
      healthy += w.healthy ? 1 : 0;
    }
  }
  options_.on_checked(healthy, total);
}

void WorkerPool::Refresh() {
  Resolve();
  Check();
  ReportChecked();
}

void WorkerPool::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.check_interval)) return;
    }
    bool resolve;
    {
      absl::MutexLock lock(&mu_);
      resolve = absl::Now() - last_resolve_ >= options_.resolve_interval;
    }
    if (resolve) Resolve();
    Check();
    ReportChecked();
  }
}

std::vector<std::shared_ptr<WorkerClient>> WorkerPool::Healthy() const {
  std::vector<std::shared_ptr<WorkerClient>> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [address, w] : workers_) {
    if (w.healthy) out.push_back(w.client);
  }
  return out;
}

std::vector<std::shared_ptr<WorkerClient>> WorkerPool::WaitForHealthy(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto any_healthy = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [address, w] : workers_) {
      if (w.healthy) return true;
    }
    return false;
  };
  mu_.AwaitWithDeadline(absl::Condition(&any_healthy), deadline);
  std::vector<std::shared_ptr<WorkerClient>> out;
  for (const auto& [address, w] : workers_) {
    if (w.healthy) out.push_back(w.client);
  }
  return out;
}

std::vector<WorkerPool::Member> WorkerPool::Members() const {
  std::vector<Member> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [address, w] : workers_) out.push_back({address, w.healthy});
  return out;
}

}  // namespace tierscore::coordinator
