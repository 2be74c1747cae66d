#include "client/output.h"

#include <charconv>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/results_csv.h"

namespace tierscore::client {

std::string Number(double v) {
  if (std::isnan(v)) return "";
  // Whole numbers (counts) in full, never as 1e+05.
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrFormat("%.0f", v);
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, static_cast<size_t>(ptr - buf));
}

std::string Field(const std::string& s) {
  std::string out;
  engine::AppendCsvField(s, &out);
  return out;
}

std::string Human(double v) {
  if (std::isnan(v)) return "-";
  const double a = std::fabs(v);
  if (a >= 1e9) return absl::StrFormat("%.2fB", v / 1e9);
  if (a >= 1e6) return absl::StrFormat("%.2fM", v / 1e6);
  if (a >= 1e4) return absl::StrFormat("%.1fK", v / 1e3);
  if (a == std::floor(a)) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.3f", v);
}

std::string KpiTableCsv(const v1::KpiTable& table) {
  std::string out;
  std::vector<std::string> header;
  for (const auto& c : table.dim_columns()) header.push_back(Field(c));
  for (const auto& c : table.metric_columns()) header.push_back(Field(c));
  for (size_t i = 0; i < header.size(); ++i) absl::StrAppend(&out, i ? "," : "", header[i]);
  out += '\n';
  for (const auto& row : table.rows()) {
    bool first = true;
    for (const auto& d : row.dims()) {
      absl::StrAppend(&out, first ? "" : ",", Field(d));
      first = false;
    }
    for (double v : row.values()) {
      absl::StrAppend(&out, first ? "" : ",", Number(v));
      first = false;
    }
    out += '\n';
  }
  return out;
}

std::string FormatTierSummary(const v1::JobResult& result) {
  std::string out = absl::StrFormat("%d customers, total value %s\n", result.customers(),
                                    Human(result.total_value()));
  if (const int64_t dropped = result.stats().duplicates_dropped(); dropped > 0) {
    absl::StrAppendFormat(&out, "%d rows dropped as repeats of an earlier customer id\n", dropped);
  }
  for (const auto& scheme : result.tiers()) {
    absl::StrAppendFormat(&out, "\n%s\n  %-12s %12s %8s %14s %8s\n", scheme.scheme(), "tier",
                          "customers", "%cust", "value", "%value");
    for (const auto& row : scheme.rows()) {
      absl::StrAppendFormat(&out, "  %-12s %12d %7.2f%% %14s %7.2f%%\n", row.tier(),
                            row.customers(), 100 * row.customer_share(), Human(row.value()),
                            100 * row.value_share());
    }
  }
  return out;
}

std::string Aligned(const std::vector<std::vector<std::string>>& cells, size_t left) {
  std::vector<size_t> width;
  for (const auto& line : cells) {
    if (width.size() < line.size()) width.resize(line.size(), 0);
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) {
      // Two literal formats: under clang absl checks the format at compile
      // time, which a runtime-selected string cannot pass.
      if (i < left) {
        absl::StrAppendFormat(&out, "%-*s  ", static_cast<int>(width[i]), line[i]);
      } else {
        absl::StrAppendFormat(&out, "%*s  ", static_cast<int>(width[i]), line[i]);
      }
    }
    out += '\n';
  }
  return out;
}

std::string FormatKpiTable(const v1::KpiTable& table) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header(table.dim_columns().begin(), table.dim_columns().end());
  header.insert(header.end(), table.metric_columns().begin(), table.metric_columns().end());
  cells.push_back(header);
  for (const auto& row : table.rows()) {
    std::vector<std::string> line;
    for (const auto& d : row.dims()) line.push_back(d.empty() ? "*" : d);
    for (double v : row.values()) line.push_back(Human(v));
    cells.push_back(std::move(line));
  }
  return Aligned(cells, static_cast<size_t>(table.dim_columns_size()));
}

std::string FormatMigration(const v1::KpiTable& table) {
  std::string out;
  for (const v1::Migration& m : table.migration()) {
    const int cols = m.to_tiers_size();
    absl::StrAppendFormat(
        &out, "\nmigration of %s since run %s (customers; value)%s\n", m.scheme(), m.previous_run(),
        m.held() > 0 ? absl::StrFormat(", %d held by downgrade protection", m.held()) : "");
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> header = {"from \\ to"};
    header.insert(header.end(), m.to_tiers().begin(), m.to_tiers().end());
    cells.push_back(header);
    for (int from = 0; from < m.from_tiers_size(); ++from) {
      std::vector<std::string> line = {m.from_tiers(from)};
      for (int to = 0; to < cols; ++to) {
        const int cell = from * cols + to;
        line.push_back(absl::StrCat(m.customers(cell), "; ", Human(m.value(cell))));
      }
      cells.push_back(std::move(line));
    }
    out += Aligned(cells, 1);
  }
  return out;
}

std::string MigrationCsv(const v1::KpiTable& table) {
  std::string out = "scheme,previous_run,from,to,customers,value\n";
  for (const v1::Migration& m : table.migration()) {
    const int cols = m.to_tiers_size();
    for (int from = 0; from < m.from_tiers_size(); ++from) {
      for (int to = 0; to < cols; ++to) {
        const int cell = from * cols + to;
        absl::StrAppend(&out, Field(m.scheme()), ",", Field(m.previous_run()), ",",
                        Field(m.from_tiers(from)), ",", Field(m.to_tiers(to)), ",",
                        m.customers(cell), ",", Number(m.value(cell)), "\n");
      }
    }
  }
  return out;
}

std::string FormatStats(const v1::JobStats& stats) {
  std::string out;
  for (const auto& p : stats.phases())
    absl::StrAppendFormat(&out, "phase %-9s %8.3fs\n", p.name(), p.seconds());
  absl::StrAppendFormat(&out, "splits %d, %.1f MB, cut search %d rounds, %d items fetched\n",
                        stats.splits(), stats.bytes() / 1048576.0, stats.search_rounds(),
                        stats.search_items_fetched());
  absl::StrAppendFormat(&out, "worker calls: %.1f KB sent, %.1f KB received; %d recoveries\n",
                        stats.bytes_to_workers() / 1024.0, stats.bytes_from_workers() / 1024.0,
                        stats.recoveries());
  if (stats.position_error() > 0) {
    absl::StrAppendFormat(&out, "record positions within %.4f%% of customers and of value\n",
                          100 * stats.position_error());
  }
  return out;
}

std::string FormatLookup(const std::vector<CustomerTiers>& customers) {
  std::string out;
  for (const CustomerTiers& c : customers) {
    if (!c.found) {
      absl::StrAppend(&out, c.customer_id, ": not found\n");
      continue;
    }
    absl::StrAppendFormat(&out,
                          "%s (run %s): score %.6g, value %s, top %.2f%% of customers, "
                          "%.2f%% of value before it\n",
                          c.customer_id, c.run_id, c.score, Human(c.value), 100 * c.percentile,
                          100 * c.cum_before_share);
    for (const SchemeTier& t : c.tiers) {
      absl::StrAppend(&out, "  ", t.scheme, ": ", t.tier);
      if (t.earned_tier != t.tier) {
        absl::StrAppend(&out, " (held by downgrade protection; the score earns ", t.earned_tier,
                        ")");
      }
      if (t.compared) {
        absl::StrAppend(&out, ", previously ", t.previous_tier.empty() ? "(new)" : t.previous_tier);
      }
      if (t.gap_to_next_tier > 0) {
        absl::StrAppendFormat(&out, ", %.4g more score to the next tier", t.gap_to_next_tier);
      }
      out += '\n';
    }
  }
  return out;
}

}  // namespace tierscore::client
