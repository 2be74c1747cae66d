// tierscore policy validate | explain: a policy file checked and described
// here, without a coordinator.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/commands.h"
#include "client/output.h"
#include "common/config_loader.h"
#include "common/enum_names.h"
#include "engine/csv.h"
#include "engine/job.h"

namespace tierscore::client::cli {
namespace {

struct PolicyFlags {
  std::string policy;
  std::string kpis;
};

absl::StatusOr<std::shared_ptr<const engine::CompiledJob>> Compile(const PolicyFlags& f) {
  v1::Policy policy;
  v1::KpiSpec kpis;
  absl::Status st = common::LoadYamlFile(f.policy, &policy);
  if (st.ok() && !f.kpis.empty()) st = common::LoadYamlFile(f.kpis, &kpis);
  if (!st.ok()) return st;
  auto job = engine::CompileJob(policy, kpis);
  if (!job.ok()) {
    // Name the file the field is in.
    return absl::Status(job.status().code(),
                        absl::StrCat(f.kpis.empty() ? f.policy : f.policy + " or " + f.kpis, ": ",
                                     job.status().message()));
  }
  return job;
}

Command Validate(CLI::App& policy) {
  struct Flags {
    PolicyFlags files;
    std::vector<std::string> inputs;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = policy.add_subcommand(
      "validate", "Check a policy (and KPI spec): fields, expressions and, with --input, columns");
  cmd->add_option("file", f->files.policy, "Policy file (YAML or JSON)")->required();
  cmd->add_option("--kpis", f->files.kpis, "KPI spec file (YAML or JSON)");
  cmd->add_option("--input", f->inputs, "A CSV whose header must have every column used");
  return {cmd, [f] {
            auto job = Compile(f->files);
            if (!job.ok()) return Fail(job.status());
            for (const std::string& input : f->inputs) {
              auto header = engine::ReadHeader(input);
              if (!header.ok()) return Fail(header.status());
              absl::Status st = engine::CheckHeader(**job, input, header->columns);
              if (!st.ok()) return Fail(st);
            }
            std::vector<std::string> columns = {(*job)->policy.id_column};
            for (const auto& c : (*job)->columns) columns.push_back(c.name);
            std::cout << absl::StrFormat(
                "%s: valid (%d criteria, %d tier schemes, %d metrics; columns used: %s)\n",
                f->files.policy, (*job)->policy.criteria.size(), (*job)->policy.schemes.size(),
                (*job)->kpis.metrics.size(), absl::StrJoin(columns, ", "));
            for (const std::string& input : f->inputs) {
              std::cout << input << ": has every column used\n";
            }
            return static_cast<int>(kOk);
          }};
}

std::string Percent(double share) { return absl::StrFormat("%.4g%%", 100 * share); }

// How a scheme cuts, tier by tier.
std::vector<std::vector<std::string>> SchemeRows(const engine::CompiledScheme& s) {
  std::vector<std::vector<std::string>> rows = {{"tier", "from", "to"}};
  const std::string kind(s.rule->kind());
  for (size_t t = 0; t < s.names.size(); ++t) {
    const bool first = t == 0, last = t + 1 == s.names.size();
    if (kind == "thresholds") {
      rows.push_back({s.names[t], last ? "-inf" : Number(s.boundaries[t]),
                      first ? "+inf" : Number(s.boundaries[t - 1])});
    } else {
      rows.push_back({s.names[t], first ? "0%" : Percent(s.boundaries[t - 1]),
                      last ? "100%" : Percent(s.boundaries[t])});
    }
  }
  return rows;
}

std::string Explain(const engine::CompiledJob& job) {
  const engine::CompiledPolicy& p = job.policy;
  std::string out = absl::StrCat(
      "policy ", p.policy.name().empty() ? "(unnamed)" : p.policy.name(),
      p.policy.preset().empty() ? "" : " (starts from preset " + p.policy.preset() + ")",
      "\n  customers: one per ", p.id_column,
      p.keep_first ? " (a repeated id: its first row is kept, later ones dropped)"
                   : " (a repeated id fails the job)",
      "\n  value: ", p.policy.value(), "  (Pareto and ABC tiers cut its cumulative share)\n",
      "\nscore = the weighted sum of the criteria, each normalised over the base\n");
  std::vector<std::vector<std::string>> criteria = {
      {"criterion", "expression", "normalize", "direction", "weight"}};
  for (const auto& c : p.policy.criteria()) {
    criteria.push_back(
        {c.name(), c.expr(),
         common::EnumShortName(v1::Normalization_descriptor()->FindValueByNumber(c.normalize())),
         common::EnumShortName(v1::Direction_descriptor()->FindValueByNumber(c.direction())),
         Number(c.weight())});
  }
  absl::StrAppend(&out, Aligned(criteria, 4));
  for (const engine::CompiledScheme& s : p.schemes) {
    const std::string kind(s.rule->kind());
    absl::StrAppend(&out, "\ntier scheme ", s.name, ": ", kind,
                    kind == "quantile"     ? " (by share of customers, top first)"
                    : kind == "thresholds" ? " (by score)"
                                           : " (by cumulative share of value, top first)",
                    "\n", Aligned(SchemeRows(s), 1));
    if (s.protection.enabled()) {
      absl::StrAppend(
          &out, "  downgrade protection: ",
          s.protection.max_drop > 0
              ? absl::StrCat("at most ", s.protection.max_drop, " tier(s) down per run")
              : "",
          s.protection.max_drop > 0 && s.protection.demote_after > 1 ? "; " : "",
          s.protection.demote_after > 1
              ? absl::StrCat("down only after ", s.protection.demote_after, " runs below")
              : "",
          "\n");
    }
  }
  return out;
}

Command ExplainCommand(CLI::App& policy) {
  auto f = std::make_shared<PolicyFlags>();
  CLI::App* cmd = policy.add_subcommand(
      "explain", "Describe a policy: criteria, weights, tier schemes and their boundaries");
  cmd->add_option("file", f->policy, "Policy file (YAML or JSON)")->required();
  auto format = std::make_shared<std::string>("table");
  cmd->add_option("--format", *format,
                  "table, or json: the policy as the server reads it (preset applied)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  return {cmd, [f, format] {
            auto job = Compile(*f);
            if (!job.ok()) return Fail(job.status());
            std::cout << (*format == "json" ? Json((*job)->policy.policy) : Explain(**job));
            return static_cast<int>(kOk);
          }};
}

}  // namespace

std::vector<Command> AddPolicyCommands(CLI::App& app) {
  CLI::App* policy = app.add_subcommand("policy", "Check or describe a policy file");
  policy->require_subcommand(1);
  return {Validate(*policy), ExplainCommand(*policy)};
}

}  // namespace tierscore::client::cli
