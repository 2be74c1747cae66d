// Runs that follow each other under one alias: previous tiers, downgrade
// protection and the migration matrix, end to end (a real redis-server, two
// workers, a coordinator), checked against the reference given the
// previous run's records as read back from Redis.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "client/local_run.h"
#include "engine/generator.h"
#include "engine/reference.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/job_harness.h"
#include "tests/testing/published_cluster.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::coordinator {
namespace {

// The example loyalty policy (protection on both schemes) plus a quantile
// scheme without protection.
std::string Policy() {
  std::ifstream in(std::string(TIERSCORE_SOURCE_DIR) + "/examples/policies/loyalty.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str() + R"(  - name: top
    quantile: {boundaries: [0.1, 0.5], names: [Top, Middle, Rest]}
)";
}

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::PublishedCluster::Start(dir_.path());
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    policy_ = dir_.path() + "/loyalty.yaml";
    std::ofstream(policy_) << Policy();
  }

  std::string Generate(const std::string& name, engine::GeneratorOptions gen) {
    std::string path = dir_.path() + "/" + name;
    EXPECT_TRUE(engine::GenerateCustomers(gen, path).ok());
    return path;
  }

  absl::StatusOr<engine::ReferenceResult> Reference(const std::string& input,
                                                    const engine::PriorRun* prior) {
    auto spec = client::LoadJobSpec({input}, policy_, "");
    if (!spec.ok()) return spec.status();
    auto compiled = engine::CompileJob(spec->policy(), spec->kpis());
    if (!compiled.ok()) return compiled.status();
    return engine::RunReference(**compiled, {input}, prior);
  }

  // Every published record of the run equals the reference's customer:
  // tiers before and after protection, previous tiers, runs below, value,
  // and positions within the bound the job reports.
  void ExpectRecords(const v1::Job& job, const engine::ReferenceResult& ref, bool has_prior) {
    auto run = cluster_->ReadRun(job.id(), ref.ids);
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_EQ(run->records.size(), ref.ids.size());
    const double bound = job.result().stats().position_error() + 1e-6;
    EXPECT_GT(job.result().stats().position_error(), 0);
    EXPECT_LT(job.result().stats().position_error(), 0.05);
    for (size_t i = 0; i < ref.ids.size(); ++i) {
      const v1::TierRecord& r = run->records.at(ref.ids[i]);
      ASSERT_EQ(r.score(), ref.scores[i]) << ref.ids[i];
      ASSERT_EQ(r.value_micros(), ref.values[i]) << ref.ids[i];
      ASSERT_NEAR(r.percentile(), ref.percentile[i], bound) << ref.ids[i];
      ASSERT_NEAR(r.cum_before_share(), ref.cum_before_share[i], bound) << ref.ids[i];
      for (size_t s = 0; s < 3; ++s) {
        const int k = static_cast<int>(s);
        ASSERT_EQ(r.tiers(k), ref.tiers[s][i]) << ref.ids[i] << " scheme " << s;
        ASSERT_EQ(r.previous_tiers_size(), has_prior ? 3 : 0);
        if (!has_prior) continue;
        ASSERT_EQ(r.earned_tiers(k), ref.earned_tiers[s][i]) << ref.ids[i] << " scheme " << s;
        ASSERT_EQ(r.previous_tiers(k), ref.previous_tiers[s][i]) << ref.ids[i] << " scheme " << s;
        ASSERT_EQ(r.runs_below(k), ref.runs_below[s][i]) << ref.ids[i] << " scheme " << s;
      }
    }
  }

  static int64_t Column(const v1::Migration& m, int to) {
    int64_t sum = 0;
    for (int from = 0; from < m.from_tiers_size(); ++from) {
      sum += m.customers(from * m.to_tiers_size() + to);
    }
    return sum;
  }
  static int64_t Row(const v1::Migration& m, int from) {
    int64_t sum = 0;
    for (int to = 0; to < m.to_tiers_size(); ++to)
      sum += m.customers(from * m.to_tiers_size() + to);
    return sum;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PublishedCluster> cluster_;
  std::string policy_;
};

TEST_F(MigrationTest, RunsInARowMatchTheReferenceWithProtectionAndMigration) {
  // Run 1: 20,000 customers. Run 2: 19,000 of them with new values, heavy
  // ties and many zeros (1,000 lost). Run 3: 21,000 (2,000 new), skewed.
  engine::GeneratorOptions a;
  a.rows = 20000;
  a.seed = 21;
  engine::GeneratorOptions b;
  b.rows = 19000;
  b.seed = 22;
  b.extra_zero_share = 0.2;
  b.distinct_values = 40;
  engine::GeneratorOptions c;
  c.rows = 21000;
  c.seed = 23;
  const std::string in_a = Generate("a.csv", a), in_b = Generate("b.csv", b),
                    in_c = Generate("c.csv", c);

  auto first = cluster_->Run({in_a}, policy_);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->result().publication().published()) << first->result().publication().error();
  EXPECT_EQ(first->result().kpis().migration_size(), 0);  // nothing before it
  auto ref_a = Reference(in_a, nullptr);
  ASSERT_TRUE(ref_a.ok()) << ref_a.status();
  EXPECT_EQ(testing::ResultDiff(first->result(), ref_a->result), "");
  ExpectRecords(*first, *ref_a, /*has_prior=*/false);

  auto prior_a = cluster_->ReadRun(first->id(), ref_a->ids);
  ASSERT_TRUE(prior_a.ok()) << prior_a.status();
  auto second = cluster_->Run({in_b}, policy_);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(second->result().publication().published()) << second->result().publication().error();
  EXPECT_EQ(second->result().publication().previous_run(), first->id());
  auto ref_b = Reference(in_b, &*prior_a);
  ASSERT_TRUE(ref_b.ok()) << ref_b.status();
  EXPECT_EQ(testing::ResultDiff(second->result(), ref_b->result), "");
  ExpectRecords(*second, *ref_b, /*has_prior=*/true);
  const auto& m2 = second->result().kpis().migration();
  ASSERT_EQ(m2.size(), 3);
  for (const v1::Migration& m : m2) {
    EXPECT_EQ(m.previous_run(), first->id());
    EXPECT_EQ(Column(m, m.to_tiers_size() - 1), 1000) << m.scheme();  // lost
    EXPECT_EQ(Row(m, m.from_tiers_size() - 1), 0) << m.scheme();      // new
  }
  EXPECT_GT(m2[0].held(), 0);  // ladder: falls of more than one tier held
  EXPECT_GT(m2[1].held(), 0);  // abc: first run below held
  EXPECT_EQ(m2[2].held(), 0);  // no protection

  auto prior_b = cluster_->ReadRun(second->id(), ref_b->ids);
  ASSERT_TRUE(prior_b.ok()) << prior_b.status();
  auto third = cluster_->Run({in_c}, policy_);
  ASSERT_TRUE(third.ok()) << third.status();
  auto ref_c = Reference(in_c, &*prior_b);
  ASSERT_TRUE(ref_c.ok()) << ref_c.status();
  EXPECT_EQ(testing::ResultDiff(third->result(), ref_c->result), "");
  ExpectRecords(*third, *ref_c, /*has_prior=*/true);
  for (const v1::Migration& m : third->result().kpis().migration()) {
    EXPECT_EQ(Row(m, m.from_tiers_size() - 1), 2000) << m.scheme();  // new
    EXPECT_EQ(Column(m, m.to_tiers_size() - 1), 0) << m.scheme();    // lost
  }
  // abc: some customers held in run 2 fell in run 3, their second run below.
  int fell_after_two = 0;
  for (size_t i = 0; i < ref_c->ids.size(); ++i) {
    auto it = prior_b->records.find(ref_c->ids[i]);
    if (it == prior_b->records.end() || it->second.runs_below(1) != 1) continue;
    if (ref_c->earned_tiers[1][i] > it->second.tiers(1)) {
      ++fell_after_two;
      EXPECT_EQ(ref_c->tiers[1][i], ref_c->earned_tiers[1][i]);
    }
  }
  EXPECT_GT(fell_after_two, 0);

  // A what-if: a shorter ladder of other tiers under the same scheme name.
  // The migration maps the old tiers onto the new ones; protection does
  // not apply across different ladders.
  auto prior_c = cluster_->ReadRun(third->id(), ref_c->ids);
  ASSERT_TRUE(prior_c.ok()) << prior_c.status();
  std::string what_if = Policy();
  const std::string ladder =
      "      boundaries: [0.50, 0.70, 0.80, 0.90, 0.95, 0.98]\n"
      "      names: [Diamond, Platinum, Gold, Silver, Bronze, Standard, Basic]";
  what_if.replace(what_if.find(ladder), ladder.size(),
                  "      boundaries: [0.5, 0.8, 0.95]\n      names: [Gold, Silver, Bronze, Basic]");
  policy_ = dir_.path() + "/what_if.yaml";
  std::ofstream(policy_) << what_if;
  auto fourth = cluster_->Run({in_c}, policy_);
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  auto ref_d = Reference(in_c, &*prior_c);
  ASSERT_TRUE(ref_d.ok()) << ref_d.status();
  EXPECT_EQ(testing::ResultDiff(fourth->result(), ref_d->result), "");
  ExpectRecords(*fourth, *ref_d, /*has_prior=*/true);
  const v1::Migration& m4 = fourth->result().kpis().migration(0);
  EXPECT_EQ(m4.from_tiers_size(), 8);  // seven old tiers and (new)
  EXPECT_EQ(m4.to_tiers_size(), 5);    // four new tiers and (lost)
  EXPECT_EQ(m4.held(), 0);
  // abc is unchanged and so are the scores: the customers it held in run 3
  // are now in their second run below, and fall.
  EXPECT_GT(third->result().kpis().migration(1).held(), 0);
  EXPECT_EQ(fourth->result().kpis().migration(1).held(), 0);
}

}  // namespace
}  // namespace tierscore::coordinator
