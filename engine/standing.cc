#include "engine/standing.h"

#include <algorithm>

#include "engine/tiering.h"

namespace tierscore::engine {

Standing Protect(const Protection& protection, int earned, const Standing* previous) {
  // Tier 0 is the top: a larger index is a fall.
  if (previous == nullptr || !protection.enabled() || earned <= previous->tier) {
    return {earned, 0};
  }
  const int below = previous->runs_below + 1;
  if (protection.demote_after > 1 && below < protection.demote_after) {
    return {previous->tier, below};
  }
  int tier = earned;
  if (protection.max_drop > 0) tier = std::min(tier, previous->tier + protection.max_drop);
  return {tier, 0};  // a new tier held: its count starts again
}

std::vector<PriorScheme> MatchPrior(const CompiledPolicy& policy, const v1::RunMeta& prior) {
  std::vector<PriorScheme> out(policy.schemes.size());
  for (size_t s = 0; s < policy.schemes.size(); ++s) {
    const CompiledScheme& scheme = policy.schemes[s];
    for (int p = 0; p < prior.schemes_size(); ++p) {
      const v1::RunMeta::Scheme& old = prior.schemes(p);
      if (old.name() != scheme.name) continue;
      out[s].index = p;
      out[s].tiers = old.tiers_size();
      out[s].protect =
          scheme.protection.enabled() && std::equal(old.tiers().begin(), old.tiers().end(),
                                                    scheme.names.begin(), scheme.names.end());
      break;
    }
  }
  return out;
}

MigrationAcc::MigrationAcc(int from_tiers, int to_tiers)
    : from_tiers_(from_tiers),
      to_tiers_(to_tiers),
      customers_(static_cast<size_t>((from_tiers + 1) * to_tiers), 0),
      value_(customers_.size(), 0),
      found_previous_value_(static_cast<size_t>(from_tiers), 0),
      found_(static_cast<size_t>(from_tiers), 0) {}

void MigrationAcc::Add(int from, int to, int64_t value_micros, int64_t previous_value_micros,
                       bool held) {
  if (from < 0 || from >= from_tiers_) {
    // A previous tier this scheme did not have (a corrupt record): new.
    AddNew(to, value_micros);
    return;
  }
  const size_t cell = static_cast<size_t>(from * to_tiers_ + to);
  ++customers_[cell];
  value_[cell] += value_micros;
  ++found_[static_cast<size_t>(from)];
  found_previous_value_[static_cast<size_t>(from)] += previous_value_micros;
  held_ += held ? 1 : 0;
}

void MigrationAcc::AddNew(int to, int64_t value_micros) {
  const size_t cell = static_cast<size_t>(from_tiers_ * to_tiers_ + to);
  ++customers_[cell];
  value_[cell] += value_micros;
}

void MigrationAcc::Merge(const MigrationAcc& other) {
  for (size_t i = 0; i < customers_.size(); ++i) {
    customers_[i] += other.customers_[i];
    value_[i] += other.value_[i];
  }
  for (size_t i = 0; i < found_.size(); ++i) {
    found_[i] += other.found_[i];
    found_previous_value_[i] += other.found_previous_value_[i];
  }
  held_ += other.held_;
}

absl::Status MigrationAcc::MergeProto(const v1::MigrationState& state) {
  if (state.customers_size() != static_cast<int>(customers_.size()) ||
      state.value_size() != static_cast<int>(customers_.size()) ||
      state.found_size() != static_cast<int>(found_.size()) ||
      state.found_previous_value_size() != static_cast<int>(found_.size())) {
    return absl::InternalError("a migration state of another shape than the previous run's scheme");
  }
  for (size_t i = 0; i < customers_.size(); ++i) {
    customers_[i] += state.customers(static_cast<int>(i));
    value_[i] += FromProto(state.value(static_cast<int>(i)));
  }
  for (size_t i = 0; i < found_.size(); ++i) {
    found_[i] += state.found(static_cast<int>(i));
    found_previous_value_[i] += FromProto(state.found_previous_value(static_cast<int>(i)));
  }
  held_ += state.held();
  return absl::OkStatus();
}

void MigrationAcc::ToProto(v1::MigrationState* out) const {
  for (size_t i = 0; i < customers_.size(); ++i) {
    out->add_customers(customers_[i]);
    engine::ToProto(value_[i], out->add_value());
  }
  for (size_t i = 0; i < found_.size(); ++i) {
    out->add_found(found_[i]);
    engine::ToProto(found_previous_value_[i], out->add_found_previous_value());
  }
  out->set_held(held_);
}

v1::Migration MigrationAcc::Finish(const std::string& scheme, const v1::RunMeta& prior,
                                   int prior_index,
                                   const std::vector<std::string>& to_names) const {
  v1::Migration m;
  m.set_scheme(scheme);
  m.set_previous_run(prior.run_id());
  const v1::RunMeta::Scheme& old = prior.schemes(prior_index);
  for (const std::string& t : old.tiers()) m.add_from_tiers(t);
  m.add_from_tiers("(new)");
  for (const std::string& t : to_names) m.add_to_tiers(t);
  m.add_to_tiers("(lost)");
  for (int from = 0; from <= from_tiers_; ++from) {
    for (int to = 0; to <= to_tiers_; ++to) {
      if (to < to_tiers_) {
        const size_t cell = static_cast<size_t>(from * to_tiers_ + to);
        m.add_customers(customers_[cell]);
        m.add_value(MicrosToValue(value_[cell]));
      } else if (from < from_tiers_) {
        // Lost: the previous run's tier total less those found again.
        const size_t f = static_cast<size_t>(from);
        const int64_t had = from < old.customers_size() ? old.customers(from) : 0;
        const int128 had_value =
            from < old.value_micros_size() ? FromProto(old.value_micros(from)) : 0;
        m.add_customers(std::max<int64_t>(0, had - found_[f]));
        m.add_value(MicrosToValue(std::max<int128>(0, had_value - found_previous_value_[f])));
      } else {
        m.add_customers(0);  // new and lost at once: nobody
        m.add_value(0);
      }
    }
  }
  m.set_held(held_);
  return m;
}

}  // namespace tierscore::engine
