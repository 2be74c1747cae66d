#include "coordinator/results_stream.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tierscore::coordinator {
namespace {

// Ids with commas, quotes and newlines inside quotes, a row longer than a
// chunk, an empty tier (a customer without one) and explain columns.
std::string ResultsCsv() {
  std::string csv = "customer_id,score,ladder,abc,value,contribution_r,contribution_m\n";
  for (int i = 0; i < 40; ++i) {
    std::string id = absl::StrCat("C", i);
    if (i % 5 == 1) id = absl::StrCat("\"a,\"\"b\"\"\n", i, "\"");
    if (i == 7) id = std::string(300, 'x');
    absl::StrAppend(&csv, id, ",0.", i, ",", i % 3 == 0 ? "" : "Gold", ",A,", i * 10,
                    ".5,0.25,-1e-3\n");
  }
  return csv;
}

std::vector<v1::ResultsChunk> Chunks(const std::string& csv, bool rows, size_t max_bytes,
                                     uint32_t seed) {
  std::vector<v1::ResultsChunk> out;
  ResultsChunker chunker(
      rows,
      [&](v1::ResultsChunk& c) {
        out.push_back(c);
        return absl::OkStatus();
      },
      max_bytes);
  std::mt19937 rng(seed);
  for (size_t at = 0; at < csv.size();) {
    const size_t n = std::min<size_t>(csv.size() - at, rng() % 97 + 1);
    EXPECT_TRUE(chunker.Add(csv.substr(at, n)).ok());
    at += n;
  }
  EXPECT_TRUE(chunker.Finish().ok());
  return out;
}

TEST(ResultsChunkerTest, CsvChunksEndOnRowsAndAddUpToTheInput) {
  const std::string csv = ResultsCsv();
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::string joined;
    const auto chunks = Chunks(csv, /*rows=*/false, 120, seed);
    ASSERT_GT(chunks.size(), 5u);
    for (const auto& c : chunks) {
      // Every chunk is whole rows: it ends on a newline outside quotes.
      int quotes = 0;
      for (char ch : c.csv()) quotes += ch == '"';
      EXPECT_EQ(quotes % 2, 0);
      EXPECT_EQ(c.csv().back(), '\n');
      // At most the limit, unless it is a single long row.
      if (c.csv().size() > 120) {
        EXPECT_NE(c.csv().find("xxxxxxxx"), std::string::npos);
      }
      joined += c.csv();
    }
    EXPECT_EQ(joined, csv);
  }
}

TEST(ResultsChunkerTest, RowsAreTypedAndNamedByTheFirstMessage) {
  const auto chunks = Chunks(ResultsCsv(), /*rows=*/true, 200, 3);
  ASSERT_FALSE(chunks.empty());
  EXPECT_THAT(chunks[0].schemes(), ::testing::ElementsAre("ladder", "abc"));
  EXPECT_THAT(chunks[0].criteria(), ::testing::ElementsAre("r", "m"));
  std::vector<v1::ResultRow> rows;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(chunks[i].schemes_size(), 0);
    }
    for (const auto& r : chunks[i].rows()) rows.push_back(r);
  }
  ASSERT_EQ(rows.size(), 40u);
  EXPECT_EQ(rows[0].customer_id(), "C0");
  EXPECT_EQ(rows[1].customer_id(), "a,\"b\"\n1");
  EXPECT_EQ(rows[7].customer_id(), std::string(300, 'x'));
  EXPECT_DOUBLE_EQ(rows[12].score(), 0.12);
  EXPECT_THAT(rows[3].tiers(), ::testing::ElementsAre("", "A"));
  EXPECT_THAT(rows[4].tiers(), ::testing::ElementsAre("Gold", "A"));
  EXPECT_DOUBLE_EQ(rows[39].value(), 390.5);
  EXPECT_THAT(rows[5].contributions(), ::testing::ElementsAre(0.25, -1e-3));
}

TEST(ResultsChunkerTest, ATruncatedStreamOrABadRowIsAnError) {
  auto sink = [](v1::ResultsChunk&) { return absl::OkStatus(); };
  ResultsChunker truncated(false, sink);
  ASSERT_TRUE(truncated.Add("customer_id,score,abc,value\nC1,0.5,A,1\nC2,0.").ok());
  EXPECT_EQ(truncated.Finish().code(), absl::StatusCode::kInternal);
  ResultsChunker bad(true, sink);
  ASSERT_TRUE(bad.Add("customer_id,score,abc,value\nC1,zero,A,1\n").ok());
  EXPECT_THAT(bad.Finish().message(), ::testing::HasSubstr("score \"zero\" is not a number"));
  // The sink's error stops the stream.
  ResultsChunker stopped(
      false, [](v1::ResultsChunk&) { return absl::CancelledError("gone"); }, 10);
  ASSERT_TRUE(stopped.Add("customer_id,score,abc,value\n").ok());
  EXPECT_EQ(stopped.Add("C1,0.5,A,1\n").code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace tierscore::coordinator
