#include "engine/reference.h"

#include <algorithm>
#include <numeric>

#include "common/status_macros.h"
#include "engine/csv.h"
#include "engine/duplicates.h"
#include "engine/scoring.h"
#include "engine/standing.h"
#include "engine/tiering.h"

namespace tierscore::engine {
namespace {

// Appends `from` to `to` (same column list), remapping text codes.
void AppendTable(Table&& from, Table* to) {
  if (to->columns.empty() && to->rows == 0) {
    *to = std::move(from);
    return;
  }
  for (size_t i = 0; i < from.ids.size(); ++i) to->ids.Append(from.ids[i]);
  for (size_t c = 0; c < from.columns.size(); ++c) {
    Column& dst = to->columns[c];
    Column& src = from.columns[c];
    if (dst.type == ColumnType::kNumber) {
      dst.numbers.insert(dst.numbers.end(), src.numbers.begin(), src.numbers.end());
      continue;
    }
    for (int32_t code : src.codes) {
      if (code < 0) {
        dst.codes.push_back(-1);
        continue;
      }
      const std::string& s = src.dictionary[static_cast<size_t>(code)];
      auto it = std::find(dst.dictionary.begin(), dst.dictionary.end(), s);
      if (it == dst.dictionary.end()) {
        dst.dictionary.push_back(s);
        it = dst.dictionary.end() - 1;
      }
      dst.codes.push_back(static_cast<int32_t>(it - dst.dictionary.begin()));
    }
  }
  to->rows += from.rows;
}

// Previous tiers, downgrade protection and the migration matrix, one
// customer at a time; lost customers by looking for each previous record's
// id among the current ones.
void ApplyPrior(const CompiledPolicy& policy, const PriorRun& prior, ReferenceResult* out) {
  const size_t n = out->ids.size();
  const std::vector<PriorScheme> match = MatchPrior(policy, prior.meta);
  std::map<std::string, size_t> row_of;
  for (size_t row = 0; row < n; ++row) row_of[out->ids[row]] = row;
  const bool any_protection =
      std::any_of(match.begin(), match.end(), [](const PriorScheme& p) { return p.protect; });
  out->previous_tiers.assign(policy.schemes.size(), std::vector<int>(n, -1));
  if (any_protection) out->runs_below.assign(policy.schemes.size(), std::vector<int>(n, 0));
  for (size_t s = 0; s < policy.schemes.size(); ++s) {
    const PriorScheme& p = match[s];
    if (p.index < 0) continue;
    const size_t to_tiers = policy.schemes[s].names.size();
    const size_t from_tiers = static_cast<size_t>(p.tiers);
    std::vector<std::vector<int64_t>> customers(from_tiers + 1,
                                                std::vector<int64_t>(to_tiers + 1, 0));
    std::vector<std::vector<int128>> value(from_tiers + 1, std::vector<int128>(to_tiers + 1, 0));
    int64_t held = 0;
    for (size_t row = 0; row < n; ++row) {
      auto it = prior.records.find(out->ids[row]);
      const int earned = out->earned_tiers[s][row];
      size_t from = from_tiers;  // new
      if (it != prior.records.end() && PriorStanding(it->second, p.index).tier >= 0 &&
          PriorStanding(it->second, p.index).tier < p.tiers) {
        const Standing before = PriorStanding(it->second, p.index);
        out->previous_tiers[s][row] = before.tier;
        from = static_cast<size_t>(before.tier);
        if (p.protect) {
          const Standing now = Protect(policy.schemes[s].protection, earned, &before);
          out->tiers[s][row] = now.tier;
          out->runs_below[s][row] = now.runs_below;
          held += now.tier != earned ? 1 : 0;
        }
      }
      const size_t to = static_cast<size_t>(out->tiers[s][row]);
      customers[from][to] += 1;
      value[from][to] += out->values[row];
    }
    for (const auto& [id, record] : prior.records) {
      if (row_of.count(id) != 0) continue;
      const int tier = PriorStanding(record, p.index).tier;
      if (tier < 0 || tier >= p.tiers) continue;  // unreadable: not counted
      const size_t from = static_cast<size_t>(tier);
      customers[from][to_tiers] += 1;
      value[from][to_tiers] += record.value_micros();
    }
    v1::Migration* m = out->result.mutable_kpis()->add_migration();
    m->set_scheme(policy.schemes[s].name);
    m->set_previous_run(prior.meta.run_id());
    for (const std::string& t : prior.meta.schemes(p.index).tiers()) m->add_from_tiers(t);
    m->add_from_tiers("(new)");
    for (const std::string& t : policy.schemes[s].names) m->add_to_tiers(t);
    m->add_to_tiers("(lost)");
    for (size_t from = 0; from <= from_tiers; ++from) {
      for (size_t to = 0; to <= to_tiers; ++to) {
        m->add_customers(customers[from][to]);
        m->add_value(MicrosToValue(value[from][to]));
      }
    }
    m->set_held(held);
  }
}

}  // namespace

absl::StatusOr<ReferenceResult> RunReference(const CompiledJob& job,
                                             const std::vector<std::string>& inputs,
                                             const PriorRun* prior) {
  Table all;
  for (const std::string& path : inputs) {
    TS_ASSIGN_OR_RETURN(CsvHeader header, ReadHeader(path));
    TS_RETURN_IF_ERROR(CheckHeader(job, path, header.columns));
    Split whole;
    whole.path = path;
    whole.gzip = header.gzip;
    whole.begin = header.data_begin;
    whole.end = header.file_size;
    TS_ASSIGN_OR_RETURN(Table t, ParseSplit(whole, header, job.policy.id_column, job.columns));
    AppendTable(std::move(t), &all);
  }
  if (all.columns.empty()) {
    for (const ColumnRequest& c : job.columns) all.columns.push_back({c.name, c.type, {}, {}, {}});
  }
  return RunReferenceOnTable(job, all, prior);
}

namespace {

// Every customer's position in the global order, by a full sort: order[pos]
// is the row at position pos; also each row's percentile and the share of
// value before it.
std::vector<size_t> SortAndLocate(const std::vector<int64_t>& values, int128 total,
                                  ReferenceResult& out) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return Before(out.scores[a], out.ids[a], out.scores[b], out.ids[b]);
  });
  out.percentile.resize(n);
  out.cum_before_share.resize(n);
  int128 before = 0;
  for (size_t pos = 0; pos < n; ++pos) {
    const size_t row = order[pos];
    out.percentile[row] = static_cast<double>(pos) / static_cast<double>(n);
    out.cum_before_share[row] = total > 0 ? static_cast<double>(static_cast<long double>(before) /
                                                                static_cast<long double>(total))
                                          : 0.0;
    before += values[row];
  }
  return order;
}

// The tiers scores earn, walking the global order: past cut k when the
// measure before a customer reaches the cut's threshold.
void EarnTiers(const CompiledPolicy& policy, const std::vector<size_t>& order,
               const std::vector<int64_t>& values, int128 total, ReferenceResult& out) {
  const size_t n = order.size();
  out.tiers.assign(policy.schemes.size(), std::vector<int>(n, 0));
  for (size_t s = 0; s < policy.schemes.size(); ++s) {
    const CompiledScheme& scheme = policy.schemes[s];
    const std::vector<CutTarget> cuts = scheme.CutTargets(static_cast<int64_t>(n), total);
    int128 value_before = 0;
    for (size_t pos = 0; pos < n; ++pos) {
      const size_t row = order[pos];
      out.tiers[s][row] = scheme.Tier(out.scores[row], [&](int k) {
        const CutTarget& c = cuts[static_cast<size_t>(k)];
        return (c.by_value ? value_before : static_cast<int128>(pos)) >= c.threshold;
      });
      value_before += values[row];
    }
    out.earned_tiers.push_back(out.tiers[s]);
  }
}

void SummarizeTiers(const CompiledPolicy& policy, const std::vector<int64_t>& values,
                    ReferenceResult& out) {
  for (size_t s = 0; s < policy.schemes.size(); ++s) {
    const CompiledScheme& scheme = policy.schemes[s];
    std::vector<int64_t> customers(scheme.names.size(), 0);
    std::vector<int128> tier_values(scheme.names.size(), 0);
    for (size_t row = 0; row < values.size(); ++row) {
      customers[static_cast<size_t>(out.tiers[s][row])] += 1;
      tier_values[static_cast<size_t>(out.tiers[s][row])] += values[row];
    }
    *out.result.add_tiers() = BuildTierSummary(scheme, customers, tier_values);
  }
}

// The KPI table: every grouping set straight from rows, one row at a time
// (no roll-ups), keeping the migration already in `out`.
void ReferenceKpis(const CompiledJob& job, const Table& table, ReferenceResult& out) {
  const CompiledPolicy& policy = job.policy;
  const size_t n = static_cast<size_t>(table.rows);
  CompiledKpis kpis = job.kpis;
  for (CompiledGroupingSet& set : kpis.sets) set.source = -1;
  GroupedState state(kpis.sets.size());
  const size_t nm = kpis.metrics.size();
  std::vector<std::vector<double>> v(nm, std::vector<double>(n)), d(nm, std::vector<double>(n)),
      f(nm, std::vector<double>(n));
  for (size_t m = 0; m < nm; ++m) {
    const CompiledMetric& metric = kpis.metrics[m];
    if (metric.expr) metric.expr->Eval(table, 0, table.rows, v[m].data());
    if (metric.den) metric.den->Eval(table, 0, table.rows, d[m].data());
    if (metric.filter) metric.filter->Eval(table, 0, table.rows, f[m].data());
  }
  for (size_t row = 0; row < n; ++row) {
    for (size_t s = 0; s < kpis.sets.size(); ++s) {
      GroupedState::Key key;
      for (int di : kpis.sets[s].dims) {
        const Dim& dim = kpis.dims[static_cast<size_t>(di)];
        if (dim.tier) {
          key.push_back(
              policy.schemes[static_cast<size_t>(dim.index)]
                  .names[static_cast<size_t>(out.tiers[static_cast<size_t>(dim.index)][row])]);
        } else {
          const Column& col = table.columns[static_cast<size_t>(dim.index)];
          const int32_t code = col.codes[row];
          key.push_back(code < 0 ? "" : col.dictionary[static_cast<size_t>(code)]);
        }
      }
      auto& accs = state.Group(s, key, nm);
      for (size_t m = 0; m < nm; ++m) {
        const CompiledMetric& metric = kpis.metrics[m];
        if (metric.filter && !(f[m][row] != 0 && f[m][row] == f[m][row])) continue;
        accs[m].AddRow(metric.agg, v[m][row], d[m][row]);
      }
    }
  }
  v1::KpiTable table_out = FinalizeKpis(kpis, policy, std::move(state));
  *table_out.mutable_migration() = std::move(*out.result.mutable_kpis()->mutable_migration());
  *out.result.mutable_kpis() = std::move(table_out);
}

// The rows of `table` where `keep` is true, in order.
Table KeepRows(const Table& table, const std::vector<bool>& keep) {
  Table out;
  for (const Column& c : table.columns)
    out.columns.push_back({c.name, c.type, {}, {}, c.dictionary});
  for (size_t i = 0; i < keep.size(); ++i) {
    if (!keep[i]) continue;
    out.ids.Append(table.ids[i]);
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const Column& src = table.columns[c];
      if (src.type == ColumnType::kNumber) {
        out.columns[c].numbers.push_back(src.numbers[i]);
      } else {
        out.columns[c].codes.push_back(src.codes[i]);
      }
    }
    ++out.rows;
  }
  return out;
}

// Every id's rows, by a sorted map: the ids seen more than once, ordered by
// their first row.
std::vector<DuplicateId> ReferenceDuplicates(const Table& table) {
  std::map<std::string_view, std::vector<int32_t>> rows;
  for (size_t i = 0; i < table.ids.size(); ++i)
    rows[table.ids[i]].push_back(static_cast<int32_t>(i));
  std::vector<DuplicateId> out;
  for (const auto& [id, r] : rows) {
    if (r.size() < 2) continue;
    DuplicateId& d = out.emplace_back();
    d.id = std::string(id);
    for (int32_t row : r) d.places.push_back({0, row});
  }
  std::sort(out.begin(), out.end(), [](const DuplicateId& a, const DuplicateId& b) {
    return a.places.front().row < b.places.front().row;
  });
  return out;
}

}  // namespace

absl::StatusOr<ReferenceResult> RunReferenceOnTable(const CompiledJob& job, const Table& table,
                                                    const PriorRun* prior) {
  const CompiledPolicy& policy = job.policy;
  if (const std::vector<DuplicateId> dups = ReferenceDuplicates(table); !dups.empty()) {
    if (!policy.keep_first) {
      return DuplicateIdsError(dups,
                               [](const IdPlace& p) { return absl::StrCat("row ", p.row + 1); });
    }
    std::vector<bool> keep(static_cast<size_t>(table.rows), true);
    for (const DuplicateId& d : dups) {
      for (size_t i = 1; i < d.places.size(); ++i)
        keep[static_cast<size_t>(d.places[i].row)] = false;
    }
    TS_ASSIGN_OR_RETURN(ReferenceResult out,
                        RunReferenceOnTable(job, KeepRows(table, keep), prior));
    out.result.mutable_stats()->set_duplicates_dropped(ExtraRows(dups));
    return out;
  }
  const size_t n = static_cast<size_t>(table.rows);
  ReferenceResult out;
  for (size_t i = 0; i < n; ++i) out.ids.emplace_back(table.ids[i]);

  // Scores, with the shared normalisation definitions.
  std::vector<CriterionStatsAcc> stats;
  AccumulateStats(policy, table, &stats);
  Scorer scorer(policy, NormalizationParams(policy, stats));
  out.scores.resize(n);
  TS_RETURN_IF_ERROR(scorer.Score(table, 0, table.rows, out.scores.data(), nullptr));
  std::vector<int64_t> values;
  TS_RETURN_IF_ERROR(ComputeValues(policy, table, &values));
  int128 total = 0;
  for (int64_t v : values) total += v;
  out.values = values;

  const std::vector<size_t> order = SortAndLocate(values, total, out);
  EarnTiers(policy, order, values, total, out);
  if (prior != nullptr) ApplyPrior(policy, *prior, &out);
  SummarizeTiers(policy, values, out);
  out.result.set_customers(table.rows);
  out.result.set_total_value(MicrosToValue(total));
  ReferenceKpis(job, table, out);
  return out;
}

}  // namespace tierscore::engine
