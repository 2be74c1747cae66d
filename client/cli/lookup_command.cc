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
namespace {

// customer_id, found, run_id, score, value, percentile, then per scheme its
// tier and the previous tier.
std::vector<std::string> LookupHeader(const std::vector<CustomerTiers>& found) {
  std::vector<std::string> header = {"customer_id", "found", "run_id",
                                     "score",       "value", "percentile"};
  for (const CustomerTiers& c : found) {
    if (!c.found) continue;
    for (const SchemeTier& t : c.tiers) {
      header.push_back(t.scheme);
      header.push_back(t.scheme + "_previous");
    }
    break;
  }
  return header;
}

std::vector<std::vector<std::string>> LookupRows(const std::vector<CustomerTiers>& found) {
  std::vector<std::vector<std::string>> rows;
  for (const CustomerTiers& c : found) {
    std::vector<std::string> row = {c.customer_id, c.found ? "true" : "false", c.run_id};
    if (c.found) {
      for (double v : {c.score, c.value, c.percentile}) row.push_back(Number(v));
      for (const SchemeTier& t : c.tiers) {
        row.push_back(t.tier);
        row.push_back(t.previous_tier);
      }
    }
    rows.push_back(std::move(row));
  }
  const size_t width = LookupHeader(found).size();
  for (auto& row : rows) row.resize(width);  // customers not found: empty cells
  return rows;
}

// A JSON array with typed values; a customer not found has only its id and
// "found": false.
std::string LookupJson(const std::vector<CustomerTiers>& found) {
  std::string out = "[";
  for (size_t i = 0; i < found.size(); ++i) {
    const CustomerTiers& c = found[i];
    absl::StrAppend(&out, i ? "," : "", "{\"customer_id\":", JsonString(c.customer_id),
                    ",\"found\":", c.found ? "true" : "false");
    if (c.found) {
      absl::StrAppend(&out, ",\"run_id\":", JsonString(c.run_id), ",\"score\":", Number(c.score),
                      ",\"value\":", Number(c.value), ",\"percentile\":", Number(c.percentile),
                      ",\"cum_before_share\":", Number(c.cum_before_share), ",\"tiers\":{");
      for (size_t s = 0; s < c.tiers.size(); ++s) {
        const SchemeTier& t = c.tiers[s];
        absl::StrAppend(&out, s ? "," : "", JsonString(t.scheme), ":{\"tier\":", JsonString(t.tier),
                        ",\"earned_tier\":", JsonString(t.earned_tier));
        if (t.compared) absl::StrAppend(&out, ",\"previous_tier\":", JsonString(t.previous_tier));
        out += "}";
      }
      out += "}";
    }
    out += "}";
  }
  return out + "]\n";
}

}  // namespace

Command AddLookupCommand(CLI::App& app) {
  struct Flags {
    RemoteFlags remote;
    std::string alias, run;
    std::vector<std::string> ids;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("lookup", "Look customers' tiers up in a published run");
  AddRemoteFlags(cmd, &f->remote);
  auto* alias = cmd->add_option("--alias", f->alias,
                                absl::StrCat("Alias (default ", common::kDefaultAlias, ")"));
  cmd->add_option("--run", f->run, "Run id instead of an alias")->excludes(alias);
  cmd->add_option("ids", f->ids, "Customer ids (at most 1000)")->required();

  return {
      cmd, [f] {
        auto client = f->remote.Connect();
        if (!client.ok()) return Fail(client.status());
        auto found = (*client)->BatchLookup(
            f->run.empty() ? RunRef::Alias(common::AliasOrDefault(f->alias)) : RunRef::Run(f->run),
            f->ids);
        if (!found.ok()) return Fail(found.status());
        if (f->remote.output() == Format::kTable) {
          std::cout << FormatLookup(*found);
        } else if (f->remote.output() == Format::kJson) {
          std::cout << LookupJson(*found);
        } else {
          std::cout << Render(LookupHeader(*found), LookupRows(*found), f->remote.output());
        }
        int missing = 0;
        for (const CustomerTiers& c : *found) missing += c.found ? 0 : 1;
        return missing > 0 ? static_cast<int>(kNotFound) : static_cast<int>(kOk);
      }};
}

}  // namespace tierscore::client::cli
