// Published runs and online lookups end to end: a real redis-server, two
// workers and a coordinator on 127.0.0.1:0.
#include <memory>
#include <string>
#include <vector>

#include "client/local_run.h"
#include "engine/generator.h"
#include "engine/reference.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/published_cluster.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::coordinator {
namespace {

using ::testing::HasSubstr;

class PublishTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::PublishedCluster::Start(dir_.path());
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    redis_ = cluster_->redis.get();
    client_ = cluster_->client.get();
    engine::GeneratorOptions gen;
    gen.rows = 20000;
    gen.seed = 21;
    input_ = dir_.path() + "/customers.csv";
    ASSERT_TRUE(engine::GenerateCustomers(gen, input_).ok());
  }

  absl::StatusOr<v1::Job> Run() {
    return cluster_->Run(
        {input_}, std::string(TIERSCORE_SOURCE_DIR) + "/examples/policies/value_ladder.yaml");
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PublishedCluster> cluster_;
  testing::RedisServer* redis_;
  client::Client* client_;
  std::string input_;
};

TEST_F(PublishTest, LookupsServeThePublishedRunWithTheReferenceTiers) {
  auto job = Run();
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::Publication& pub = job->result().publication();
  EXPECT_TRUE(pub.published()) << pub.error();
  EXPECT_EQ(pub.records(), 20000);
  EXPECT_EQ(pub.alias(), "customers/default");

  auto spec = client::LoadJobSpec(
      {input_}, std::string(TIERSCORE_SOURCE_DIR) + "/examples/policies/value_ladder.yaml", "");
  auto compiled = engine::CompileJob(spec->policy(), spec->kpis());
  auto ref = engine::RunReference(**compiled, {input_});
  ASSERT_TRUE(ref.ok());
  constexpr size_t kStep = 25;  // 800 customers and one unknown: one batch
  std::vector<std::string> ids;
  for (size_t i = 0; i < ref->ids.size(); i += kStep) ids.push_back(ref->ids[i]);
  ids.emplace_back("nobody");
  auto found = testing::RawLookup(*client_, "customers/default", ids);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->run().run_id(), job->id());
  EXPECT_EQ(found->run().schemes(0).tiers(0), "Diamond");
  ASSERT_EQ(found->entries_size(), static_cast<int>(ids.size()));
  for (size_t k = 0; k + 1 < ids.size(); ++k) {
    const auto& e = found->entries(static_cast<int>(k));
    const size_t i = k * kStep;
    ASSERT_TRUE(e.found()) << e.customer_id();
    EXPECT_EQ(e.record().run_id(), job->id());
    EXPECT_EQ(e.record().score(), ref->scores[i]);
    for (int s = 0; s < 2; ++s) {
      EXPECT_EQ(e.record().tiers(s), ref->tiers[static_cast<size_t>(s)][i]) << e.customer_id();
      EXPECT_GE(e.record().gap_to_next_tier(s), 0);
      if (e.record().tiers(s) == 0) {
        EXPECT_EQ(e.record().gap_to_next_tier(s), 0);
      }
    }
    EXPECT_EQ(e.record().contributions_size(), 3);
  }
  EXPECT_FALSE(found->entries(static_cast<int>(ids.size()) - 1).found());
  // The SDK's lookup: the same records, tier indices resolved to names.
  auto typed = client_->BatchLookup(client::RunRef::Alias("customers/default"), ids);
  ASSERT_TRUE(typed.ok()) << typed.status();
  ASSERT_EQ(typed->size(), ids.size());
  for (size_t k = 0; k + 1 < ids.size(); ++k) {
    const auto& raw = found->entries(static_cast<int>(k)).record();
    const client::CustomerTiers& t = (*typed)[k];
    ASSERT_TRUE(t.found);
    EXPECT_EQ(t.run_id, job->id());
    EXPECT_EQ(t.score, raw.score());
    ASSERT_EQ(t.tiers.size(), 2u);
    for (int s = 0; s < 2; ++s) {
      EXPECT_EQ(t.tiers[static_cast<size_t>(s)].scheme, found->run().schemes(s).name());
      EXPECT_EQ(t.tiers[static_cast<size_t>(s)].tier, found->run().schemes(s).tiers(raw.tiers(s)));
      EXPECT_FALSE(t.tiers[static_cast<size_t>(s)].compared);  // the alias's first run
    }
    EXPECT_EQ(t.contributions.size(), 3u);
  }
  EXPECT_FALSE(typed->back().found);

  // A second run replaces the first for the alias; the first stays
  // readable by run id for its retention.
  auto second = Run();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->result().publication().previous_run(), job->id());
  EXPECT_EQ(testing::RawLookup(*client_, "customers/default", {ids[0]})->run().run_id(),
            second->id());
  EXPECT_EQ(testing::RawLookup(*client_, job->id(), {ids[0]}, /*by_run=*/true)
                ->entries(0)
                .record()
                .run_id(),
            job->id());
}

TEST_F(PublishTest, BadLookupsAreRefused) {
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(testing::RawLookup(*client_, "no/such/alias", {"C1"}).status().code(),
            absl::StatusCode::kNotFound);
  std::vector<std::string> many(1001, "C0000001");
  auto too_many = testing::RawLookup(*client_, "customers/default", many);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.status().message(), HasSubstr("at most 1000"));
}

TEST_F(PublishTest, RedisDownFailsPublishingNotTheJobAndEverythingResumes) {
  ASSERT_TRUE(Run().ok());
  redis_->Stop();
  auto lookup = testing::RawLookup(*client_, "customers/default", {"C0000001"});
  EXPECT_EQ(lookup.status().code(), absl::StatusCode::kUnavailable) << lookup.status();

  auto job = Run();
  ASSERT_TRUE(job.ok()) << job.status();  // the batch result stands
  EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_FALSE(job->result().publication().published());
  EXPECT_THAT(job->result().publication().error(), HasSubstr("redis"));
  EXPECT_GT(job->result().customers(), 0);
  EXPECT_TRUE(client_->Attach(job->id()).Kpis().ok());

  // Redis is back (empty: no persistence in this test): no restarts
  // needed. The failed publication is retried from the kept results.
  ASSERT_TRUE(redis_->Restart().ok());
  auto published = client_->Attach(job->id()).Publish(absl::Minutes(1));
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_TRUE(published->result().publication().published())
      << published->result().publication().error();
  EXPECT_EQ(published->result().publication().records(), 20000);
  EXPECT_EQ(client_->Attach(job->id()).Get()->result().publication().run_id(), job->id());
  auto found = testing::RawLookup(*client_, "customers/default", {"C0000001"});
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->entries(0).found());
  EXPECT_EQ(found->run().run_id(), job->id());
  // Publishing a published job changes nothing.
  auto again = client_->Attach(job->id()).Publish(absl::Minutes(1));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->result().publication().records(), 20000);

  // A job that then runs publishes as usual, against the retried run.
  auto next = Run();
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->result().publication().published()) << next->result().publication().error();
  EXPECT_EQ(next->result().publication().previous_run(), job->id());
  EXPECT_EQ(next->result().kpis().migration_size(), 2);
}

TEST_F(PublishTest, PublishingAnUnknownJobIsNotFound) {
  EXPECT_EQ(client_->Attach("no-such-job").Publish(absl::Minutes(1)).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tierscore::coordinator
