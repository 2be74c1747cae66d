#include "coordinator/call_slots.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierscore::coordinator {
namespace {

using ::testing::HasSubstr;

TEST(CallSlotsTest, BoundsCallsInAllAndPerCallerAndGivesSlotsBack) {
  CallSlots slots(/*total=*/3, /*per_caller=*/2);
  std::vector<std::unique_ptr<CallSlots::Slot>> held;
  for (const char* caller : {"a", "a"}) {
    auto s = slots.Take(caller);
    ASSERT_TRUE(s.ok());
    held.push_back(*std::move(s));
  }
  auto third_a = slots.Take("a");
  EXPECT_EQ(third_a.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third_a.status().message(), HasSubstr("a has 2 result streams"));
  auto b = slots.Take("b");
  ASSERT_TRUE(b.ok());
  auto c = slots.Take("c");  // three in all
  EXPECT_THAT(c.status().message(), HasSubstr("--max-streams"));
  EXPECT_EQ(slots.used(), 3);
  held.pop_back();  // one of a's ends
  EXPECT_EQ(slots.used(), 2);
  EXPECT_TRUE(slots.Take("a").ok());  // taken and given back at once
  EXPECT_TRUE(slots.Take("c").ok());
  EXPECT_EQ(slots.used(), 2);
}

}  // namespace
}  // namespace tierscore::coordinator
