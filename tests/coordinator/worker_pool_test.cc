#include "coordinator/worker_pool.h"

#include <set>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/worker_fakes.h"

namespace tierscore::coordinator {
namespace {

// The world as the test decides it: which addresses answer, what names
// resolve to.
class FakeWorld {
 public:
  WorkerPoolSeams Seams();
  bool IsUp(const std::string& a) {
    absl::MutexLock lock(&mu_);
    return up_.count(a) > 0;
  }
  void Up(const std::string& a) {
    absl::MutexLock lock(&mu_);
    up_.insert(a);
  }
  void Down(const std::string& a) {
    absl::MutexLock lock(&mu_);
    up_.erase(a);
  }
  void Dns(const std::string& name, std::vector<std::string> addresses) {
    absl::MutexLock lock(&mu_);
    dns_[name] = std::move(addresses);
  }
  void DnsDown(bool down) {
    absl::MutexLock lock(&mu_);
    dns_down_ = down;
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> up_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> dns_ ABSL_GUARDED_BY(mu_);
  bool dns_down_ ABSL_GUARDED_BY(mu_) = false;
};

// A WorkerClient that has a name and answers health checks as the world
// says; the pool never calls phases.
class NamedWorker : public testing::WorkerDecorator<NamedWorker> {
 public:
  NamedWorker(std::string name, FakeWorld* world) : name_(std::move(name)), world_(world) {}
  std::string name() const override { return name_; }
  template <typename Request, typename Response, typename Forward>
  void Route(const std::string&, Request, const CallOptions&, Reply<Response> done, Forward) {
    done(absl::UnimplementedError("fake"));
  }
  void Check(const CallOptions&, absl::AnyInvocable<void(absl::Status)> done) override {
    done(world_->IsUp(name_) ? absl::OkStatus() : absl::UnavailableError("down"));
  }

 private:
  std::string name_;
  FakeWorld* world_;
};

WorkerPoolSeams FakeWorld::Seams() {
  WorkerPoolSeams seams;
  seams.connect = [this](const std::string& a) { return std::make_shared<NamedWorker>(a, this); };
  seams.resolve = [this](const std::string& name) -> absl::StatusOr<std::vector<std::string>> {
    absl::MutexLock lock(&mu_);
    if (dns_down_) return absl::UnavailableError("no DNS");
    return dns_[name];
  };
  return seams;
}

std::vector<std::string> Names(const std::vector<std::shared_ptr<WorkerClient>>& ws) {
  std::vector<std::string> out;
  for (const auto& w : ws) out.push_back(w->name());
  return out;
}

WorkerPoolOptions Options(std::vector<std::string> targets) {
  WorkerPoolOptions o;
  o.targets = std::move(targets);
  o.check_interval = absl::Hours(1);  // the test calls Refresh itself
  o.resolve_interval = absl::ZeroDuration();
  return o;
}

TEST(WorkerPoolTest, UnhealthyWorkersLeaveAndComeBack) {
  FakeWorld world;
  world.Up("a:1");
  auto pool = WorkerPool::Create(Options({"a:1", "b:2"}), world.Seams());
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(Names((*pool)->Healthy()), (std::vector<std::string>{"a:1"}));
  world.Up("b:2");
  (*pool)->Refresh();
  EXPECT_EQ(Names((*pool)->Healthy()), (std::vector<std::string>{"a:1", "b:2"}));
  // One failed check is tolerated, two take the worker out.
  world.Down("a:1");
  (*pool)->Refresh();
  EXPECT_EQ((*pool)->Healthy().size(), 2u);
  (*pool)->Refresh();
  EXPECT_EQ(Names((*pool)->Healthy()), (std::vector<std::string>{"b:2"}));
  // Restarted under the same address: back in, the same client object.
  world.Up("a:1");
  (*pool)->Refresh();
  EXPECT_EQ((*pool)->Healthy().size(), 2u);
}

TEST(WorkerPoolTest, DnsTargetsFollowTheirNames) {
  FakeWorld world;
  world.Dns("workers:7070", {"10.0.0.1:7070", "10.0.0.2:7070"});
  for (const char* a : {"10.0.0.1:7070", "10.0.0.2:7070", "10.0.0.3:7070"}) world.Up(a);
  auto pool = WorkerPool::Create(Options({"dns:///workers:7070"}), world.Seams());
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(Names((*pool)->Healthy()),
            (std::vector<std::string>{"10.0.0.1:7070", "10.0.0.2:7070"}));
  world.Dns("workers:7070", {"10.0.0.2:7070", "10.0.0.3:7070"});  // scaled: one replaced
  (*pool)->Refresh();
  EXPECT_EQ(Names((*pool)->Healthy()),
            (std::vector<std::string>{"10.0.0.2:7070", "10.0.0.3:7070"}));
  world.DnsDown(true);  // a DNS outage keeps the members
  (*pool)->Refresh();
  EXPECT_EQ((*pool)->Members().size(), 2u);
}

TEST(WorkerPoolTest, WaitForHealthyWaitsUntilAWorkerAnswersOrTheDeadline) {
  FakeWorld world;
  WorkerPoolOptions o = Options({"a:1"});
  o.check_interval = absl::Milliseconds(20);
  auto pool = WorkerPool::Create(o, world.Seams());
  ASSERT_TRUE(pool.ok());
  EXPECT_TRUE((*pool)->WaitForHealthy(absl::Now() + absl::Milliseconds(100)).empty());
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(100));
    world.Up("a:1");
  });
  const absl::Time start = absl::Now();
  auto healthy = (*pool)->WaitForHealthy(absl::Now() + absl::Seconds(30));
  later.join();
  EXPECT_EQ(Names(healthy), (std::vector<std::string>{"a:1"}));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(WorkerPoolTest, RejectsMalformedTargets) {
  FakeWorld world;
  EXPECT_EQ(WorkerPool::Create(Options({}), world.Seams()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(WorkerPool::Create(Options({"nohostport"}), world.Seams()).status().message(),
              ::testing::HasSubstr("\"nohostport\" is not host:port"));
}

}  // namespace
}  // namespace tierscore::coordinator
