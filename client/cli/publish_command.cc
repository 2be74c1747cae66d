// tierscore publish: publish again a job whose publication failed.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/commands.h"
#include "tierscore/client.h"

namespace tierscore::client::cli {

Command AddPublishCommand(CLI::App& app) {
  struct Flags {
    RemoteFlags remote;
    std::string job;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("publish", "Publish again a job whose publication failed");
  AddRemoteFlags(cmd, &f->remote);
  cmd->add_option("job", f->job, "Job id")->required();

  return {cmd, [f] {
            auto client = f->remote.Connect();
            if (!client.ok()) return Fail(client.status());
            auto job = (*client)->Attach(f->job).Publish();
            if (!job.ok()) return Fail(job.status());
            const auto& pub = job->result().publication();
            if (!pub.published()) {
              return Fail(absl::Status(pub.error_code() != 0
                                           ? static_cast<absl::StatusCode>(pub.error_code())
                                           : absl::StatusCode::kUnavailable,
                                       pub.error()));
            }
            if (f->remote.output() == Format::kJson) {
              std::cout << Json(*job);
              return 0;
            }
            std::printf("published run %s as %s (%lld records)\n", pub.run_id().c_str(),
                        pub.alias().c_str(), static_cast<long long>(pub.records()));
            return 0;
          }};
}

}  // namespace tierscore::client::cli
