#include "engine/standing.h"

#include "engine/position.h"
#include "gtest/gtest.h"

namespace tierscore::engine {
namespace {

Standing Apply(Protection p, int earned, int held, int runs_below) {
  Standing before{held, runs_below};
  return Protect(p, earned, &before);
}

TEST(ProtectTest, RisingStayingAndNewCustomersAreNeverHeld) {
  Protection p{/*max_drop=*/1, /*demote_after=*/3};
  EXPECT_EQ(Apply(p, 0, 2, 1).tier, 0);  // rose (tier 0 is the top)
  EXPECT_EQ(Apply(p, 0, 2, 1).runs_below, 0);
  EXPECT_EQ(Apply(p, 2, 2, 1).tier, 2);  // stayed: the count starts again
  EXPECT_EQ(Apply(p, 2, 2, 1).runs_below, 0);
  EXPECT_EQ(Protect(p, 5, nullptr).tier, 5);
  EXPECT_EQ(Apply(Protection{}, 5, 0, 0).tier, 5);  // no protection
}

TEST(ProtectTest, MaxDropLimitsEachFall) {
  Protection p{/*max_drop=*/1, /*demote_after=*/0};
  EXPECT_EQ(Apply(p, 4, 1, 0).tier, 2);
  EXPECT_EQ(Apply(p, 2, 1, 0).tier, 2);
  Protection two{/*max_drop=*/2, 0};
  EXPECT_EQ(Apply(two, 6, 1, 0).tier, 3);
  EXPECT_EQ(Apply(two, 6, 1, 0).runs_below, 0);
}

TEST(ProtectTest, DemoteAfterHoldsUntilTheNthRunBelow) {
  Protection p{/*max_drop=*/0, /*demote_after=*/3};
  Standing s{1, 0};
  s = Protect(p, 3, &s);  // first run below: held
  EXPECT_EQ(s.tier, 1);
  EXPECT_EQ(s.runs_below, 1);
  s = Protect(p, 2, &s);  // second: held
  EXPECT_EQ(s.tier, 1);
  EXPECT_EQ(s.runs_below, 2);
  s = Protect(p, 4, &s);  // third: falls to what it earns
  EXPECT_EQ(s.tier, 4);
  EXPECT_EQ(s.runs_below, 0);
  // A run back at the tier in between starts the count again.
  s = {1, 2};
  s = Protect(p, 1, &s);
  EXPECT_EQ(s.runs_below, 0);
  s = Protect(p, 3, &s);
  EXPECT_EQ(s.tier, 1);
}

TEST(ProtectTest, DemoteAfterThenMaxDrop) {
  Protection p{/*max_drop=*/1, /*demote_after=*/2};
  EXPECT_EQ(Apply(p, 5, 1, 0).tier, 1);  // held
  EXPECT_EQ(Apply(p, 5, 1, 1).tier, 2);  // falls, one tier
}

TEST(MatchPriorTest, ProtectionNeedsTheSameTiersUnderTheSameName) {
  CompiledPolicy policy;
  CompiledScheme ladder;
  ladder.name = "ladder";
  ladder.names = {"Gold", "Silver", "Bronze"};
  ladder.protection.max_drop = 1;
  CompiledScheme abc = ladder;
  abc.name = "abc";
  CompiledScheme fresh = ladder;
  fresh.name = "fresh";
  policy.schemes = {ladder, abc, fresh};
  v1::RunMeta prior;
  auto* a = prior.add_schemes();
  a->set_name("abc");
  for (const char* t : {"Gold", "Silver"}) a->add_tiers(t);  // another ladder
  auto* l = prior.add_schemes();
  l->set_name("ladder");
  for (const char* t : {"Gold", "Silver", "Bronze"}) l->add_tiers(t);
  const std::vector<PriorScheme> m = MatchPrior(policy, prior);
  EXPECT_EQ(m[0].index, 1);
  EXPECT_TRUE(m[0].protect);
  EXPECT_EQ(m[1].index, 0);
  EXPECT_EQ(m[1].tiers, 2);
  EXPECT_FALSE(m[1].protect);
  EXPECT_EQ(m[2].index, -1);
}

TEST(MigrationAccTest, LostCustomersComeFromThePreviousTotals) {
  v1::RunMeta prior;
  prior.set_run_id("r1");
  auto* s = prior.add_schemes();
  s->set_name("abc");
  for (const char* t : {"A", "B"}) s->add_tiers(t);
  s->add_customers(3);  // A: 3 customers worth 30
  ToProto(30'000'000, s->add_value_micros());
  s->add_customers(2);  // B: 2 customers worth 4
  ToProto(4'000'000, s->add_value_micros());

  MigrationAcc left(2, 2), right(2, 2);
  left.Add(0, 0, 12'000'000, 11'000'000, false);  // A -> A
  left.Add(0, 1, 1'000'000, 9'000'000, true);     // A -> B, held
  right.Add(1, 0, 7'000'000, 2'000'000, false);   // B -> A
  right.AddNew(1, 500'000);                       // new -> B
  v1::MigrationState wire;
  right.ToProto(&wire);
  ASSERT_TRUE(left.MergeProto(wire).ok());
  EXPECT_EQ(MigrationAcc(3, 2).MergeProto(wire).code(), absl::StatusCode::kInternal);
  const v1::Migration m = left.Finish("abc", prior, 0, {"A", "B"});
  ASSERT_EQ(m.from_tiers_size(), 3);
  EXPECT_EQ(m.from_tiers(2), "(new)");
  EXPECT_EQ(m.to_tiers(2), "(lost)");
  // Rows A, B, new; columns A, B, lost.
  const std::vector<int64_t> customers = {1, 1, 1, 1, 0, 1, 0, 1, 0};
  const std::vector<double> value = {12, 1, 10, 7, 0, 2, 0, 0.5, 0};
  EXPECT_EQ(std::vector<int64_t>(m.customers().begin(), m.customers().end()), customers);
  EXPECT_EQ(std::vector<double>(m.value().begin(), m.value().end()), value);
  EXPECT_EQ(m.held(), 1);
  EXPECT_EQ(m.previous_run(), "r1");
}

TEST(PositionTableTest, ExactAtBinEdgesAndWithinTheBinShareInside) {
  // Four bins over [0, 4]: scores 3.5 (x2), 2.5, 0.5 with values 1, 1, 2, 4.
  std::vector<int64_t> counts = {2, 1, 0, 1};
  std::vector<int128> values = {2, 2, 0, 4};
  Positions p = PositionTable::Build(0, 4, counts, values);
  EXPECT_DOUBLE_EQ(PositionTable::MaxBinShare(counts, values), 0.5);
  PositionTable table(p);
  float pct, cum;
  table.Locate(4, &pct, &cum);  // the top edge
  EXPECT_EQ(pct, 0);
  EXPECT_EQ(cum, 0);
  table.Locate(3, &pct, &cum);  // the edge below bin 0
  EXPECT_FLOAT_EQ(pct, 0.5);
  EXPECT_FLOAT_EQ(cum, 0.25);
  table.Locate(2.5, &pct, &cum);  // halfway through bin 1
  EXPECT_FLOAT_EQ(pct, 0.625);
  EXPECT_FLOAT_EQ(cum, 0.375);
  table.Locate(0, &pct, &cum);
  EXPECT_FLOAT_EQ(pct, 1.0);
  PositionTable empty{Positions()};
  empty.Locate(1, &pct, &cum);
  EXPECT_EQ(pct, 0);
}

}  // namespace
}  // namespace tierscore::engine
