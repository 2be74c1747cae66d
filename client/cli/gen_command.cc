// tierscore gen: a deterministic, realistic customer base.
#include <cstdio>
#include <memory>
#include <string>

#include "client/cli/commands.h"
#include "engine/generator.h"

namespace tierscore::client::cli {

Command AddGenCommand(CLI::App& app) {
  struct Flags {
    engine::GeneratorOptions gen;
    std::string out;
    std::string profile = "realistic";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("gen", "Generate a realistic customer base");
  cmd->add_option("--rows", f->gen.rows, "Customers to generate")->required();
  cmd->add_option("--seed", f->gen.seed, "Random seed (same seed, same file)");
  cmd->add_option("--out", f->out, "Output CSV (.gz to compress)")->required();
  cmd->add_option("--profile", f->profile, "realistic, ties (few distinct values) or zeros")
      ->check(CLI::IsMember({"realistic", "ties", "zeros"}));

  return {cmd, [f] {
            if (f->profile == "ties") f->gen.distinct_values = 20;
            if (f->profile == "zeros") f->gen.extra_zero_share = 0.5;
            absl::Status st = engine::GenerateCustomers(f->gen, f->out);
            if (!st.ok()) return Fail(st);
            std::printf("wrote %lld customers to %s\n", static_cast<long long>(f->gen.rows),
                        f->out.c_str());
            return 0;
          }};
}

}  // namespace tierscore::client::cli
