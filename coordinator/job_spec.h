#ifndef TIERSCORE_COORDINATOR_JOB_SPEC_H_
#define TIERSCORE_COORDINATOR_JOB_SPEC_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/data_roots.h"
#include "tierscore/v1/job.pb.h"

namespace tierscore::coordinator {

// How large a job may be; each is a coordinator flag (coordinator_main.cc).
// Larger specs are INVALID_ARGUMENT naming the field and the limit.
struct JobLimits {
  int criteria = 64;            // criteria per policy
  int tier_schemes = 16;        // tier schemes per policy
  int grouping_sets = 64;       // grouping sets per KPI spec
  int metrics = 256;            // metrics per KPI spec
  int inputs = 4096;            // inputs and datasets per job
  int expression_bytes = 4096;  // one expression or filter
};

struct JobSpecChecks {
  // The coordinator has a store, so a job may publish.
  bool has_store = false;
  // The coordinator sees the inputs at the paths the workers read them
  // from (a shared volume): each is checked to exist, be a readable file
  // and have every column the job uses.
  bool check_inputs = true;
  // The file of an uploaded dataset (DatasetStore::PathOf), NOT_FOUND
  // naming `field`; null: this coordinator keeps no datasets.
  std::function<absl::StatusOr<std::string>(const std::string& name, const std::string& field)>
      dataset_path;
  // Where inputs may be read from (borrowed; null: anywhere). Checked in
  // full with check_inputs, else lexically.
  const common::DataRoots* data_roots = nullptr;
  JobLimits limits{};
};

// A submitted spec made ready to run, or the first thing wrong with it:
// policy_text and kpis_text are parsed (common/config_loader.h, with the
// text's name in errors) into policy and kpis and cleared; the policy and
// KPI spec compile (every enum set and known); split_bytes is not
// negative; publishing is explicit (an alias, or no_publish) and possible;
// datasets are resolved to their files (appended to inputs); every input
// is an absolute path and passes `checks`.
//
// Errors: INVALID_ARGUMENT naming the field (and, for text, its line and
// column); NOT_FOUND naming an input that does not exist or lacks a
// column; FAILED_PRECONDITION for an alias on a coordinator without a store.
// Pure apart from reading the inputs' headers; thread-safe.
absl::StatusOr<v1::JobSpec> PrepareJobSpec(v1::JobSpec spec, const JobSpecChecks& checks);

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_JOB_SPEC_H_
