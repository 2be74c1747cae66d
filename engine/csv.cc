#include "engine/csv.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <type_traits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tierscore::engine {
bool IsUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t c;
    if ((*p & 0xE0) == 0xC0) {
      n = 1;
      c = *p & 0x1F;
    } else if ((*p & 0xF0) == 0xE0) {
      n = 2;
      c = *p & 0x0F;
    } else if ((*p & 0xF8) == 0xF0) {
      n = 3;
      c = *p & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      c = (c << 6) | (p[i] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (c < kMin[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";

bool IsGzipPath(const std::string& path) { return absl::EndsWith(path, ".gz"); }

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

absl::Status IoError(const std::string& path, const std::string& what) {
  return absl::NotFoundError(absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(errno)));
}

absl::StatusOr<int64_t> FileSize(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return IoError(path, "stat");
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  return static_cast<int64_t>(st.st_size);
}

absl::StatusOr<std::string> ReadBytes(const std::string& path, int64_t begin, int64_t end) {
  Fd f{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return IoError(path, "open");
  std::string out(static_cast<size_t>(end - begin), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(f.fd, out.data() + done, out.size() - done,
                      static_cast<off_t>(begin + static_cast<int64_t>(done)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(path, "read");
    }
    if (n == 0) {
      return absl::DataLossError(absl::StrCat(path, ": file shrank while reading"));
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

// A read-only view of bytes [begin, end) of a file through mmap: no copy and
// no fresh buffer to fault in; the pages are the page cache's own. The file
// must not be truncated while the view exists (inputs are read-only to jobs).
class MappedRange {
 public:
  static absl::StatusOr<std::unique_ptr<MappedRange>> Open(const std::string& path, int64_t begin,
                                                           int64_t end) {
    auto m = std::unique_ptr<MappedRange>(new MappedRange());
    if (end <= begin) return m;
    Fd f{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) return IoError(path, "open");
    const int64_t page = sysconf(_SC_PAGESIZE);
    const int64_t aligned = begin - begin % page;
    m->length_ = static_cast<size_t>(end - aligned);
    void* base = mmap(nullptr, m->length_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, f.fd,
                      static_cast<off_t>(aligned));
    if (base == MAP_FAILED) return IoError(path, "map");
    madvise(base, m->length_, MADV_SEQUENTIAL);
    m->base_ = base;
    m->data_ = std::string_view(static_cast<const char*>(base) + (begin - aligned),
                                static_cast<size_t>(end - begin));
    return m;
  }
  ~MappedRange() {
    if (base_ != nullptr) munmap(base_, length_);
  }
  std::string_view data() const { return data_; }

 private:
  MappedRange() = default;
  void* base_ = nullptr;
  size_t length_ = 0;
  std::string_view data_;
};

// Reads a gzip file's decompressed bytes piece by piece. A stream cut
// short or damaged is DATA_LOSS, a file that is not gzip INVALID_ARGUMENT
// (zlib would read both as far as it could).
class GzipReader {
 public:
  static absl::StatusOr<std::unique_ptr<GzipReader>> Open(const std::string& path) {
    gzFile gz = gzopen(path.c_str(), "rb");
    if (gz == nullptr) return IoError(path, "open");
    gzbuffer(gz, 1 << 20);
    return std::unique_ptr<GzipReader>(new GzipReader(path, gz));
  }
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;
  ~GzipReader() { gzclose(gz_); }

  // Appends up to `n` more bytes to `out`; 0 at the end of the data.
  absl::StatusOr<size_t> Read(std::string& out, size_t n) {
    const size_t before = out.size();
    out.resize(before + n);
    const int got = gzread(gz_, out.data() + before, static_cast<unsigned>(n));
    out.resize(before + static_cast<size_t>(std::max(got, 0)));
    int err = Z_OK;
    const char* msg = gzerror(gz_, &err);
    if (first_ && gzdirect(gz_) == 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": not gzip data (a name ending in .gz is read as gzip)"));
    }
    first_ = false;
    // A stream cut short ends with Z_BUF_ERROR, not a negative count.
    if (got < 0 || (got == 0 && err != Z_OK)) {
      return absl::DataLossError(absl::StrCat(path_, ": bad gzip data: ", msg));
    }
    return static_cast<size_t>(got);
  }

 private:
  GzipReader(std::string path, gzFile gz) : path_(std::move(path)), gz_(gz) {}
  const std::string path_;
  gzFile gz_;
  bool first_ = true;
};

// The first `limit` decompressed bytes of a gzip file (all if fewer).
absl::Status ReadGzip(const std::string& path, int64_t limit, std::string& out) {
  TS_ASSIGN_OR_RETURN(auto gz, GzipReader::Open(path));
  while (static_cast<int64_t>(out.size()) < limit) {
    TS_ASSIGN_OR_RETURN(
        size_t n,
        gz->Read(out, std::min<size_t>(size_t{1} << 20, static_cast<size_t>(limit) - out.size())));
    if (n == 0) break;
  }
  return absl::OkStatus();
}

// Where the last whole record of `text` ends (after its newline), `text`
// starting at a record's start; 0 if no record ends in it. A newline
// inside quotes ends nothing.
size_t LastRecordEnd(std::string_view text) {
  bool quoted = false;
  size_t end = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == '\n' && !quoted) {
      end = i + 1;
    }
  }
  return end;
}

// The first ',' or '\n' at or after `p` (or `size`). Fields are short, so
// this is the parser's innermost loop: 16 bytes per step with SSE2.
inline size_t FindDelimiter(const char* base, size_t p, size_t size) {
#if defined(__SSE2__)
  const __m128i comma = _mm_set1_epi8(',');
  const __m128i newline = _mm_set1_epi8('\n');
  while (p + 16 <= size) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + p));
    const int mask =
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, newline)));
    if (mask != 0) return p + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    p += 16;
  }
#endif
  while (p < size && base[p] != ',' && base[p] != '\n') ++p;
  return p;
}

// Counts the newlines in [0, offset) of a file: the line number of a split's
// first record, needed only to report an error.
absl::StatusOr<int64_t> CountNewlinesBefore(const std::string& path, int64_t offset) {
  Fd f{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return IoError(path, "open");
  std::string buf(1 << 20, '\0');
  int64_t count = 0;
  for (int64_t pos = 0; pos < offset;) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(offset - pos, 1 << 20));
    const ssize_t n = pread(f.fd, buf.data(), want, static_cast<off_t>(pos));
    if (n <= 0) return IoError(path, "read");
    count += std::count(buf.data(), buf.data() + n, '\n');
    pos += n;
  }
  return count;
}

// The field loop shared by header and data parsing. ReadFields calls
// on_field(index, value, offset) for each field of a record, with quotes
// removed, and stops early when it returns false (after calling Fail).
//
// Lines are counted from the start of `data`; the physical line of data[0]
// comes from `first_line`, called only to format an error (for a split it
// means counting the newlines before it in the file).
class RecordReader {
 public:
  RecordReader(std::string_view data, std::string source, std::function<int64_t()> first_line)
      : data_(data), source_(std::move(source)), first_line_(std::move(first_line)) {}

  bool done() const { return pos_ >= data_.size(); }
  size_t pos() const { return pos_; }
  int64_t newlines() const { return line_; }

  void set_pos(size_t pos) {
    line_ += std::count(data_.data() + pos_, data_.data() + pos, '\n');
    pos_ = pos;
    line_start_ = pos;
  }

  // Skips blank lines; returns false at the end of the data.
  bool NextRecord() {
    while (pos_ < data_.size()) {
      if (data_[pos_] == '\n') {
        NewLine(pos_ + 1);
      } else if (data_[pos_] == '\r' && pos_ + 1 < data_.size() && data_[pos_ + 1] == '\n') {
        NewLine(pos_ + 2);
      } else {
        record_line_ = line_;
        return true;
      }
    }
    return false;
  }

  // "file:line:column" of a byte offset on the current line, or of the
  // current field's start (a quoted field may span lines).
  std::string Where(size_t offset) const {
    if (offset < line_start_) {
      return absl::StrCat(source_, ":", first_line_() + field_line_, ":",
                          offset - field_line_start_ + 1);
    }
    return absl::StrCat(source_, ":", first_line_() + line_, ":", offset - line_start_ + 1);
  }
  // "file:line" of the current record's first line.
  std::string WhereRecord() const {
    return absl::StrCat(source_, ":", first_line_() + record_line_);
  }

  void Fail(absl::Status status) { error_ = std::move(status); }
  const absl::Status& error() const { return error_; }

  template <typename OnField>
  bool ReadFields(OnField&& on_field, int* fields) {
    const char* const base = data_.data();
    const size_t size = data_.size();
    int index = 0;
    while (true) {
      std::string_view value;
      const size_t field_start = pos_;
      field_line_ = line_;
      field_line_start_ = line_start_;
      if (pos_ < size && base[pos_] == '"') {
        if (!ReadQuoted(&value)) return false;
      } else {
        // The hot path: an unquoted field.
        const size_t p = FindDelimiter(base, pos_, size);
        size_t end = p;
        if (p < size && base[p] == '\n' && end > pos_ && base[end - 1] == '\r') --end;
        value = std::string_view(base + pos_, end - pos_);
        pos_ = p;
      }
      if (!on_field(index, value, field_start)) return false;
      ++index;
      if (pos_ >= size) break;
      if (base[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (base[pos_] == '\r') ++pos_;
      NewLine(pos_ + 1);  // base[pos_] == '\n'
      break;
    }
    *fields = index;
    return true;
  }

 private:
  bool ReadQuoted(std::string_view* value) {
    const char* const base = data_.data();
    const size_t size = data_.size();
    const size_t field_start = pos_;
    const int64_t field_line = line_;
    const size_t field_line_start = line_start_;
    size_t seg = ++pos_;
    scratch_.clear();
    bool copied = false;
    while (true) {
      const void* q = std::memchr(base + pos_, '"', size - pos_);
      if (q == nullptr) {
        line_ = field_line;
        line_start_ = field_line_start;
        Fail(absl::InvalidArgumentError(
            absl::StrCat(Where(field_start), ": quoted field is not closed")));
        return false;
      }
      const size_t qpos = static_cast<size_t>(static_cast<const char*>(q) - base);
      CountNewlines(pos_, qpos);
      if (qpos + 1 < size && base[qpos + 1] == '"') {
        scratch_.append(base + seg, qpos + 1 - seg);
        copied = true;
        pos_ = seg = qpos + 2;
        continue;
      }
      if (copied) {
        scratch_.append(base + seg, qpos - seg);
        *value = scratch_;
      } else {
        *value = std::string_view(base + seg, qpos - seg);
      }
      pos_ = qpos + 1;
      break;
    }
    if (pos_ < size && base[pos_] != ',' && base[pos_] != '\n' &&
        !(base[pos_] == '\r' && pos_ + 1 < size && base[pos_ + 1] == '\n')) {
      Fail(absl::InvalidArgumentError(
          absl::StrCat(Where(pos_), ": expected ',' or a line end after a closing quote")));
      return false;
    }
    return true;
  }

  void NewLine(size_t next) {
    pos_ = next;
    line_start_ = next;
    ++line_;
  }

  void CountNewlines(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      if (data_[i] == '\n') {
        ++line_;
        line_start_ = i + 1;
      }
    }
  }

  std::string_view data_;
  std::string source_;
  std::function<int64_t()> first_line_;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  int64_t line_ = 0;  // newlines before pos_ in data_
  int64_t record_line_ = 0;
  int64_t field_line_ = 0;  // line_ and line_start_ where the field began
  size_t field_line_start_ = 0;
  std::string scratch_;
  absl::Status error_;
};

int64_t LineOne() { return 1; }

absl::StatusOr<std::vector<std::string>> ParseHeaderRecord(RecordReader& reader,
                                                           const std::string& source) {
  std::vector<std::string> names;
  if (!reader.NextRecord()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":1:1: empty file, expected a header row"));
  }
  absl::flat_hash_set<std::string> seen;
  int fields = 0;
  const bool ok = reader.ReadFields(
      [&](int, std::string_view value, size_t offset) {
        if (value.empty()) {
          reader.Fail(absl::InvalidArgumentError(absl::StrCat(
              reader.Where(offset), ": header: column ", names.size() + 1, " has no name")));
          return false;
        }
        if (!IsUtf8(value) || value.find('\0') != std::string_view::npos) {
          reader.Fail(absl::InvalidArgumentError(absl::StrCat(reader.Where(offset),
                                                              ": header: column ", names.size() + 1,
                                                              "'s name is not UTF-8 text")));
          return false;
        }
        if (!seen.insert(std::string(value)).second) {
          reader.Fail(absl::InvalidArgumentError(absl::StrCat(
              reader.Where(offset), ": header: duplicate column \"", std::string(value), "\"")));
          return false;
        }
        names.emplace_back(value);
        return true;
      },
      &fields);
  if (!ok) return reader.error();
  return names;
}

// Parses a plain decimal ("-123.45") exactly like std::from_chars, faster.
// Clinger's fast path: a mantissa below 2^53 and a power of ten up to 1e22
// are both exact doubles, so one IEEE multiplication or division gives the
// correctly rounded result, the same bits from_chars gives. Returns false
// when the text is not of that simple form (the caller falls back).
bool ParseSimpleDecimal(const char* p, const char* last, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  bool negative = false;
  if (p < last && *p == '-') {
    negative = true;
    ++p;
  }
  uint64_t mantissa = 0;
  int digits = 0;  // significant digits taken into the mantissa
  int exp10 = 0;
  bool any = false;
  for (; p < last && static_cast<unsigned>(*p - '0') < 10; ++p) {
    any = true;
    if (digits >= 16) return false;
    mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
    if (mantissa != 0) ++digits;
  }
  if (p < last && *p == '.') {
    for (++p; p < last && static_cast<unsigned>(*p - '0') < 10; ++p) {
      any = true;
      if (digits >= 16) return false;
      mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
      if (mantissa != 0) ++digits;
      --exp10;
    }
  }
  if (p != last || !any || mantissa > (uint64_t{1} << 53) || exp10 < -22) return false;
  double v = static_cast<double>(mantissa);
  v = exp10 < 0 ? v / kPow10[-exp10] : v;
  *out = negative ? -v : v;
  return true;
}

// Where each field of a record goes.
struct Slot {
  enum Kind { kSkip, kId, kColumn } kind = kSkip;
  int column = -1;
};

// Parses the records of data[begin..] into a table of the requested columns.
// Maps the header's fields to the id and the requested columns (the rest
// are skipped), adding the columns to `table`. NOT_FOUND for a column that
// is not in the header.
absl::StatusOr<std::vector<Slot>> MapColumns(const std::vector<std::string>& header,
                                             const std::string& id_column,
                                             const std::vector<ColumnRequest>& requests,
                                             const std::string& source, Table& table) {
  std::vector<Slot> slots(header.size());
  auto id = std::find(header.begin(), header.end(), id_column);
  if (id == header.end()) {
    return absl::NotFoundError(
        absl::StrCat(source, ": id column \"", id_column, "\" is not in the header"));
  }
  for (auto it = id; it != header.end(); it = std::find(it + 1, header.end(), id_column)) {
    slots[static_cast<size_t>(it - header.begin())].kind = Slot::kId;
  }
  for (size_t c = 0; c < requests.size(); ++c) {
    auto it = std::find(header.begin(), header.end(), requests[c].name);
    if (it == header.end()) {
      return absl::NotFoundError(
          absl::StrCat(source, ": column \"", requests[c].name, "\" is not in the header"));
    }
    const size_t field = static_cast<size_t>(it - header.begin());
    if (slots[field].kind == Slot::kId) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": the id column \"", id_column,
                       "\" cannot also be used in expressions or groupings"));
    }
    slots[field] = Slot{Slot::kColumn, static_cast<int>(c)};
    Column col;
    col.name = requests[c].name;
    col.type = requests[c].type;
    table.columns.push_back(std::move(col));
  }
  return slots;
}

// A generous row estimate avoids regrowth; untouched capacity costs no RSS.
void ReserveRows(size_t estimate, Table& table) {
  table.ids.offsets.reserve(estimate);
  for (Column& col : table.columns) {
    if (col.type == ColumnType::kNumber) {
      col.numbers.reserve(estimate);
    } else {
      col.codes.reserve(estimate);
    }
  }
}

// Appends a text value as its dictionary code (-1: null); false for a new
// value that is not UTF-8 (text ends up in messages). Most grouping
// columns have a handful of values: compared directly while the dictionary
// is small, hashed (`dict`) once it grows.
bool AppendText(std::string_view value, absl::flat_hash_map<std::string, int32_t>& dict,
                Column& col) {
  if (value.empty()) {
    col.codes.push_back(-1);
    return true;
  }
  constexpr size_t kLinear = 16;
  if (col.dictionary.size() < kLinear) {
    for (size_t k = 0; k < col.dictionary.size(); ++k) {
      if (col.dictionary[k] == value) {
        col.codes.push_back(static_cast<int32_t>(k));
        return true;
      }
    }
  }
  if (dict.empty() && col.dictionary.size() >= kLinear) {
    for (size_t k = 0; k < col.dictionary.size(); ++k) {
      dict.emplace(col.dictionary[k], static_cast<int32_t>(k));
    }
  }
  if (!dict.empty()) {
    auto it = dict.find(absl::string_view(value.data(), value.size()));
    if (it != dict.end()) {
      col.codes.push_back(it->second);
      return true;
    }
  }
  if (!IsUtf8(value)) return false;
  const int32_t code = static_cast<int32_t>(col.dictionary.size());
  col.dictionary.emplace_back(value);
  if (col.dictionary.size() > kLinear) dict.emplace(std::string(value), code);
  col.codes.push_back(code);
  return true;
}

// What is wrong with a customer id, or null. Ids come back in files, keys,
// logs and terminals: no control characters (NUL, escapes, newlines).
const char* IdProblem(std::string_view id) {
  if (id.empty()) return "is empty";
  if (id.size() > kMaxIdBytes) return "is longer than 1024 bytes";
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "holds a control character";
  }
  if (!IsUtf8(id)) return "is not valid UTF-8";
  return nullptr;
}

// Appends a number (NaN: null); false when the value is not a finite number.
bool AppendNumber(std::string_view value, Column& col) {
  if (value.empty()) {
    col.numbers.push_back(std::nan(""));
    return true;
  }
  const char* first = value.data();
  const char* last = value.data() + value.size();
  if (*first == '+') ++first;
  double v = 0;
  if (!ParseSimpleDecimal(first, last, &v)) {
    auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || ptr != last || !std::isfinite(v)) return false;
  }
  col.numbers.push_back(v);
  return true;
}

// Parses records into one table: from one buffer, or from consecutive
// pieces of a text, each ending at a record's end.
class TableBuilder {
 public:
  static absl::StatusOr<TableBuilder> Create(const std::vector<std::string>& header,
                                             const std::string& id_column,
                                             const std::vector<ColumnRequest>& requests,
                                             const std::string& source) {
    TableBuilder b;
    b.source_ = source;
    b.id_column_ = id_column;
    b.expected_ = static_cast<int>(header.size());
    TS_ASSIGN_OR_RETURN(b.slots_, MapColumns(header, id_column, requests, source, b.table_));
    b.dicts_.resize(requests.size());
    return b;
  }

  void Reserve(size_t bytes) { ReserveRows(bytes / 48 + 16, table_); }

  // The records of data[begin, end); `first_line` is the line number of
  // data[0], for errors.
  absl::Status Feed(std::string_view data, size_t begin, std::function<int64_t()> first_line) {
    RecordReader reader(data, source_, std::move(first_line));
    reader.set_pos(begin);
    auto on_field = [&](int index, std::string_view value, size_t offset) -> bool {
      absl::Status st = OnField(reader, index, value, offset);
      if (st.ok()) return true;
      reader.Fail(std::move(st));
      return false;
    };
    while (reader.NextRecord()) {
      int fields = 0;
      if (!reader.ReadFields(on_field, &fields)) return reader.error();
      if (fields != expected_) {
        return absl::InvalidArgumentError(absl::StrCat(reader.WhereRecord(), ": expected ",
                                                       expected_,
                                                       " fields as in the header, found ", fields));
      }
      ++table_.rows;
    }
    return absl::OkStatus();
  }

  Table Finish() && { return std::move(table_); }

 private:
  TableBuilder() = default;

  absl::Status OnField(const RecordReader& reader, int index, std::string_view value,
                       size_t offset) {
    if (index >= expected_) {
      return absl::InvalidArgumentError(absl::StrCat(reader.Where(offset), ": expected ", expected_,
                                                     " fields as in the header, found more"));
    }
    const Slot slot = slots_[static_cast<size_t>(index)];
    if (slot.kind == Slot::kSkip) return absl::OkStatus();
    if (slot.kind == Slot::kId) {
      const char* wrong = IdProblem(value);
      if (wrong == nullptr) {
        table_.ids.Append(value);
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(
          absl::StrCat(reader.Where(offset), ": column \"", id_column_, "\": customer id ", wrong));
    }
    Column& col = table_.columns[static_cast<size_t>(slot.column)];
    if (col.type == ColumnType::kText) {
      if (AppendText(value, dicts_[static_cast<size_t>(slot.column)], col)) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat(reader.Where(offset), ": column \"", col.name,
                                                     "\": text is not valid UTF-8"));
    }
    if (AppendNumber(value, col)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(reader.Where(offset), ": column \"", col.name,
                                                   "\": expected a number, got \"",
                                                   std::string(value.substr(0, 40)), "\""));
  }

  std::string source_;
  std::string id_column_;
  int expected_ = 0;
  std::vector<Slot> slots_;
  std::vector<absl::flat_hash_map<std::string, int32_t>> dicts_;
  Table table_;
};

absl::StatusOr<Table> ParseBuffer(std::string_view data, size_t begin, const std::string& source,
                                  std::function<int64_t()> first_line,
                                  const std::vector<std::string>& header,
                                  const std::string& id_column,
                                  const std::vector<ColumnRequest>& requests) {
  TS_ASSIGN_OR_RETURN(TableBuilder builder,
                      TableBuilder::Create(header, id_column, requests, source));
  builder.Reserve(data.size() - begin);
  TS_RETURN_IF_ERROR(builder.Feed(data, begin, std::move(first_line)));
  return std::move(builder).Finish();
}

// A gzip split, decompressed and parsed a piece at a time: the text is
// never whole in memory, only the table.
absl::StatusOr<Table> ParseGzipSplit(const Split& split, const CsvHeader& header,
                                     const std::string& id_column,
                                     const std::vector<ColumnRequest>& requests,
                                     int64_t max_decompressed_bytes) {
  constexpr size_t kPiece = size_t{16} << 20;
  TS_ASSIGN_OR_RETURN(TableBuilder builder,
                      TableBuilder::Create(header.columns, id_column, requests, split.path));
  TS_ASSIGN_OR_RETURN(auto gz, GzipReader::Open(split.path));
  std::string pending;       // decompressed and not parsed yet: from a record's start
  int64_t decompressed = 0;  // bytes so far
  int64_t lines_before = 0;  // newlines before pending[0]
  size_t begin = static_cast<size_t>(header.data_begin);  // the header, in the first piece
  for (bool end = false; !end;) {
    TS_ASSIGN_OR_RETURN(size_t n, gz->Read(pending, kPiece));
    end = n == 0;
    decompressed += static_cast<int64_t>(n);
    if (decompressed > max_decompressed_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(split.path, ": decompresses to more than ", max_decompressed_bytes,
                       " bytes (the workers' --max-decompressed-bytes)"));
    }
    if (pending.size() < begin) continue;  // the header is not whole yet
    const size_t cut =
        end ? pending.size() : begin + LastRecordEnd(std::string_view(pending).substr(begin));
    if (cut == begin) {
      if (static_cast<int64_t>(pending.size() - begin) > kMaxRecordBytes) {
        return absl::InvalidArgumentError(absl::StrCat(split.path, ":", lines_before + 1,
                                                       ": a record longer than ", kMaxRecordBytes,
                                                       " bytes (or a quote that is never closed)"));
      }
      continue;  // one record longer than a piece: read on
    }
    const std::string_view piece = std::string_view(pending).substr(0, cut);
    TS_RETURN_IF_ERROR(builder.Feed(piece, begin, [line = 1 + lines_before] { return line; }));
    lines_before += std::count(piece.begin(), piece.end(), '\n');
    pending.erase(0, cut);
    begin = 0;
  }
  return std::move(builder).Finish();
}

}  // namespace

absl::StatusOr<CsvHeader> ReadHeader(const std::string& path) {
  CsvHeader header;
  header.gzip = IsGzipPath(path);
  TS_ASSIGN_OR_RETURN(header.file_size, FileSize(path));
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    header.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  const absl::Status endless = absl::InvalidArgumentError(
      absl::StrCat(path, ":1: the header has no end within ", kMaxHeaderBytes >> 20,
                   " MiB (a missing newline or an unclosed quote?)"));
  // Read a growing prefix until the header record is complete.
  for (int64_t want = 64 << 10;; want = std::min(want * 4, kMaxHeaderBytes + 1)) {
    std::string prefix;
    if (header.gzip) {
      TS_RETURN_IF_ERROR(ReadGzip(path, want, prefix));
    } else {
      TS_ASSIGN_OR_RETURN(prefix, ReadBytes(path, 0, std::min(want, header.file_size)));
    }
    const bool whole =
        header.gzip ? static_cast<int64_t>(prefix.size()) < want : want >= header.file_size;
    RecordReader reader(prefix, path, LineOne);
    if (absl::StartsWith(prefix, kBom)) reader.set_pos(3);
    auto names = ParseHeaderRecord(reader, path);
    // An unfinished header in a partial prefix looks like an unclosed quote
    // or a record that runs to the end: read more.
    if (!whole && (!names.ok() || reader.done())) {
      if (want > kMaxHeaderBytes) return endless;
      continue;
    }
    if (!names.ok()) return names.status();
    if (static_cast<int64_t>(reader.pos()) > kMaxHeaderBytes) return endless;
    header.columns = *std::move(names);
    header.data_begin = static_cast<int64_t>(reader.pos());
    return header;
  }
}

std::vector<ByteRange> RawRanges(const CsvHeader& header, int64_t split_bytes) {
  std::vector<ByteRange> ranges;
  if (split_bytes <= 0) split_bytes = 64 << 20;
  for (int64_t b = header.data_begin; b < header.file_size; b += split_bytes) {
    ByteRange r;
    r.begin = b;
    r.end = std::min(header.file_size, b + split_bytes);
    ranges.push_back(r);
  }
  return ranges;
}

absl::StatusOr<RangeScan> ScanRange(const std::string& path, int64_t begin, int64_t end) {
  if (begin <= 0 || end < begin) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": bad scan range [", begin, ", ", end, ")"));
  }
  // Read one byte before `begin`: a record starts at `begin` exactly when that
  // byte is a newline outside quotes.
  TS_ASSIGN_OR_RETURN(int64_t size, FileSize(path));
  if (end > size) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": scan range ends past the file"));
  }
  TS_ASSIGN_OR_RETURN(auto mapped, MappedRange::Open(path, begin - 1, end));
  const std::string_view buf = mapped->data();
  RangeScan scan;
  const char* const data = buf.data();
  const size_t n = buf.size();
  // buf[i] is the byte at begin - 1 + i. A newline at i < n - 1 ends a record
  // that is followed by one starting inside the range, at begin + i.
  if (std::memchr(data + 1, '"', n - 1) == nullptr) {
    // No quotes: parity cannot change, so the first newline decides, and
    // with an odd parity nothing in the range is outside quotes.
    const void* nl = n > 1 ? std::memchr(data, '\n', n - 1) : nullptr;
    if (nl != nullptr) {
      scan.start_even = begin + (static_cast<const char*>(nl) - data);
    }
    return scan;
  }
  int64_t quotes = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = data[i];
    if (c == '\n' && i + 1 < n) {
      const int64_t start = begin + static_cast<int64_t>(i);
      if ((quotes & 1) == 0) {
        if (scan.start_even < 0) scan.start_even = start;
      } else if (scan.start_odd < 0) {
        scan.start_odd = start;
      }
    } else if (c == '"' && i > 0) {
      ++quotes;
    }
  }
  scan.quotes = quotes;
  return scan;
}

absl::StatusOr<std::vector<Split>> AlignSplits(const std::string& path, const CsvHeader& header,
                                               const std::vector<ByteRange>& ranges,
                                               const std::vector<RangeScan>& scans,
                                               int first_index) {
  std::vector<int64_t> starts;
  int64_t quotes = 0;
  for (size_t j = 0; j < ranges.size(); ++j) {
    const RangeScan& s = scans[j];
    const int64_t start = (quotes & 1) == 0 ? s.start_even : s.start_odd;
    if (start >= 0) starts.push_back(start);
    quotes += s.quotes;
  }
  std::vector<Split> splits;
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t end = k + 1 < starts.size() ? starts[k + 1] : header.file_size;
    if (end <= starts[k]) continue;
    // A split is about one range long; much longer, a record never ended.
    const int64_t range_bytes = ranges.empty() ? 0 : ranges[0].end - ranges[0].begin;
    if (end - starts[k] > range_bytes + kMaxRecordBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": no record starts between bytes ", starts[k], " and ", end, " (more than ",
          kMaxRecordBytes >> 20, " MiB past a split): a missing newline or an unclosed quote?"));
    }
    Split split;
    split.index = first_index + static_cast<int>(splits.size());
    split.path = path;
    split.begin = starts[k];
    split.end = end;
    splits.push_back(std::move(split));
  }
  return splits;
}

absl::StatusOr<Table> ParseSplit(const Split& split, const CsvHeader& header,
                                 const std::string& id_column,
                                 const std::vector<ColumnRequest>& columns,
                                 int64_t max_decompressed_bytes) {
  if (split.gzip) {
    return ParseGzipSplit(split, header, id_column, columns, max_decompressed_bytes);
  }
  TS_ASSIGN_OR_RETURN(int64_t size, FileSize(split.path));
  if (split.end > size) {
    return absl::DataLossError(absl::StrCat(split.path, ": file is shorter than planned (", size,
                                            " < ", split.end, " bytes); was it changed?"));
  }
  TS_ASSIGN_OR_RETURN(auto mapped, MappedRange::Open(split.path, split.begin, split.end));
  const std::string& path = split.path;
  const int64_t begin = split.begin;
  auto first_line = [path, begin]() -> int64_t {
    auto before = CountNewlinesBefore(path, begin);
    return before.ok() ? 1 + *before : 0;  // 0: unknown (file unreadable now)
  };
  return ParseBuffer(mapped->data(), 0, path, first_line, header.columns, id_column, columns);
}

absl::StatusOr<Table> ParseCsvText(const std::string& text, const std::string& source_name,
                                   const std::string& id_column,
                                   const std::vector<ColumnRequest>& columns) {
  RecordReader reader(text, source_name, LineOne);
  if (absl::StartsWith(text, kBom)) reader.set_pos(3);
  TS_ASSIGN_OR_RETURN(std::vector<std::string> names, ParseHeaderRecord(reader, source_name));
  return ParseBuffer(text, reader.pos(), source_name, LineOne, names, id_column, columns);
}

}  // namespace tierscore::engine
