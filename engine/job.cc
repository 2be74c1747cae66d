#include "engine/job.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "engine/tiering.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace tierscore::engine {

std::string ComputationKey(const v1::JobSpec& spec) {
  std::string key;
  {
    google::protobuf::io::StringOutputStream stream(&key);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    spec.policy().SerializeToCodedStream(&out);
    spec.kpis().SerializeToCodedStream(&out);
  }
  return key;
}
namespace {

// Adds the columns `e` reads, remembering where each use came from.
struct Use {
  ColumnRequest column;
  std::string field;
};

void AddUses(const Expr* e, const std::string& field, std::vector<Use>* uses) {
  if (e == nullptr) return;
  std::vector<ColumnRequest> cols;
  e->CollectColumns(&cols);
  for (auto& c : cols) uses->push_back({std::move(c), field});
}

const char* TypeName(ColumnType t) { return t == ColumnType::kText ? "text" : "a number"; }

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledJob>> CompileJob(const v1::Policy& policy,
                                                              const v1::KpiSpec& kpis) {
  auto job = std::make_shared<CompiledJob>();
  TS_ASSIGN_OR_RETURN(job->policy, CompilePolicy(policy));
  auto compiled_kpis = CompileKpis(kpis, job->policy);
  if (!compiled_kpis.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("kpis: ", compiled_kpis.status().message()));
  }
  job->kpis = *std::move(compiled_kpis);

  std::vector<Use> uses;
  AddUses(job->policy.value.get(), "policy.value", &uses);
  for (size_t i = 0; i < job->policy.criteria.size(); ++i) {
    AddUses(job->policy.criteria[i].expr.get(), absl::StrCat("policy.criteria[", i, "].expr"),
            &uses);
  }
  for (size_t i = 0; i < job->kpis.metrics.size(); ++i) {
    const CompiledMetric& m = job->kpis.metrics[i];
    const std::string field = absl::StrCat("kpis.metrics[", i, "] (", m.name, ")");
    AddUses(m.expr.get(), field, &uses);
    AddUses(m.den.get(), field, &uses);
    AddUses(m.filter.get(), field, &uses);
  }
  for (const Dim& d : job->kpis.dims) {
    if (!d.tier) {
      // Built in place: GCC 12 at -O3 warns (wrongly) of an uninitialised
      // string in the nested-brace temporary, which -Werror makes fatal.
      Use& use = uses.emplace_back();
      use.column.name = d.name;
      use.column.type = ColumnType::kText;
      use.field = "kpis.grouping_sets";
    }
  }
  std::vector<std::string> first_field;
  for (const Use& u : uses) {
    if (u.column.name == job->policy.id_column) {
      return absl::InvalidArgumentError(
          absl::StrCat(u.field, ": the id column \"", u.column.name,
                       "\" cannot be used in expressions or groupings"));
    }
    auto it = std::find_if(job->columns.begin(), job->columns.end(),
                           [&](const ColumnRequest& c) { return c.name == u.column.name; });
    if (it == job->columns.end()) {
      job->columns.push_back(u.column);
      first_field.push_back(u.field);
      continue;
    }
    if (it->type != u.column.type) {
      const size_t k = static_cast<size_t>(it - job->columns.begin());
      return absl::InvalidArgumentError(
          absl::StrCat("column \"", u.column.name, "\" is used as ", TypeName(it->type), " in ",
                       first_field[k], " but as ", TypeName(u.column.type), " in ", u.field));
    }
  }
  for (Dim& d : job->kpis.dims) {
    if (d.tier) continue;
    for (size_t i = 0; i < job->columns.size(); ++i) {
      if (job->columns[i].name == d.name) d.index = static_cast<int>(i);
    }
  }
  // Bind every expression to the job's column list.
  auto bind = [&](Expr* e, const std::string& field) -> absl::Status {
    if (e == nullptr) return absl::OkStatus();
    absl::Status st = e->Bind(job->columns);
    if (!st.ok()) {
      return absl::Status(st.code(), absl::StrCat(field, ": ", st.message()));
    }
    return absl::OkStatus();
  };
  TS_RETURN_IF_ERROR(bind(job->policy.value.get(), "policy.value"));
  for (size_t i = 0; i < job->policy.criteria.size(); ++i) {
    TS_RETURN_IF_ERROR(
        bind(job->policy.criteria[i].expr.get(), absl::StrCat("policy.criteria[", i, "].expr")));
  }
  for (size_t i = 0; i < job->kpis.metrics.size(); ++i) {
    CompiledMetric& m = job->kpis.metrics[i];
    const std::string field = absl::StrCat("kpis.metrics[", i, "] (", m.name, ")");
    TS_RETURN_IF_ERROR(bind(m.expr.get(), field));
    TS_RETURN_IF_ERROR(bind(m.den.get(), field));
    TS_RETURN_IF_ERROR(bind(m.filter.get(), field));
  }
  return std::shared_ptr<const CompiledJob>(std::move(job));
}

absl::Status CheckHeader(const CompiledJob& job, const std::string& path,
                         const std::vector<std::string>& header) {
  auto has = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) != header.end();
  };
  if (!has(job.policy.id_column)) {
    return absl::NotFoundError(
        absl::StrCat(path, ": id column \"", job.policy.id_column, "\" is not in the header"));
  }
  for (const ColumnRequest& c : job.columns) {
    if (!has(c.name)) {
      return absl::NotFoundError(
          absl::StrCat(path, ": column \"", c.name, "\" is not in the header"));
    }
  }
  return absl::OkStatus();
}

v1::TierSummary BuildTierSummary(const CompiledScheme& scheme,
                                 const std::vector<int64_t>& customers,
                                 const std::vector<int128>& values) {
  v1::TierSummary out;
  out.set_scheme(scheme.name);
  int64_t n = 0;
  int128 total = 0;
  for (size_t t = 0; t < scheme.names.size(); ++t) {
    n += t < customers.size() ? customers[t] : 0;
    total += t < values.size() ? values[t] : 0;
  }
  for (size_t t = 0; t < scheme.names.size(); ++t) {
    auto* row = out.add_rows();
    const int64_t c = t < customers.size() ? customers[t] : 0;
    const int128 v = t < values.size() ? values[t] : 0;
    row->set_tier(scheme.names[t]);
    row->set_customers(c);
    row->set_customer_share(n == 0 ? 0 : static_cast<double>(c) / static_cast<double>(n));
    row->set_value(MicrosToValue(v));
    row->set_value_share(total == 0 ? 0
                                    : static_cast<double>(static_cast<long double>(v) /
                                                          static_cast<long double>(total)));
  }
  return out;
}

}  // namespace tierscore::engine
