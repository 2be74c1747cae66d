#include "engine/policy.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/enum_names.h"
#include "common/status_macros.h"

namespace tierscore::engine {
namespace {

v1::Criterion MakeCriterion(const std::string& name, const std::string& expr,
                            v1::Normalization normalize, double weight,
                            v1::Direction direction = v1::DIRECTION_HIGHER) {
  v1::Criterion c;
  c.set_name(name);
  c.set_expr(expr);
  c.set_normalize(normalize);
  c.set_weight(weight);
  c.set_direction(direction);
  return c;
}

void AddAbc(v1::Policy* p) {
  v1::TierScheme* abc = p->add_tiers();
  abc->set_name("abc");
  abc->mutable_abc();
}

absl::Status FieldError(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::StatusOr<std::shared_ptr<Expr>> ParseField(const std::string& field,
                                                 const std::string& text) {
  if (text.empty()) return FieldError(field, "expression is empty");
  auto e = Expr::Parse(text);
  if (!e.ok()) return FieldError(field, std::string(e.status().message()));
  return e;
}

}  // namespace

std::vector<std::string> PresetNames() { return {"market_share", "profit", "market_entry"}; }

absl::StatusOr<v1::Policy> PresetPolicy(const std::string& name) {
  v1::Policy p;
  p.set_name(name);
  p.set_id_column("customer_id");
  if (name == "market_share") {
    // Goal: revenue and growth.
    p.set_value("revenue_12m");
    *p.add_criteria() = MakeCriterion("revenue", "log1p(revenue_12m)", v1::NORMALIZATION_MAX, 0.5);
    *p.add_criteria() =
        MakeCriterion("growth", "(revenue_12m - revenue_prev_12m) / max(revenue_prev_12m, 1)",
                      v1::NORMALIZATION_PERCENTILE, 0.3);
    *p.add_criteria() = MakeCriterion("orders", "log1p(orders_12m)", v1::NORMALIZATION_MAX, 0.2);
  } else if (name == "profit") {
    // Goal: margin, and customers that are cheap to serve.
    p.set_value("margin_12m");
    *p.add_criteria() = MakeCriterion("margin", "margin_12m", v1::NORMALIZATION_MINMAX, 0.5);
    *p.add_criteria() = MakeCriterion("margin_rate", "clip(margin_12m / revenue_12m, -1, 1)",
                                      v1::NORMALIZATION_MINMAX, 0.3);
    *p.add_criteria() = MakeCriterion("cost_to_serve", "support_tickets",
                                      v1::NORMALIZATION_PERCENTILE, 0.2, v1::DIRECTION_LOWER);
  } else if (name == "market_entry") {
    // Goal: strategic fit in a new market; how the customer rates us as a
    // supplier weighs most.
    p.set_value("revenue_12m");
    *p.add_criteria() = MakeCriterion("supplier_position",
                                      "if(procurement_status == \"strategic\", 1, "
                                      "if(procurement_status == \"preferred\", 0.7, "
                                      "if(procurement_status == \"approved\", 0.4, 0.1)))",
                                      v1::NORMALIZATION_NONE, 0.4);
    *p.add_criteria() =
        MakeCriterion("growth", "(revenue_12m - revenue_prev_12m) / max(revenue_prev_12m, 1)",
                      v1::NORMALIZATION_PERCENTILE, 0.3);
    *p.add_criteria() = MakeCriterion("revenue", "log1p(revenue_12m)", v1::NORMALIZATION_MAX, 0.3);
  } else {
    return absl::NotFoundError(
        absl::StrCat("unknown preset \"", name, "\" (known: market_share, profit, market_entry)"));
  }
  AddAbc(&p);
  return p;
}

absl::StatusOr<v1::Policy> ApplyPreset(const v1::Policy& policy) {
  if (policy.preset().empty()) return policy;
  auto base = PresetPolicy(policy.preset());
  if (!base.ok()) return FieldError("preset", std::string(base.status().message()));
  v1::Policy out = *base;
  out.set_preset(policy.preset());
  if (!policy.name().empty()) out.set_name(policy.name());
  if (!policy.id_column().empty()) out.set_id_column(policy.id_column());
  if (!policy.value().empty()) out.set_value(policy.value());
  for (const v1::Criterion& c : policy.criteria()) {
    bool replaced = false;
    for (v1::Criterion& existing : *out.mutable_criteria()) {
      if (existing.name() == c.name()) {
        existing = c;
        replaced = true;
      }
    }
    if (!replaced) *out.add_criteria() = c;
  }
  if (policy.tiers_size() > 0) *out.mutable_tiers() = policy.tiers();
  out.set_duplicate_ids(policy.duplicate_ids());
  return out;
}

int CompiledPolicy::SchemeIndex(const std::string& name) const {
  for (size_t i = 0; i < schemes.size(); ++i) {
    if (schemes[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<CompiledPolicy> CompilePolicy(const v1::Policy& input) {
  CompiledPolicy out;
  TS_ASSIGN_OR_RETURN(out.policy, ApplyPreset(input));
  // Its default made explicit: the policy as applied reads back as itself.
  if (out.policy.duplicate_ids() == v1::DUPLICATE_IDS_UNSPECIFIED) {
    out.policy.set_duplicate_ids(v1::DUPLICATE_IDS_FAIL);
  }
  const v1::Policy& p = out.policy;
  if (p.id_column().empty()) return FieldError("id_column", "is required");
  out.id_column = p.id_column();
  if (p.duplicate_ids() != v1::DUPLICATE_IDS_UNSPECIFIED) {
    TS_RETURN_IF_ERROR(
        common::CheckEnumSet(v1::DuplicateIds_descriptor(), p.duplicate_ids(), "duplicate_ids"));
  }
  out.keep_first = p.duplicate_ids() == v1::DUPLICATE_IDS_KEEP_FIRST;
  TS_ASSIGN_OR_RETURN(out.value, ParseField("value", p.value()));
  if (p.criteria_size() == 0) {
    return FieldError("criteria", "at least one criterion is required");
  }
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < p.criteria_size(); ++i) {
    const v1::Criterion& c = p.criteria(i);
    const std::string field = absl::StrCat("criteria[", i, "]");
    if (c.name().empty()) return FieldError(absl::StrCat(field, ".name"), "is required");
    const std::string named = absl::StrCat(field, " (", c.name(), ")");
    if (!names.insert(c.name()).second) {
      return FieldError(absl::StrCat(named, ".name"), "duplicate criterion name");
    }
    if (!std::isfinite(c.weight())) {
      return FieldError(absl::StrCat(named, ".weight"), "must be a finite number");
    }
    CompiledCriterion cc;
    cc.name = c.name();
    TS_ASSIGN_OR_RETURN(cc.expr, ParseField(absl::StrCat(named, ".expr"), c.expr()));
    TS_RETURN_IF_ERROR(common::CheckEnumSet(v1::Normalization_descriptor(), c.normalize(),
                                            absl::StrCat(named, ".normalize")));
    TS_RETURN_IF_ERROR(common::CheckEnumSet(v1::Direction_descriptor(), c.direction(),
                                            absl::StrCat(named, ".direction")));
    cc.normalize = c.normalize();
    cc.weight = c.weight();
    cc.lower_is_better = c.direction() == v1::DIRECTION_LOWER;
    out.criteria.push_back(std::move(cc));
  }
  if (p.tiers_size() == 0) return FieldError("tiers", "at least one tier scheme is required");
  absl::flat_hash_set<std::string> scheme_names;
  for (int i = 0; i < p.tiers_size(); ++i) {
    const v1::TierScheme& t = p.tiers(i);
    const std::string field = absl::StrCat("tiers[", i, "]");
    if (t.name().empty()) return FieldError(absl::StrCat(field, ".name"), "is required");
    if (!scheme_names.insert(t.name()).second) {
      return FieldError(absl::StrCat(field, ".name"), "duplicate tier scheme name");
    }
    if (t.name() == "customer_id" || t.name() == "score" || t.name() == "value" ||
        absl::StartsWith(t.name(), "contribution_")) {
      return FieldError(absl::StrCat(field, ".name"),
                        absl::StrCat("\"", t.name(), "\" is a column of the results already"));
    }
    const std::string named = absl::StrCat(field, " (", t.name(), ")");
    CompiledScheme s;
    s.name = t.name();
    s.rule = RuleFor(t);
    if (s.rule == nullptr) {
      return FieldError(named, absl::StrCat("one of ", RuleKinds(), " is required"));
    }
    TS_RETURN_IF_ERROR(s.rule->Compile(t, named, s));
    if (t.protection().max_drop_per_run() < 0) {
      return FieldError(absl::StrCat(named, ".protection.max_drop_per_run"), "must be >= 0");
    }
    if (t.protection().demote_after_runs() < 0) {
      return FieldError(absl::StrCat(named, ".protection.demote_after_runs"), "must be >= 0");
    }
    s.protection.max_drop = t.protection().max_drop_per_run();
    s.protection.demote_after = t.protection().demote_after_runs();
    out.schemes.push_back(std::move(s));
  }
  return out;
}

}  // namespace tierscore::engine
