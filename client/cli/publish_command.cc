// tierscore publish: publish again a job whose publication failed.
#include <cstdio>
#include <memory>
#include <string>

#include "client/cli/commands.h"
#include "tierscore/client.h"

namespace tierscore::client::cli {

Command AddPublishCommand(CLI::App& app) {
  struct Flags {
    std::string target;
    std::string job;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("publish", "Publish again a job whose publication failed");
  cmd->add_option("--target", f->target, "Coordinator host:port")->required();
  cmd->add_option("job", f->job, "Job id")->required();

  return {cmd, [f] {
            auto client = Client::Create({.target = f->target});
            if (!client.ok()) return Fail(client.status());
            auto job = (*client)->Attach(f->job).Publish();
            if (!job.ok()) return Fail(job.status());
            const auto& pub = job->result().publication();
            if (!pub.published()) return Fail(absl::UnavailableError(pub.error()));
            std::printf("published run %s as %s (%lld records)\n", pub.run_id().c_str(),
                        pub.alias().c_str(), static_cast<long long>(pub.records()));
            return 0;
          }};
}

}  // namespace tierscore::client::cli
