// libFuzzer: a SubmitJob request (a JobSpec in protobuf wire format, as any
// client may send) through every check the coordinator makes before it
// accepts a job (PrepareJobSpec), with inputs confined to a directory that
// holds nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/data_roots.h"
#include "coordinator/job_spec.h"
#include "tierscore/v1/job.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static char empty[] = "/tmp/tierscore-fuzz-XXXXXX";  // a root holding nothing
  static const tierscore::common::DataRoots roots =
      *tierscore::common::DataRoots::Create({mkdtemp(empty)});
  tierscore::v1::JobSpec spec;
  if (!spec.ParseFromArray(data, static_cast<int>(size))) return 0;
  tierscore::coordinator::JobSpecChecks checks;
  checks.has_store = true;
  checks.data_roots = &roots;
  (void)tierscore::coordinator::PrepareJobSpec(spec, checks);
  return 0;
}
