// tierscore lookup: customers' tiers in a published run.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli/commands.h"
#include "client/output.h"
#include "common/defaults.h"
#include "tierscore/client.h"

namespace tierscore::client::cli {

Command AddLookupCommand(CLI::App& app) {
  struct Flags {
    std::string target, alias, run;
    std::vector<std::string> ids;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("lookup", "Look customers' tiers up in a published run");
  cmd->add_option("--target", f->target, "Coordinator host:port")->required();
  auto* alias = cmd->add_option("--alias", f->alias,
                                absl::StrCat("Alias (default ", common::kDefaultAlias, ")"));
  cmd->add_option("--run", f->run, "Run id instead of an alias")->excludes(alias);
  cmd->add_option("ids", f->ids, "Customer ids (at most 1000)")->required();

  return {
      cmd, [f] {
        auto client = Client::Create({.target = f->target});
        if (!client.ok()) return Fail(client.status());
        auto found = (*client)->BatchLookup(
            f->run.empty() ? RunRef::Alias(common::AliasOrDefault(f->alias)) : RunRef::Run(f->run),
            f->ids);
        if (!found.ok()) return Fail(found.status());
        std::cout << FormatLookup(*found);
        return 0;
      }};
}

}  // namespace tierscore::client::cli
