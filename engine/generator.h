#ifndef TIERSCORE_ENGINE_GENERATOR_H_
#define TIERSCORE_ENGINE_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace tierscore::engine {

// A realistic, deterministic customer base: the same options give the same
// bytes on every machine and with any number of threads.
//
// Columns: customer_id, region, segment, channel, account_manager, team,
// department, revenue_12m, revenue_prev_12m, margin_12m, orders_12m,
// days_since_last_order, tenure_months, nps_score (empty for
// non-respondents), support_tickets, tickets_resolved, procurement_status
// (how the customer classifies us: strategic, preferred, approved,
// transactional). Revenue is lognormal by segment with some exact zeros.
struct GeneratorOptions {
  int64_t rows = 1000;
  uint64_t seed = 1;
  // Extra shapes for tests: the share of customers with exactly zero revenue
  // (on top of the natural ~4%), and, when > 0, revenue drawn from only this
  // many distinct values (heavy ties in value and score).
  double extra_zero_share = 0;
  int distinct_values = 0;
  int threads = 0;  // <= 0: one per core
};

// Writes the base as CSV to `path` (gzip-compressed when it ends in .gz).
absl::Status GenerateCustomers(const GeneratorOptions& options, const std::string& path);

// The same text, to a string (tests).
std::string GenerateCustomersCsv(const GeneratorOptions& options);

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_GENERATOR_H_
