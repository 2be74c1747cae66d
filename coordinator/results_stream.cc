#include "coordinator/results_stream.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tierscore::coordinator {
namespace {

constexpr absl::string_view kContribution = "contribution_";

// The fields of one CSV row (RFC 4180), its line end not included.
std::vector<std::string> SplitRow(std::string_view row) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < row.size(); ++i) {
    const char c = row[i];
    if (quoted) {
      if (c == '"' && i + 1 < row.size() && row[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

absl::Status Number(const std::string& text, const char* what, double* out) {
  if (absl::SimpleAtod(text, out)) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("results: ", what, " \"", text, "\" is not a number"));
}

}  // namespace

ResultsChunker::ResultsChunker(bool rows, Emit emit, size_t max_bytes)
    : rows_(rows), emit_(std::move(emit)), max_bytes_(max_bytes) {}

absl::Status ResultsChunker::Add(std::string_view csv) {
  pending_.append(csv.data(), csv.size());
  for (; scanned_ < pending_.size(); ++scanned_) {
    const char c = pending_[scanned_];
    if (c == '"') quoted_ = !quoted_;
    if (c != '\n' || quoted_) continue;
    const size_t end = scanned_ + 1;
    if (end > max_bytes_ && row_end_ > 0) {
      const size_t sent = row_end_;
      TS_RETURN_IF_ERROR(Send(sent));
      scanned_ -= sent;
      row_end_ = end - sent;
    } else {
      row_end_ = end;
    }
  }
  return absl::OkStatus();
}

absl::Status ResultsChunker::Finish() {
  if (row_end_ != pending_.size()) {
    return absl::InternalError("the results ended inside a row");
  }
  if (row_end_ > 0) return Send(row_end_);
  return absl::OkStatus();
}

absl::Status ResultsChunker::Send(size_t end) {
  v1::ResultsChunk chunk;
  if (rows_) {
    TS_RETURN_IF_ERROR(AddRows(std::string_view(pending_).substr(0, end), chunk));
  } else {
    chunk.set_csv(pending_.substr(0, end));
  }
  pending_.erase(0, end);
  row_end_ -= end;
  if (rows_ && chunk.rows_size() == 0 && chunk.schemes_size() == 0) return absl::OkStatus();
  return emit_(chunk);
}

absl::Status ResultsChunker::AddRows(std::string_view text, v1::ResultsChunk& chunk) {
  size_t begin = 0;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] != '\n' || quoted) continue;
    const std::vector<std::string> fields = SplitRow(text.substr(begin, i - begin));
    begin = i + 1;
    if (!header_read_) {
      TS_RETURN_IF_ERROR(ReadHeader(fields));
      for (const std::string& s : header_schemes_) chunk.add_schemes(s);
      for (const std::string& c : header_criteria_) chunk.add_criteria(c);
      continue;
    }
    if (fields.size() != 3 + schemes_ + criteria_) {
      return absl::InternalError(absl::StrCat("results: a row has ", fields.size(),
                                              " fields, the header ", 3 + schemes_ + criteria_));
    }
    v1::ResultRow* row = chunk.add_rows();
    row->set_customer_id(fields[0]);
    double v = 0;
    TS_RETURN_IF_ERROR(Number(fields[1], "score", &v));
    row->set_score(v);
    for (size_t s = 0; s < schemes_; ++s) row->add_tiers(fields[2 + s]);
    TS_RETURN_IF_ERROR(Number(fields[2 + schemes_], "value", &v));
    row->set_value(v);
    for (size_t c = 0; c < criteria_; ++c) {
      TS_RETURN_IF_ERROR(Number(fields[3 + schemes_ + c], "contribution", &v));
      row->add_contributions(v);
    }
  }
  return absl::OkStatus();
}

// customer_id, score, a column per scheme, value, contribution_<criterion>...
absl::Status ResultsChunker::ReadHeader(const std::vector<std::string>& fields) {
  size_t value = 2;
  while (value < fields.size() && fields[value] != "value") ++value;
  if (fields.size() < 3 || fields[0] != "customer_id" || fields[1] != "score" ||
      value == fields.size()) {
    return absl::InternalError("results: the header is not customer_id, score, ..., value");
  }
  header_schemes_.assign(fields.begin() + 2, fields.begin() + static_cast<std::ptrdiff_t>(value));
  for (size_t c = value + 1; c < fields.size(); ++c) {
    if (!absl::StartsWith(fields[c], kContribution)) {
      return absl::InternalError(absl::StrCat("results: unexpected column ", fields[c]));
    }
    header_criteria_.push_back(fields[c].substr(kContribution.size()));
  }
  schemes_ = header_schemes_.size();
  criteria_ = header_criteria_.size();
  header_read_ = true;
  return absl::OkStatus();
}

}  // namespace tierscore::coordinator
