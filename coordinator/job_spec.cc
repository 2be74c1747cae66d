#include "coordinator/job_spec.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/config_loader.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "engine/csv.h"
#include "engine/job.h"
#include "engine/policy.h"

namespace tierscore::coordinator {
namespace {

// Parses `text` into `message` unless the message form was given too.
absl::Status ResolveText(const v1::ConfigText& text, bool has_message, const char* field,
                         const char* default_name, google::protobuf::Message* message) {
  if (has_message) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": give the message or its text (", field, "_text), not both"));
  }
  if (!text.name().empty()) {
    TS_RETURN_IF_ERROR(common::CheckName(text.name(), absl::StrCat(field, "_text.name")));
  }
  return common::ParseYamlToProto(text.text(), text.name().empty() ? default_name : text.name(),
                                  message);
}

// Where each part came from, for errors: the text's name, or "" (a message).
struct Sources {
  std::string policy;
  std::string kpis;
};

absl::Status ResolveTexts(v1::JobSpec& spec, Sources& sources) {
  if (spec.has_policy_text()) {
    sources.policy = spec.policy_text().name().empty() ? "policy" : spec.policy_text().name();
    const v1::ConfigText text = spec.policy_text();
    const bool had_message = spec.has_policy();
    spec.clear_policy_text();
    TS_RETURN_IF_ERROR(ResolveText(text, had_message, "policy", "policy", spec.mutable_policy()));
  }
  if (spec.has_kpis_text()) {
    sources.kpis = spec.kpis_text().name().empty() ? "kpis" : spec.kpis_text().name();
    const v1::ConfigText text = spec.kpis_text();
    const bool had_message = spec.has_kpis();
    spec.clear_kpis_text();
    TS_RETURN_IF_ERROR(ResolveText(text, had_message, "kpis", "kpis", spec.mutable_kpis()));
  }
  return absl::OkStatus();
}

absl::Status CheckPublishing(const v1::JobSpec& spec, const JobSpecChecks& checks) {
  if (spec.alias().empty()) {
    if (spec.no_publish()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        "alias: is required to publish; set no_publish to run without publishing");
  }
  TS_RETURN_IF_ERROR(common::CheckName(spec.alias(), "alias"));
  if (!checks.has_store) {
    return absl::FailedPreconditionError(absl::StrCat(
        "alias: this coordinator has no store, so nothing can be published or compared "
        "with; leave alias empty and set no_publish"));
  }
  return absl::OkStatus();
}

absl::Status ResolveDatasets(v1::JobSpec& spec, const JobSpecChecks& checks) {
  if (spec.datasets_size() == 0) return absl::OkStatus();
  if (!checks.dataset_path) {
    return absl::FailedPreconditionError(
        "datasets: this coordinator keeps no datasets (it has no --data-dir)");
  }
  for (int i = 0; i < spec.datasets_size(); ++i) {
    TS_ASSIGN_OR_RETURN(std::string path,
                        checks.dataset_path(spec.datasets(i), absl::StrCat("datasets[", i, "]")));
    spec.add_inputs(std::move(path));
  }
  spec.clear_datasets();
  return absl::OkStatus();
}

std::string Shown(const std::string& path) {
  return absl::StrCat("\"", absl::CHexEscape(path.substr(0, 256)), path.size() > 256 ? "..." : "",
                      "\"");
}

absl::Status CheckInput(int i, const std::string& path, const engine::CompiledJob& job,
                        const JobSpecChecks& checks) {
  const std::string field = absl::StrCat("inputs[", i, "]");
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": is empty"));
  if (path.size() > 4096 || path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid path"));
  }
  if (path.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", Shown(path),
        " is not an absolute path (workers would resolve it against their own directory)"));
  }
  if (checks.data_roots != nullptr) {
    TS_RETURN_IF_ERROR(checks.check_inputs ? checks.data_roots->Check(path, field)
                                           : checks.data_roots->CheckLexically(path, field));
  }
  if (!checks.check_inputs) return absl::OkStatus();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return absl::NotFoundError(absl::StrCat(field, ": ", Shown(path), " does not exist"));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", Shown(path), " is not a regular file"));
  }
  if (access(path.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(field, ": ", Shown(path), " is not readable by the coordinator"));
  }
  auto header = engine::ReadHeader(path);
  if (!header.ok()) {
    return absl::Status(header.status().code(),
                        absl::StrCat(field, ": ", header.status().message()));
  }
  absl::Status columns = engine::CheckHeader(job, path, header->columns);
  if (!columns.ok()) {
    return absl::Status(columns.code(), absl::StrCat(field, ": ", columns.message()));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(const std::string& field, int count, int limit, const char* flag) {
  if (count <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", count, " given, at most ", limit,
                                                 " (the coordinator's ", flag, ")"));
}

absl::Status CheckExpression(const std::string& field, const std::string& text, int limit) {
  if (static_cast<int>(text.size()) <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", text.size(), " characters, at most ",
                                                 limit,
                                                 " (the coordinator's --max-expression-bytes)"));
}

absl::Status CheckPolicySize(const v1::Policy& policy, const JobLimits& limits) {
  TS_RETURN_IF_ERROR(
      CheckCount("criteria", policy.criteria_size(), limits.criteria, "--max-criteria"));
  TS_RETURN_IF_ERROR(
      CheckCount("tiers", policy.tiers_size(), limits.tier_schemes, "--max-tier-schemes"));
  for (int i = 0; i < policy.criteria_size(); ++i) {
    TS_RETURN_IF_ERROR(CheckExpression(absl::StrCat("criteria[", i, "].expr"),
                                       policy.criteria(i).expr(), limits.expression_bytes));
  }
  return absl::OkStatus();
}

absl::Status CheckKpiSize(const v1::KpiSpec& kpis, const JobLimits& limits) {
  TS_RETURN_IF_ERROR(CheckCount("grouping_sets", kpis.grouping_sets_size(), limits.grouping_sets,
                                "--max-grouping-sets"));
  TS_RETURN_IF_ERROR(CheckCount("metrics", kpis.metrics_size(), limits.metrics, "--max-metrics"));
  for (int i = 0; i < kpis.metrics_size(); ++i) {
    const v1::Metric& m = kpis.metrics(i);
    const std::string field = absl::StrCat("metrics[", i, "]");
    TS_RETURN_IF_ERROR(CheckExpression(field + ".expr", m.expr(), limits.expression_bytes));
    TS_RETURN_IF_ERROR(CheckExpression(field + ".num", m.num(), limits.expression_bytes));
    TS_RETURN_IF_ERROR(CheckExpression(field + ".den", m.den(), limits.expression_bytes));
    TS_RETURN_IF_ERROR(CheckExpression(field + ".filter", m.filter(), limits.expression_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

// An error of a part that came as text names the text first.
absl::Status In(const std::string& source, const absl::Status& status) {
  if (status.ok() || source.empty()) return status;
  return absl::Status(status.code(), absl::StrCat(source, ": ", status.message()));
}

absl::StatusOr<v1::JobSpec> PrepareJobSpec(v1::JobSpec spec, const JobSpecChecks& checks) {
  Sources sources;
  TS_RETURN_IF_ERROR(ResolveTexts(spec, sources));
  TS_RETURN_IF_ERROR(In(sources.policy, CheckPolicySize(spec.policy(), checks.limits)));
  TS_RETURN_IF_ERROR(In(sources.kpis, CheckKpiSize(spec.kpis(), checks.limits)));
  TS_RETURN_IF_ERROR(CheckCount("inputs", spec.inputs_size() + spec.datasets_size(),
                                checks.limits.inputs, "--max-inputs"));
  if (!spec.has_policy()) {
    return absl::InvalidArgumentError("policy: is required (as a message or as policy_text)");
  }
  TS_RETURN_IF_ERROR(In(sources.policy, engine::CompilePolicy(spec.policy()).status()));
  auto compiled = engine::CompileJob(spec.policy(), spec.kpis());
  if (!compiled.ok()) return In(sources.kpis, compiled.status());
  if (spec.split_bytes() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "split_bytes: must be 0 (chosen for the job) or positive, got ", spec.split_bytes()));
  }
  TS_RETURN_IF_ERROR(CheckPublishing(spec, checks));
  TS_RETURN_IF_ERROR(ResolveDatasets(spec, checks));
  if (spec.inputs_size() == 0) {
    return absl::InvalidArgumentError("inputs: at least one input file or dataset is required");
  }
  absl::flat_hash_map<std::string, int> seen;
  for (int i = 0; i < spec.inputs_size(); ++i) {
    if (auto [it, fresh] = seen.try_emplace(spec.inputs(i), i); !fresh) {
      return absl::InvalidArgumentError(absl::StrCat("inputs[", i, "]: ", Shown(spec.inputs(i)),
                                                     " is listed twice (also inputs[", it->second,
                                                     "])"));
    }
    TS_RETURN_IF_ERROR(CheckInput(i, spec.inputs(i), **compiled, checks));
  }
  return spec;
}

}  // namespace tierscore::coordinator
