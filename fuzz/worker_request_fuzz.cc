// libFuzzer: every request a worker accepts (the first byte picks the
// method, the rest is the request in protobuf wire format) against a
// WorkerCore whose inputs are confined to a directory that holds nothing:
// each answers a status, nothing crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/data_roots.h"
#include "worker/worker_core.h"

namespace {

template <typename Request, typename Method>
void Call(const uint8_t* data, size_t size, Method method) {
  Request request;
  if (request.ParseFromArray(data, static_cast<int>(size))) (void)method(request);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static char empty[] = "/tmp/tierscore-fuzz-XXXXXX";  // a root holding nothing
  namespace v1 = tierscore::v1;
  using tierscore::worker::WorkerCore;
  static WorkerCore* core =
      WorkerCore::Create({.threads = 1,
                          .store = nullptr,
                          .data_roots = *tierscore::common::DataRoots::Create({mkdtemp(empty)}),
                          .max_decompressed_bytes = 1 << 20})
          .release();
  if (size == 0) return 0;
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  switch (data[0] % 9) {
    case 0:
      Call<v1::ScanRequest>(body, n, [](auto& r) { return core->Scan(r); });
      break;
    case 1:
      Call<v1::LoadRequest>(body, n, [](auto& r) { return core->Load(r); });
      break;
    case 2:
      Call<v1::ScoreRequest>(body, n, [](auto& r) { return core->Score(r); });
      break;
    case 3:
      Call<v1::ProbeRequest>(body, n, [](auto& r) { return core->Probe(r); });
      break;
    case 4:
      Call<v1::AssignRequest>(body, n, [](auto& r) { return core->Assign(r); });
      break;
    case 5:
      Call<v1::ExportRequest>(body, n, [](auto& r) { return core->Export(r); });
      break;
    case 6:
      Call<v1::PublishRequest>(body, n, [](auto& r) { return core->Publish(r); });
      break;
    case 7:
      Call<v1::CheckIdsRequest>(body, n, [](auto& r) { return core->CheckIds(r); });
      break;
    default:
      Call<v1::ReleaseRequest>(body, n, [](auto& r) { return core->Release(r); });
      break;
  }
  return 0;
}
