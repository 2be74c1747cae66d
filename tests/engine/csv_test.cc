#include "engine/csv.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/results_csv.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace tierscore::engine {
namespace {

using ::testing::HasSubstr;
using tierscore::testing::TempDir;

const std::vector<ColumnRequest> kCols = {{"amount", ColumnType::kNumber},
                                          {"note", ColumnType::kText}};

TEST(CsvTest, ParsesQuotesDoubledQuotesCrlfAndNulls) {
  const std::string text =
      "id,amount,note\r\n"
      "a,1.5,plain\r\n"
      "\"b\",,\"with, comma\"\r\n"
      "c,-2e3,\"say \"\"hi\"\"\"\r\n"
      "d,+4,\"two\nlines\"\r\n"
      "e,0,\n";
  auto t = ParseCsvText(text, "x.csv", "id", kCols);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->rows, 5);
  EXPECT_EQ(t->ids[1], "b");
  const Column& amount = t->columns[0];
  EXPECT_EQ(amount.numbers[0], 1.5);
  EXPECT_TRUE(std::isnan(amount.numbers[1]));
  EXPECT_EQ(amount.numbers[2], -2000);
  EXPECT_EQ(amount.numbers[3], 4);
  const Column& note = t->columns[1];
  EXPECT_EQ(note.dictionary[static_cast<size_t>(note.codes[1])], "with, comma");
  EXPECT_EQ(note.dictionary[static_cast<size_t>(note.codes[2])], "say \"hi\"");
  EXPECT_EQ(note.dictionary[static_cast<size_t>(note.codes[3])], "two\nlines");
  EXPECT_EQ(note.codes[4], -1);
}

TEST(CsvTest, BadNumberNamesFileLineColumnAndField) {
  const std::string text = "id,note,amount\nA,\"x\ny\",12\nB,z,12x\n";
  auto t = ParseCsvText(text, "in.csv", "id", kCols);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  // Line 4 (the quoted newline counts), column 5.
  EXPECT_THAT(t.status().message(),
              HasSubstr("in.csv:4:5: column \"amount\": expected a number, got \"12x\""));
}

TEST(CsvTest, TextMustBeUtf8) {
  EXPECT_TRUE(IsUtf8("plain, é, 中, 😀"));
  for (const std::string& bad : std::vector<std::string>{"\xff", "\xe9t\xe9", "\xc3", "\xc0\xaf",
                                                         "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    EXPECT_FALSE(IsUtf8(bad)) << absl::CHexEscape(bad);
  }
  auto id = ParseCsvText("id,amount,note\nA,1,x\n\xe9t\xe9,2,y\n", "f.csv", "id", kCols);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(id.status().message(),
              HasSubstr("f.csv:3:1: column \"id\": customer id is not valid UTF-8"));
  auto note = ParseCsvText("id,amount,note\nA,1,caf\xe9\n", "f.csv", "id", kCols);
  EXPECT_THAT(note.status().message(),
              HasSubstr("f.csv:2:5: column \"note\": text is not valid UTF-8"));
  auto header = ParseCsvText("id,amount,note,\xff\nA,1,x,y\n", "f.csv", "id", kCols);
  EXPECT_THAT(header.status().message(), HasSubstr("header: column 4's name is not UTF-8"));
  auto fine = ParseCsvText("id,amount,note\ncafé,1,naïve\n", "f.csv", "id", kCols);
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(fine->ids[0], "café");
}

TEST(CsvTest, StructuralErrors) {
  auto missing = ParseCsvText("id,amount\nA,1\n", "f.csv", "id", kCols);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("column \"note\" is not in the header"));

  auto fields = ParseCsvText("id,amount,note\nA,1\n", "f.csv", "id", kCols);
  EXPECT_THAT(fields.status().message(), HasSubstr("f.csv:2: expected 3 fields"));

  auto unclosed = ParseCsvText("id,amount,note\nA,1,\"open\n", "f.csv", "id", kCols);
  EXPECT_THAT(unclosed.status().message(), HasSubstr("f.csv:2:5: quoted field is not closed"));

  auto junk = ParseCsvText("id,amount,note\nA,1,\"x\"y\n", "f.csv", "id", kCols);
  EXPECT_THAT(junk.status().message(), HasSubstr("f.csv:2:8: expected ','"));

  auto dup = ParseCsvText("id,amount,amount\n", "f.csv", "id", kCols);
  EXPECT_THAT(dup.status().message(), HasSubstr("duplicate column \"amount\""));

  auto empty_id = ParseCsvText("id,amount,note\n,1,x\n", "f.csv", "id", kCols);
  EXPECT_THAT(empty_id.status().message(),
              HasSubstr("f.csv:2:1: column \"id\": customer id is empty"));

  // A quoted field over two lines is named where it starts.
  auto newline_id = ParseCsvText("id,amount,note\nA,1,x\n\"B\nC\",1,x\n", "f.csv", "id", kCols);
  EXPECT_THAT(newline_id.status().message(),
              HasSubstr("f.csv:3:1: column \"id\": customer id holds a control character"));
  auto newline_number = ParseCsvText("id,amount,note\nA,\"1\n2\",x\n", "f.csv", "id", kCols);
  EXPECT_THAT(newline_number.status().message(), HasSubstr("f.csv:2:3: column \"amount\""));

  auto nan = ParseCsvText("id,amount,note\nA,nan,x\n", "f.csv", "id", kCols);
  EXPECT_THAT(nan.status().message(), HasSubstr("expected a number, got \"nan\""));
}

// Random CSV text full of the things that break naive splitting.
std::string NastyCsv(int rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string text = "id,amount,note\n";
  for (int i = 0; i < rows; ++i) {
    text += "C" + std::to_string(i) + "," + std::to_string(static_cast<int>(rng() % 1000)) + ",";
    switch (rng() % 5) {
      case 0:
        text += "\"a\nb,\"\"c\"\"\n\"";
        break;
      case 1:
        text += "\"\"\"\n\"\"\"";
        break;
      case 2:
        text += "plain";
        break;
      case 3:
        text += "";
        break;
      default:
        text += "\"x,y\"";
        break;
    }
    text += (rng() % 3 == 0) ? "\r\n" : "\n";
  }
  return text;
}

// Rows flattened to comparable text: "id|amount|note" ("<null>" for nulls).
std::vector<std::string> Flatten(const Table& t) {
  std::vector<std::string> rows;
  for (size_t i = 0; i < t.ids.size(); ++i) {
    const double amount = t.columns[0].numbers[i];
    const int32_t code = t.columns[1].codes[i];
    rows.push_back(std::string(t.ids[i]) + "|" +
                   (std::isnan(amount) ? "<null>" : std::to_string(amount)) + "|" +
                   (code < 0 ? "<null>" : t.columns[1].dictionary[static_cast<size_t>(code)]));
  }
  return rows;
}

// Parses a file through raw ranges of `split_bytes`, scans and alignment.
std::vector<std::string> ParseInSplits(const std::string& path, int64_t split_bytes, int* nsplits) {
  auto header = ReadHeader(path);
  EXPECT_TRUE(header.ok()) << header.status();
  auto ranges = RawRanges(*header, split_bytes);
  std::vector<RangeScan> scans;
  for (const auto& r : ranges) {
    auto s = ScanRange(path, r.begin, r.end);
    EXPECT_TRUE(s.ok()) << s.status();
    scans.push_back(*s);
  }
  auto aligned = AlignSplits(path, *header, ranges, scans, 0);
  EXPECT_TRUE(aligned.ok()) << aligned.status();
  const std::vector<Split> splits = aligned.ok() ? *aligned : std::vector<Split>();
  *nsplits = static_cast<int>(splits.size());
  std::vector<std::string> rows;
  for (const auto& split : splits) {
    auto t = ParseSplit(split, *header, "id", kCols);
    EXPECT_TRUE(t.ok()) << t.status() << " split at " << split.begin;
    if (!t.ok()) continue;
    for (std::string& r : Flatten(*t)) rows.push_back(std::move(r));
  }
  return rows;
}

TEST(CsvTest, SplitsAlignOnRecordStartsDespiteQuotedNewlines) {
  TempDir dir;
  const std::string text = NastyCsv(300, 5);
  const std::string path = dir.Write("nasty.csv", text);
  auto whole = ParseCsvText(text, path, "id", kCols);
  ASSERT_TRUE(whole.ok()) << whole.status();
  const std::vector<std::string> expected = Flatten(*whole);
  ASSERT_EQ(expected.size(), 300u);
  for (int64_t split : {1, 2, 3, 7, 16, 61, 400, 1 << 20}) {
    int nsplits = 0;
    EXPECT_EQ(ParseInSplits(path, split, &nsplits), expected) << "split_bytes=" << split;
    if (split < 100) {
      EXPECT_GT(nsplits, 10);
    }
  }
}

TEST(CsvTest, ErrorLineIsTheSameWhateverTheSplit) {
  TempDir dir;
  std::string text = NastyCsv(200, 9);
  text += "BAD,notanumber,x\n";
  const std::string path = dir.Write("bad.csv", text);
  auto whole = ParseCsvText(text, path, "id", kCols);
  ASSERT_FALSE(whole.ok());
  for (int64_t split : {5, 97, 1 << 20}) {
    auto header = ReadHeader(path);
    auto ranges = RawRanges(*header, split);
    std::vector<RangeScan> scans;
    for (const auto& r : ranges) scans.push_back(*ScanRange(path, r.begin, r.end));
    auto splits = *AlignSplits(path, *header, ranges, scans, 0);
    absl::Status st;
    for (const auto& s : splits) {
      auto t = ParseSplit(s, *header, "id", kCols);
      if (!t.ok()) st = t.status();
    }
    EXPECT_EQ(st.message(), whole.status().message()) << "split_bytes=" << split;
  }
}

TEST(CsvTest, GzipFileIsOneSplitWithTheSameContent) {
  TempDir dir;
  const std::string text = NastyCsv(100, 2);
  const std::string path = dir.Write("in.csv.gz", text);
  auto header = ReadHeader(path);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_TRUE(header->gzip);
  EXPECT_EQ(header->columns, (std::vector<std::string>{"id", "amount", "note"}));
  Split split;
  split.path = path;
  split.gzip = true;
  auto t = ParseSplit(split, *header, "id", kCols);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->rows, 100);
  EXPECT_EQ(t->ids[99], "C99");
}

// A .gz input cut short, or with a damaged member after a whole one, or not
// gzip at all, is refused naming the file: never read as far as it goes.
TEST(CsvTest, DamagedOrFalseGzipInputsAreRefused) {
  TempDir dir;
  const std::string text = NastyCsv(2000, 2);
  const std::string whole = TempDir::Read(dir.Write("whole.csv.gz", text));
  const std::vector<ColumnRequest> cols = {{"amount", ColumnType::kNumber}};
  auto parse = [&](const std::string& name, const std::string& bytes) {
    const std::string path = dir.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    Split split;
    split.path = path;
    split.gzip = true;
    auto header = ReadHeader(path);
    if (!header.ok()) return header.status();
    return ParseSplit(split, *header, "id", cols).status();
  };
  const std::string rows = TempDir::Read(dir.Write("rows.gz", text.substr(text.find('\n') + 1)));
  const absl::Status two_members =
      parse("ok.csv.gz", whole + rows);  // one stream, as gzip reads it
  EXPECT_TRUE(two_members.ok()) << two_members;
  const absl::Status cut = parse("cut.csv.gz", whole.substr(0, whole.size() - 100));
  EXPECT_EQ(cut.code(), absl::StatusCode::kDataLoss) << cut;
  EXPECT_THAT(cut.message(), ::testing::HasSubstr("cut.csv.gz: bad gzip data"));
  const absl::Status trailing = parse("trail.csv.gz", whole + whole.substr(0, 30));
  EXPECT_EQ(trailing.code(), absl::StatusCode::kDataLoss) << trailing;
  const absl::Status plain = parse("plain.csv.gz", text);
  EXPECT_EQ(plain.code(), absl::StatusCode::kInvalidArgument) << plain;
  EXPECT_THAT(plain.message(), ::testing::HasSubstr("plain.csv.gz: not gzip data"));
}

// A .gz split larger than one piece of decompression (16 MiB) is parsed
// piece by piece, cut between records (never inside a quoted newline), to
// the same table as the whole text, and an error far in names its line.
TEST(CsvTest, ALargeGzipSplitIsParsedPieceByPieceToTheSameTable) {
  TempDir dir;
  std::string text = NastyCsv(1000000, 9);  // about 19 MiB
  ASSERT_GT(text.size(), size_t{17} << 20);
  auto whole = ParseCsvText(text, "big.csv", "id", kCols);
  ASSERT_TRUE(whole.ok()) << whole.status();
  const std::string path = dir.Write("big.csv.gz", text);
  auto header = ReadHeader(path);
  ASSERT_TRUE(header.ok()) << header.status();
  Split split;
  split.path = path;
  split.gzip = true;
  auto streamed = ParseSplit(split, *header, "id", kCols);
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  ASSERT_EQ(streamed->rows, whole->rows);
  for (int64_t r = 0; r < whole->rows; ++r) {
    const size_t i = static_cast<size_t>(r);
    ASSERT_EQ(streamed->ids[i], whole->ids[i]) << r;
    ASSERT_EQ(streamed->columns[0].numbers[i], whole->columns[0].numbers[i]) << r;
    const Column& a = streamed->columns[1];
    const Column& b = whole->columns[1];
    ASSERT_EQ(a.codes[i] < 0 ? "" : a.dictionary[static_cast<size_t>(a.codes[i])],
              b.codes[i] < 0 ? "" : b.dictionary[static_cast<size_t>(b.codes[i])])
        << r;
  }
  // A bad number near the end: the same line as the plain file's error.
  text += "C-bad,twelve,plain\n";
  split.path = dir.Write("bad.csv.gz", text);
  const absl::Status plain = ParseCsvText(text, split.path, "id", kCols).status();
  const absl::Status gz = ParseSplit(split, *header, "id", kCols).status();
  EXPECT_EQ(gz.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gz.message(), plain.message());
}

TEST(CsvTest, HeaderOnlyAndBomAndMissingFile) {
  TempDir dir;
  auto h = ReadHeader(dir.Write("h.csv", "\xEF\xBB\xBFid,amount,note\n"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->columns[0], "id");
  EXPECT_TRUE(RawRanges(*h, 10).empty());
  auto missing = ReadHeader(dir.path() + "/nope.csv");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  auto empty = ReadHeader(dir.Write("e.csv", ""));
  EXPECT_THAT(empty.status().message(), HasSubstr("empty file"));
}

}  // namespace
}  // namespace tierscore::engine

namespace tierscore::engine {
namespace {

// The parser's fast decimal path must give exactly the bits from_chars gives.
TEST(CsvTest, NumbersParseToTheSameBitsAsFromChars) {
  std::mt19937_64 rng(17);
  std::vector<std::string> texts = {"0",
                                    "-0",
                                    "0.1",
                                    "1e3",
                                    "1.5E-7",
                                    ".5",
                                    "5.",
                                    "+2",
                                    "007.250",
                                    "9007199254740993",
                                    "123456789012345678901234567890",
                                    "0.000000000000000000000001",
                                    "-123.456",
                                    "4.35",
                                    "2.675",
                                    "1.000000000000001"};
  for (int i = 0; i < 20000; ++i) {
    std::string t = (rng() % 4 == 0) ? "-" : "";
    t += std::to_string(rng() % 100000000);
    if (rng() % 2) {
      t += ".";
      const int decimals = static_cast<int>(rng() % 9);
      for (int d = 0; d < decimals; ++d) t += static_cast<char>('0' + rng() % 10);
    }
    texts.push_back(t);
  }
  std::string csv = "id,amount,note\n";
  for (size_t i = 0; i < texts.size(); ++i)
    csv += "r" + std::to_string(i) + "," + texts[i] + ",x\n";
  auto t = ParseCsvText(csv, "n.csv", "id", kCols);
  ASSERT_TRUE(t.ok()) << t.status();
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string& s = texts[i];
    const char* first = s.data() + (s[0] == '+' ? 1 : 0);
    double want = 0;
    std::from_chars(first, s.data() + s.size(), want);
    const double got = t->columns[0].numbers[i];
    ASSERT_EQ(std::bit_cast<uint64_t>(got), std::bit_cast<uint64_t>(want))
        << s << ": " << got << " vs " << want;
  }
}

}  // namespace
}  // namespace tierscore::engine

namespace tierscore::engine {
namespace {

// Text columns switch from a linear scan to a hash map as they grow; codes
// must stay consistent across the switch.
TEST(CsvTest, TextDictionariesOfAnySize) {
  std::string csv = "id,amount,note\n";
  std::vector<std::string> notes;
  for (int i = 0; i < 500; ++i) {
    notes.push_back("n" + std::to_string((i * 7919) % 61));
    csv += "r" + std::to_string(i) + ",1," + notes.back() + "\n";
  }
  auto t = ParseCsvText(csv, "d.csv", "id", kCols);
  ASSERT_TRUE(t.ok()) << t.status();
  const Column& note = t->columns[1];
  EXPECT_EQ(note.dictionary.size(), 61u);
  for (size_t i = 0; i < notes.size(); ++i) {
    ASSERT_EQ(note.dictionary[static_cast<size_t>(note.codes[i])], notes[i]) << i;
  }
}

}  // namespace
}  // namespace tierscore::engine

namespace tierscore::engine {
namespace {

// Inputs that would otherwise be read whole: a header without an end, a
// record without an end, a gzip bomb. Each is refused saying so.
TEST(CsvLimitsTest, EndlessHeadersRecordsAndBombsAreRefused) {
  TempDir dir;
  const std::string endless_header = dir.Write("h.csv", std::string(3 << 20, 'x'));
  auto header = ReadHeader(endless_header);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(header.status().message(), ::testing::HasSubstr("h.csv:1: the header has no end"));

  const std::string endless_record =
      dir.Write("r.csv", "id,value,name\nA,1," + std::string(kMaxRecordBytes + (2 << 20), 'y'));
  auto h = ReadHeader(endless_record);
  ASSERT_TRUE(h.ok()) << h.status();
  const std::vector<ByteRange> ranges = RawRanges(*h, 1 << 20);
  std::vector<RangeScan> scans;
  for (const auto& r : ranges) scans.push_back(*ScanRange(endless_record, r.begin, r.end));
  auto splits = AlignSplits(endless_record, *h, ranges, scans, 0);
  EXPECT_EQ(splits.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(splits.status().message(), ::testing::HasSubstr("no record starts between bytes"));

  std::string big = "id,value,name\n";
  for (int i = 0; i < 5000; ++i) big += absl::StrCat("C", i, ",1,x\n");
  const std::string bomb = dir.Write("b.csv.gz", big);
  auto gz_header = ReadHeader(bomb);
  ASSERT_TRUE(gz_header.ok());
  Split whole;
  whole.path = bomb;
  whole.gzip = true;
  const std::vector<ColumnRequest> cols = {{"value", ColumnType::kNumber}};
  EXPECT_TRUE(ParseSplit(whole, *gz_header, "id", cols).ok());
  auto refused = ParseSplit(whole, *gz_header, "id", cols, /*max_decompressed_bytes=*/1000);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("decompresses to more than 1000"));
}

}  // namespace
}  // namespace tierscore::engine

namespace tierscore::engine {
namespace {

// Output fields a spreadsheet would run as formulas are escaped; numbers,
// negative ones too, are left alone.
TEST(CsvOutputTest, FormulasAreEscapedNumbersAreNot) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"C1", "C1"},
      {"=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\""},
      {"+SUM(A1)", "\"'+SUM(A1)\""},
      {"-2+3+cmd|x", "\"'-2+3+cmd|x\""},
      {"@IMPORT", "\"'@IMPORT\""},
      {"\tTAB", "\"'\tTAB\""},
      {"-12.5", "-12.5"},
      {"+7", "+7"},
      {"a,b", "\"a,b\""},
      {"say \"hi\"", "\"say \"\"hi\"\"\""},
      {"", ""},
  };
  for (const auto& [field, expected] : cases) {
    std::string out;
    AppendCsvField(field, &out);
    EXPECT_EQ(out, expected) << field;
  }
}

}  // namespace
}  // namespace tierscore::engine
