#include "engine/expr.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierscore::engine {
namespace {

using ::testing::HasSubstr;

// Columns x, y (numbers) and s (text); rows as given, NaN = null.
class ExprTest : public ::testing::Test {
 protected:
  void SetUp() override {
    columns_ = {{"x", ColumnType::kNumber}, {"y", ColumnType::kNumber}, {"s", ColumnType::kText}};
    const double n = std::nan("");
    const std::vector<double> x = {1, 0, -2, n, 4};
    const std::vector<double> y = {2, 0, 8, 1, n};
    const std::vector<int32_t> s = {0, 1, -1, 0, 1};
    table_.rows = 5;
    for (int i = 0; i < 5; ++i) table_.ids.Append("id" + std::to_string(i));
    table_.columns = {{"x", ColumnType::kNumber, x, {}, {}},
                      {"y", ColumnType::kNumber, y, {}, {}},
                      {"s", ColumnType::kText, {}, s, {"gold", "lead"}}};
  }

  std::vector<double> Eval(const std::string& text) {
    auto e = Expr::Parse(text);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status();
    if (!e.ok()) return {};
    absl::Status st = (*e)->Bind(columns_);
    EXPECT_TRUE(st.ok()) << text << ": " << st;
    std::vector<double> out(5);
    (*e)->Eval(table_, 0, 5, out.data());
    return out;
  }

  // "null" for NaN, else the number, for readable expectations.
  std::vector<std::string> Show(const std::string& text) {
    std::vector<std::string> out;
    for (double v : Eval(text)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", v);
      out.emplace_back(std::isnan(v) ? "null" : buf);
    }
    return out;
  }

  std::vector<ColumnRequest> columns_;
  Table table_;
};

using V = std::vector<std::string>;

TEST_F(ExprTest, ArithmeticAndPrecedence) {
  EXPECT_EQ(Show("x + y * 2"), (V{"5", "0", "14", "null", "null"}));
  EXPECT_EQ(Show("(x + y) * 2"), (V{"6", "0", "12", "null", "null"}));
  EXPECT_EQ(Show("-x - -1"), (V{"0", "1", "3", "null", "-3"}));
  EXPECT_EQ(Show("1 - 10 / 5 * 0.5"), (V{"0", "0", "0", "0", "0"}));
}

TEST_F(ExprTest, DivisionByZeroAndDomainErrorsAreNull) {
  EXPECT_EQ(Show("x / y"), (V{"0.5", "null", "-0.25", "null", "null"}));
  EXPECT_EQ(Show("ln(x)"), (V{"0", "null", "null", "null", "1.38629"}));
  EXPECT_EQ(Show("sqrt(x)"), (V{"1", "0", "null", "null", "2"}));
  EXPECT_EQ(Show("log1p(x)"), (V{"0.693147", "0", "null", "null", "1.60944"}));
  EXPECT_EQ(Show("abs(x)"), (V{"1", "0", "2", "null", "4"}));
}

TEST_F(ExprTest, NullSkippingFunctions) {
  EXPECT_EQ(Show("coalesce(x, y, 9)"), (V{"1", "0", "-2", "1", "4"}));
  EXPECT_EQ(Show("min(x, y)"), (V{"1", "0", "-2", "1", "4"}));
  EXPECT_EQ(Show("max(x, y)"), (V{"2", "0", "8", "1", "4"}));
  EXPECT_EQ(Show("clip(x, 0, 2)"), (V{"1", "0", "0", "null", "2"}));
  EXPECT_EQ(Show("if(x > 0, 10, 20)"), (V{"10", "20", "20", "20", "10"}));
}

TEST_F(ExprTest, ComparisonsAndThreeValuedLogic) {
  EXPECT_EQ(Show("x < y"), (V{"1", "0", "1", "null", "null"}));
  EXPECT_EQ(Show("x = 0"), (V{"0", "1", "0", "null", "0"}));
  EXPECT_EQ(Show("x >= 1 and y > 1"), (V{"1", "0", "0", "0", "null"}));
  // false and null = false; true or null = true.
  EXPECT_EQ(Show("x > 100 and y > 0"), (V{"0", "0", "0", "null", "0"}));
  EXPECT_EQ(Show("y > 0 or x > 0"), (V{"1", "0", "1", "1", "1"}));
  EXPECT_EQ(Show("not x"), (V{"0", "1", "0", "null", "0"}));
}

TEST_F(ExprTest, TextColumnsCompareWithStringLiterals) {
  EXPECT_EQ(Show("s == \"gold\""), (V{"1", "0", "null", "1", "0"}));
  EXPECT_EQ(Show("'lead' != s"), (V{"1", "0", "null", "1", "0"}));
  EXPECT_EQ(Show("s == 'platinum'"), (V{"0", "0", "null", "0", "0"}));
  std::vector<ColumnRequest> used;
  (*Expr::Parse("if(s == 'gold', x, y)"))->CollectColumns(&used);
  ASSERT_EQ(used.size(), 3u);
  EXPECT_EQ(used[0].type, ColumnType::kText);
  EXPECT_EQ(used[1].type, ColumnType::kNumber);
}

TEST_F(ExprTest, ParseErrorsShowThePosition) {
  auto check = [](const std::string& text, const std::string& want) {
    auto e = Expr::Parse(text);
    ASSERT_FALSE(e.ok()) << text;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(e.status().message(), HasSubstr(want)) << text;
  };
  check("1 + * x", "at column 5: unexpected '*'");
  check("log1p(x", "at column 8: expected ',' or ')'");
  check("lg(x)", "at column 1: unknown function 'lg'");
  check("clip(x, 1)", "clip() takes 3 argument(s), got 2");
  check("x y", "at column 3: unexpected text after the expression");
  check("'a' + 1", "at column 1: a string literal can only be compared");
  check("\"open", "string literal is not closed");
  check("", "expected a value, found the end");
}

TEST_F(ExprTest, BindingChecksColumnsAndTypes) {
  auto e = Expr::Parse("z + 1");
  EXPECT_EQ((*e)->Bind(columns_).code(), absl::StatusCode::kNotFound);
  EXPECT_THAT((*e)->Bind(columns_).message(), HasSubstr("unknown column \"z\""));
  auto t = Expr::Parse("s + 1");
  EXPECT_THAT((*t)->Bind(columns_).message(), HasSubstr("used as a number here but as text"));
}

TEST_F(ExprTest, KeywordPrefixesAreColumnNames) {
  columns_.push_back({"orders", ColumnType::kNumber});
  columns_.push_back({"notes", ColumnType::kNumber});
  table_.columns.push_back({"orders", ColumnType::kNumber, {1, 2, 3, 4, 5}, {}, {}});
  table_.columns.push_back({"notes", ColumnType::kNumber, {1, 1, 1, 1, 1}, {}, {}});
  EXPECT_EQ(Show("orders + notes"), (V{"2", "3", "4", "5", "6"}));
}

}  // namespace
}  // namespace tierscore::engine

namespace tierscore::engine {
namespace {

// No expression can exhaust the stack: parsing, binding, evaluating and
// freeing recurse over it, so nesting is refused past a bound.
TEST(ExprDepthTest, DeepNestingIsRefusedNotACrash) {
  auto repeat = [](const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  };
  const int kHuge = 100000;
  for (const std::string& text :
       {repeat("(", kHuge) + "1" + repeat(")", kHuge), repeat("-", kHuge) + "1",
        repeat("not ", kHuge) + "1", "1" + repeat(" + 1", kHuge),
        repeat("abs(", kHuge) + "1" + repeat(")", kHuge)}) {
    auto e = Expr::Parse(text);
    ASSERT_FALSE(e.ok()) << text.substr(0, 20);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(e.status().message(), HasSubstr("nested too deeply (more than 200 levels;"));
  }
  // Realistic depths are fine.
  EXPECT_TRUE(Expr::Parse(repeat("(", 150) + "1" + repeat(")", 150)).ok());
  EXPECT_TRUE(Expr::Parse("1" + repeat(" + 1", 150)).ok());
}

}  // namespace
}  // namespace tierscore::engine
