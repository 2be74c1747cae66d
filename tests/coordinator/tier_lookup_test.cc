// TierLookup over a MemoryStore: answered inline and from lanes alike, the
// alias cache, and shutdown.
#include "coordinator/tier_lookup.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/memory_store.h"
#include "common/run_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierscore::coordinator {
namespace {

using ::testing::HasSubstr;

// Publishes run `run` as `alias`: customers c0..c(n-1) with score i + salt.
void PublishRun(common::Store* store, const std::string& run, const std::string& alias, int n,
                double salt) {
  common::RunStore runs(store);
  std::vector<common::RunStore::Entry> entries;
  for (int i = 0; i < n; ++i) {
    common::RunStore::Entry e;
    e.customer_id = "c" + std::to_string(i);
    e.record.set_score(i + salt);
    e.record.add_tiers(i % 3);
    entries.push_back(std::move(e));
  }
  const std::string writer = common::RunStore::NewWriter();
  ASSERT_TRUE(runs.Write(run, writer, common::RunStore::BucketCount(n), entries).ok());
  v1::RunMeta meta;
  meta.set_run_id(run);
  meta.set_alias(alias);
  meta.set_buckets(common::RunStore::BucketCount(n));
  auto current = runs.CurrentRunId(alias);
  if (current.ok()) meta.set_previous_run(*current);
  auto* scheme = meta.add_schemes();
  scheme->set_name("abc");
  for (const char* t : {"A", "B", "C"}) scheme->add_tiers(t);
  scheme->add_customers(n);  // per-tier totals: not for lookups
  ASSERT_TRUE(runs.Publish(meta, writer, absl::Minutes(5)).ok());
}

class TierLookupTest : public ::testing::TestWithParam<int> {
 protected:
  void Publish(const std::string& run, int n, double salt) {
    PublishRun(&store_, run, "customers/default", n, salt);
  }

  TierLookupOptions Options() const {
    TierLookupOptions o;
    o.lanes = GetParam();
    o.alias_ttl = absl::Hours(1);  // only Invalidate moves it in these tests
    return o;
  }

  static v1::BatchLookupTierRequest Request(const std::vector<std::string>& ids) {
    v1::BatchLookupTierRequest r;
    r.set_alias("customers/default");
    for (const auto& id : ids) r.add_customer_ids(id);
    return r;
  }

  common::MemoryStore store_;
};

TEST_P(TierLookupTest, ConcurrentBatchesReadOneRunEach) {
  Publish("r1", 5000, 0.5);
  TierLookup lookup(&store_, Options());
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 50; ++k) {
        std::vector<std::string> ids;
        for (int i = 0; i < 20; ++i)
          ids.push_back("c" + std::to_string((t * 997 + k * 31 + i * 7) % 5000));
        ids.emplace_back("nobody");
        auto found = lookup.Batch(Request(ids));
        if (!found.ok() || found->entries_size() != 21 || found->entries(20).found()) {
          ++wrong;
          continue;
        }
        for (int i = 0; i < 20; ++i) {
          const auto& e = found->entries(i);
          const int n = std::stoi(e.customer_id().substr(1));
          if (!e.found() || e.record().score() != n + 0.5 || e.record().run_id() != "r1") ++wrong;
        }
        EXPECT_EQ(found->run().schemes(0).customers_size(), 0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_P(TierLookupTest, ARunPublishedHereIsSeenAtOnceTheAliasCacheOtherwise) {
  Publish("r1", 100, 0.5);
  TierLookup lookup(&store_, Options());
  EXPECT_EQ(lookup.Batch(Request({"c1"}))->run().run_id(), "r1");
  Publish("r2", 100, 0.25);
  // Cached for the TTL (an hour here): still r1, a complete run.
  auto cached = lookup.Batch(Request({"c1"}));
  EXPECT_EQ(cached->run().run_id(), "r1");
  EXPECT_EQ(cached->entries(0).record().score(), 1.5);
  lookup.Invalidate("customers/default");
  auto fresh = lookup.Batch(Request({"c1"}));
  EXPECT_EQ(fresh->run().run_id(), "r2");
  EXPECT_EQ(fresh->entries(0).record().score(), 1.25);
}

TEST_P(TierLookupTest, BadRequestsAndUnknownRunsAreRefused) {
  Publish("r1", 10, 0);
  TierLookup lookup(&store_, Options());
  std::vector<std::string> many(TierLookup::kMaxBatch + 1, "c1");
  EXPECT_THAT(lookup.Batch(Request(many)).status().message(), HasSubstr("at most 1000"));
  EXPECT_EQ(lookup.Batch(Request({""})).status().code(), absl::StatusCode::kInvalidArgument);
  v1::BatchLookupTierRequest both = Request({"c1"});
  both.set_run_id("r1");
  EXPECT_EQ(lookup.Batch(both).status().code(), absl::StatusCode::kInvalidArgument);
  v1::BatchLookupTierRequest unknown;
  unknown.set_run_id("r9");
  unknown.add_customer_ids("c1");
  EXPECT_EQ(lookup.Batch(unknown).status().code(), absl::StatusCode::kNotFound);
  auto none = lookup.Batch(Request({}));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(none.status().message(), "customer_ids: at least one customer id is required");
  v1::BatchLookupTierRequest bad_alias = Request({"c1"});
  bad_alias.set_alias("a b\n*");
  EXPECT_EQ(lookup.Batch(bad_alias).status().code(), absl::StatusCode::kInvalidArgument);
  v1::LookupTierRequest bad_run;
  bad_run.set_run_id(std::string(5000, 'r'));
  bad_run.set_customer_id("c1");
  v1::LookupTierResponse unused;
  EXPECT_EQ(lookup.One(bad_run, &unused).code(), absl::StatusCode::kInvalidArgument);
  v1::LookupTierRequest one;
  one.set_run_id("r1");
  one.set_customer_id("c3");
  v1::LookupTierResponse answer;
  ASSERT_TRUE(lookup.One(one, &answer).ok());
  EXPECT_TRUE(answer.found());
  EXPECT_EQ(answer.record().score(), 3);
  EXPECT_EQ(answer.record().run_id(), "r1");
  EXPECT_EQ(answer.run().schemes(0).tiers(2), "C");
  v1::LookupTierResponse unknown_one;
  one.set_customer_id("nobody");
  ASSERT_TRUE(lookup.One(one, &unknown_one).ok());
  EXPECT_FALSE(unknown_one.found());
  one.clear_customer_id();
  EXPECT_EQ(lookup.One(one, &unknown_one).code(), absl::StatusCode::kInvalidArgument);
}

// A MemoryStore whose HashGet waits for the test's go-ahead while `gate`
// is set, and counts calls.
class GatedStore : public common::MemoryStore {
 public:
  absl::StatusOr<std::vector<std::optional<std::string>>> HashGet(
      const std::vector<std::pair<std::string, std::string>>& key_fields) override {
    ++calls;
    if (gate) {
      entered.Notify();
      go.WaitForNotification();
    }
    return MemoryStore::HashGet(key_fields);
  }
  std::atomic<int> calls{0};
  std::atomic<bool> gate{false};
  absl::Notification entered, go;
};

TEST(TierLookupLanesTest, LookupsWaitingForALaneShareOneRoundTrip) {
  GatedStore store;
  PublishRun(&store, "r1", "a", 100, 0);
  TierLookupOptions options;
  options.lanes = 1;
  TierLookup lookup(&store, options);
  store.gate = true;
  auto request = [](int i) {
    v1::BatchLookupTierRequest r;
    r.set_alias("a");
    r.add_customer_ids("c" + std::to_string(i));
    return r;
  };
  std::atomic<int> answered{0};
  absl::Notification all;
  auto done = [&](int i) {
    return [&, i](absl::StatusOr<v1::BatchLookupTierResponse> r) {
      EXPECT_TRUE(r.ok() && r->entries(0).record().score() == i) << i;
      if (++answered == 11) all.Notify();
    };
  };
  lookup.BatchAsync(request(0), done(0));
  store.entered.WaitForNotification();  // the lane is busy with the first
  for (int i = 1; i <= 10; ++i) lookup.BatchAsync(request(i), done(i));
  store.gate = false;
  store.go.Notify();
  all.WaitForNotification();
  EXPECT_EQ(store.calls.load(), 2);  // the first, then the ten together
}

TEST(TierLookupLanesTest, StoppingAnswersEveryWaitingLookup) {
  GatedStore store;
  PublishRun(&store, "r1", "a", 1, 0);
  TierLookupOptions options;
  options.lanes = 1;
  auto lookup = std::make_unique<TierLookup>(&store, options);
  v1::BatchLookupTierRequest r;
  r.set_run_id("r1");
  r.add_customer_ids("c1");
  std::atomic<int> ok{0}, unavailable{0};
  auto done = [&](const absl::StatusOr<v1::BatchLookupTierResponse>& s) {
    if (s.ok()) ++ok;
    if (absl::IsUnavailable(s.status())) ++unavailable;
  };
  store.gate = true;
  lookup->BatchAsync(r, done);
  store.entered.WaitForNotification();  // the lane is stuck in the store
  for (int i = 0; i < 5; ++i) lookup->BatchAsync(r, done);
  std::thread stop([&] { lookup.reset(); });
  absl::SleepFor(absl::Milliseconds(20));  // let it begin stopping
  store.go.Notify();
  stop.join();
  // None lost: the stuck one answered; the waiting ones answered by the
  // lane (if it got to them first) or UNAVAILABLE by the destructor.
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(ok.load() + unavailable.load(), 6);
}

INSTANTIATE_TEST_SUITE_P(InlineAndLanes, TierLookupTest, ::testing::Values(0, 2),
                         [](const auto& info) {
                           return info.param == 0 ? std::string("inline")
                                                  : "lanes" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace tierscore::coordinator
