// The pieces of the duplicate-id check (engine/duplicates.h) as logic; the
// check through the job phases is in tests/coordinator/duplicate_ids_test.cc.
#include "engine/duplicates.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierscore::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(IdTargetTest, IsStableInRangeAndSpreadsIds) {
  constexpr int kTargets = 7;
  std::vector<int> hits(kTargets, 0);
  for (int i = 0; i < 70000; ++i) {
    const std::string id = absl::StrCat("C", i);
    const int t = IdTarget(id, kTargets);
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kTargets);
    ASSERT_EQ(t, IdTarget(id, kTargets));
    ++hits[static_cast<size_t>(t)];
  }
  for (int h : hits) EXPECT_NEAR(h, 10000, 500);
  EXPECT_EQ(IdTarget("anything", 1), 0);
}

TEST(DuplicateFinderTest, FindsRepeatsWhateverTheOrderTheyArriveIn) {
  const std::vector<std::string> ids = {"a", "b", "a", "c", "b", "a", "d"};
  // Places handed over out of input order, as lists from several splits are.
  const std::vector<IdPlace> places = {{2, 5}, {0, 1}, {1, 0}, {0, 2}, {3, 9}, {0, 0}, {1, 1}};
  DuplicateFinder finder;
  for (size_t i = 0; i < ids.size(); ++i) finder.Add(ids[i], places[i]);
  const std::vector<DuplicateId> dups = finder.Finish();
  ASSERT_EQ(dups.size(), 2u);
  EXPECT_EQ(dups[0].id, "a");  // first seen at (0,0)
  EXPECT_THAT(dups[0].places, ElementsAre(IdPlace{0, 0}, IdPlace{1, 0}, IdPlace{2, 5}));
  EXPECT_EQ(dups[1].id, "b");  // first seen at (0,1)
  EXPECT_THAT(dups[1].places, ElementsAre(IdPlace{0, 1}, IdPlace{3, 9}));
  EXPECT_EQ(ExtraRows(dups), 3);
  const auto later = LaterRows(dups);
  ASSERT_EQ(later.size(), 3u);
  EXPECT_THAT(later.at(1), ElementsAre(0));
  EXPECT_THAT(later.at(2), ElementsAre(5));
  EXPECT_THAT(later.at(3), ElementsAre(9));
}

TEST(DuplicateFinderTest, NoRepeatsNoDuplicates) {
  DuplicateFinder finder;
  const std::vector<std::string> ids = {"x", "y", "X", "x "};
  for (size_t i = 0; i < ids.size(); ++i) finder.Add(ids[i], {0, static_cast<int32_t>(i)});
  EXPECT_TRUE(finder.Finish().empty());
}

TEST(DuplicateIdsErrorTest, NamesCountPlacesAndTheWayOut) {
  std::vector<DuplicateId> dups = {{"C1", {{0, 0}, {0, 4}}},
                                   {"C2", {{0, 1}, {1, 0}, {1, 2}, {2, 0}, {2, 1}}}};
  const absl::Status st = DuplicateIdsError(
      dups, [](const IdPlace& p) { return absl::StrCat("s", p.split, "r", p.row); });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("2 ids appear more than once (5 extra rows), e.g. \"C1\" at s0r0, s0r4; "
                        "\"C2\" at s0r1, s1r0, s1r2, 2 more"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("duplicate_ids: keep_first"));
}

TEST(RemoveRowsTest, DropsTheRowsFromIdsAndEveryColumn) {
  Table t;
  for (const char* id : {"a", "b", "c", "d", "e"}) t.ids.Append(id);
  t.rows = 5;
  t.columns.push_back({"n", ColumnType::kNumber, {1, 2, 3, 4, 5}, {}, {}});
  t.columns.push_back({"s", ColumnType::kText, {}, {0, 1, -1, 0, 1}, {"x", "y"}});
  RemoveRows({0, 3}, &t);
  EXPECT_EQ(t.rows, 3);
  ASSERT_EQ(t.ids.size(), 3u);
  EXPECT_EQ(t.ids[0], "b");
  EXPECT_EQ(t.ids[1], "c");
  EXPECT_EQ(t.ids[2], "e");
  EXPECT_THAT(t.columns[0].numbers, ElementsAre(2, 3, 5));
  EXPECT_THAT(t.columns[1].codes, ElementsAre(1, -1, 1));
  EXPECT_THAT(t.columns[1].dictionary, ElementsAre("x", "y"));
}

}  // namespace
}  // namespace tierscore::engine
