// The single-process reference (engine/reference.h) of a job, as a results
// CSV with the columns compare_results reads: customer_id and one column of
// tier names per scheme.
//   reference_results POLICY.yaml OUT.csv INPUT.csv...
#include <cstdio>
#include <string>
#include <vector>

#include "common/config_loader.h"
#include "common/files.h"
#include "engine/job.h"
#include "engine/reference.h"
#include "engine/results_csv.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s POLICY.yaml OUT.csv INPUT.csv...\n", argv[0]);
    return 2;
  }
  namespace engine = tierscore::engine;
  tierscore::v1::Policy policy;
  absl::Status st = tierscore::common::LoadYamlFile(argv[1], &policy);
  auto job = st.ok() ? engine::CompileJob(policy, {}) : st;
  if (!job.ok()) {
    std::fprintf(stderr, "%s\n", std::string(job.status().message()).c_str());
    return 2;
  }
  auto ref = engine::RunReference(**job, std::vector<std::string>(argv + 3, argv + argc));
  if (!ref.ok()) {
    std::fprintf(stderr, "%s\n", std::string(ref.status().message()).c_str());
    return 1;
  }
  const auto& schemes = (*job)->policy.schemes;
  std::string out = "customer_id";
  for (const auto& s : schemes) out += "," + s.name;
  out += '\n';
  for (size_t i = 0; i < ref->ids.size(); ++i) {
    engine::AppendCsvField(ref->ids[i], &out);
    for (size_t s = 0; s < schemes.size(); ++s) {
      out += ',';
      engine::AppendCsvField(schemes[s].names[static_cast<size_t>(ref->tiers[s][i])], &out);
    }
    out += '\n';
  }
  st = tierscore::common::WriteFileAtomically(argv[2], out);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}
