// tierscore upload | datasets: CSV files kept by the coordinator for jobs.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/commands.h"
#include "client/output.h"

namespace tierscore::client::cli {
namespace {

const std::vector<std::string> kHeader = {"name", "complete", "bytes", "gzip", "columns", "path"};

std::vector<std::string> Row(const v1::Dataset& d) {
  return {d.name(),
          d.complete() ? "yes" : (d.uploading() ? "uploading" : "no"),
          absl::StrCat(d.bytes()),
          d.gzip() ? "yes" : "no",
          absl::StrCat(d.columns_size()),
          d.path()};
}

Command Upload(CLI::App& app) {
  struct Flags {
    RemoteFlags remote;
    std::string name, file;
    bool gzip = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "upload", "Upload a CSV file as a dataset jobs can name (--dataset); resumes if interrupted");
  AddRemoteFlags(cmd, &f->remote);
  cmd->add_option("name", f->name, "Dataset name (letters, digits, . _ -)")->required();
  cmd->add_option("file", f->file, "CSV file, optionally gzip-compressed")->required();
  cmd->add_flag("--gzip", f->gzip, "The file is gzip-compressed (default: by a .gz suffix)");
  return {
      cmd, [f] {
        auto client = f->remote.Connect();
        if (!client.ok()) return Fail(client.status());
        UploadOptions options;
        options.gzip = f->gzip;
        const bool tty = f->remote.output() == Format::kTable && isatty(fileno(stderr));
        if (tty) {
          options.on_progress = [](int64_t sent, int64_t total) {
            std::fprintf(
                stderr, "\r  %s of %s (%.0f%%)  ", Human(static_cast<double>(sent)).c_str(),
                Human(static_cast<double>(total)).c_str(),
                total > 0 ? 100.0 * static_cast<double>(sent) / static_cast<double>(total) : 100.0);
          };
        }
        auto dataset = (*client)->UploadDataset(f->name, f->file, options);
        if (tty) std::fprintf(stderr, "\r\033[K");
        if (!dataset.ok()) return Fail(dataset.status());
        if (f->remote.output() == Format::kJson) {
          std::cout << Json(*dataset);
        } else if (f->remote.output() == Format::kCsv) {
          std::cout << Render(kHeader, {Row(*dataset)}, Format::kCsv);
        } else {
          std::cout << absl::StrFormat("uploaded %s: %d bytes, columns %s\n", dataset->name(),
                                       dataset->bytes(), absl::StrJoin(dataset->columns(), ", "));
        }
        return static_cast<int>(kOk);
      }};
}

Command Datasets(CLI::App& app) {
  struct Flags {
    RemoteFlags remote;
    std::string remove;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("datasets", "List the uploaded datasets, or delete one");
  AddRemoteFlags(cmd, &f->remote);
  cmd->add_option("--delete", f->remove, "Delete this dataset (jobs reading it keep their copy)");
  return {cmd, [f] {
            auto client = f->remote.Connect();
            if (!client.ok()) return Fail(client.status());
            if (!f->remove.empty()) {
              absl::Status st = (*client)->DeleteDataset(f->remove);
              if (!st.ok()) return Fail(st);
              if (f->remote.output() == Format::kTable) {
                std::cout << "deleted " << f->remove << "\n";
              }
              return static_cast<int>(kOk);
            }
            auto list = (*client)->ListDatasets();
            if (!list.ok()) return Fail(list.status());
            if (f->remote.output() == Format::kJson) {
              std::cout << Json(*list);
              return static_cast<int>(kOk);
            }
            std::vector<std::vector<std::string>> rows;
            for (const auto& d : list->datasets()) rows.push_back(Row(d));
            std::cout << Render(kHeader, rows, f->remote.output());
            return static_cast<int>(kOk);
          }};
}

}  // namespace

std::vector<Command> AddDatasetCommands(CLI::App& app) { return {Upload(app), Datasets(app)}; }

}  // namespace tierscore::client::cli
