#ifndef TIERSCORE_CLIENT_OUTPUT_H_
#define TIERSCORE_CLIENT_OUTPUT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tierscore/client.h"
#include "tierscore/v1/coordinator.pb.h"
#include "tierscore/v1/job.pb.h"

namespace tierscore::client {

// A number as the shortest text that reads back the same, whole numbers in
// full (100000, not 1e+05); "" for NaN.
std::string Number(double v);
// A CSV field (engine::AppendCsvField: quoted only when it must be; text a
// spreadsheet would run as a formula gets a leading ').
std::string Field(const std::string& s);
// A number for people: 1.23M, 45.6K, 12, 0.125; "-" for NaN.
std::string Human(double v);
// Cells aligned in columns: the first `left` columns left-aligned (labels),
// the rest right-aligned (numbers).
std::string Aligned(const std::vector<std::vector<std::string>>& cells, size_t left);

// The KPI table as CSV: grouping columns, then one column per metric. A
// grouping column not in a row's set is empty; an undefined metric is empty.
std::string KpiTableCsv(const v1::KpiTable& table);

// The per-scheme tier summary the CLI prints.
std::string FormatTierSummary(const v1::JobResult& result);

// The KPI table aligned for a terminal.
std::string FormatKpiTable(const v1::KpiTable& table);

// The migration matrices of the KPI output (empty without a previous run):
// aligned for a terminal, and as CSV in long form (scheme, previous_run,
// from, to, customers, value).
std::string FormatMigration(const v1::KpiTable& table);
std::string MigrationCsv(const v1::KpiTable& table);

// Looked-up records, one block per customer, with tier names.
std::string FormatLookup(const std::vector<CustomerTiers>& customers);

// Phase durations and search traffic, one line each.
std::string FormatStats(const v1::JobStats& stats);

}  // namespace tierscore::client

#endif  // TIERSCORE_CLIENT_OUTPUT_H_
