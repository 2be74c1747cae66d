// tierscore status | watch | jobs | cancel | kpis | results: a coordinator's
// jobs, by id.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cli/commands.h"
#include "client/output.h"
#include "client/progress.h"
#include "common/files.h"

namespace tierscore::client::cli {
namespace {

std::string StateName(v1::JobState s) {
  std::string name = v1::JobState_Name(s);
  return absl::AsciiStrToLower(name.substr(std::string("JOB_STATE_").size()));
}

std::string Time(double unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S",
                          absl::FromUnixMicros(static_cast<int64_t>(unix_seconds * 1e6)),
                          absl::LocalTimeZone());
}

const std::vector<std::string> kJobHeader = {"id",   "state",   "phase",     "splits",
                                             "rows", "seconds", "submitted", "error"};

std::vector<std::string> JobRow(const v1::Job& job) {
  const v1::JobProgress& p = job.progress();
  return {job.id(),
          StateName(job.state()),
          p.phase(),
          absl::StrCat(p.splits_done(), "/", p.splits_total()),
          absl::StrCat(p.rows()),
          absl::StrFormat("%.1f", p.elapsed_seconds()),
          Time(job.submitted_unix()),
          job.error().substr(0, 200)};
}

// A job by id, for the commands below: flags and the handle.
struct JobFlags {
  RemoteFlags remote;
  std::string id;
};

CLI::App* JobCommand(CLI::App& app, const char* name, const char* help, JobFlags* f) {
  CLI::App* cmd = app.add_subcommand(name, help);
  AddRemoteFlags(cmd, &f->remote);
  cmd->add_option("job", f->id, "Job id")->required();
  return cmd;
}

void PrintJob(const v1::Job& job, Format format) {
  if (format == Format::kJson) {
    std::cout << Json(job);
    return;
  }
  if (format == Format::kCsv) {
    std::cout << Render(kJobHeader, {JobRow(job)}, format);
    return;
  }
  const v1::JobProgress& p = job.progress();
  std::cout << "job " << job.id() << ": " << StateName(job.state());
  if (!p.phase().empty()) {
    std::cout << absl::StrFormat(" (phase %s, splits %d/%d, %d rows, %.1f s)", p.phase(),
                                 p.splits_done(), p.splits_total(), p.rows(), p.elapsed_seconds());
  }
  std::cout << "\nsubmitted " << Time(job.submitted_unix()) << "\n";
  if (!job.error().empty()) std::cout << "error: " << job.error() << "\n";
  if (!job.cached_from().empty()) std::cout << "the result of " << job.cached_from() << "\n";
  if (job.state() == v1::JOB_STATE_SUCCEEDED) {
    std::cout << "\n" << FormatTierSummary(job.result());
    const auto& pub = job.result().publication();
    if (pub.published()) {
      std::cout << "\npublished as " << pub.alias() << " (run " << pub.run_id() << ")\n";
    } else if (!pub.error().empty()) {
      std::cout << "\nnot published: " << pub.error() << "\n";
    }
  }
}

Command Status(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  CLI::App* cmd = JobCommand(app, "status", "A job's state, progress and summary", f.get());
  return {cmd, [f] {
            auto client = f->remote.Connect();
            if (!client.ok()) return Fail(client.status());
            auto job = (*client)->Attach(f->id).Get();
            if (!job.ok()) return Fail(job.status());
            PrintJob(*job, f->remote.output());
            return static_cast<int>(kOk);
          }};
}

Command Watch(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  CLI::App* cmd = JobCommand(app, "watch", "Follow a job to its end", f.get());
  return {cmd, [f] {
            auto client = f->remote.Connect();
            if (!client.ok()) return Fail(client.status());
            const Format format = f->remote.output();
            absl::StatusOr<v1::Job> job;
            bool header = false;
            {
              ProgressBar bar;
              job = (*client)->Attach(f->id).Wait([&](const v1::Job& j) {
                if (format == Format::kTable) {
                  bar.Update(j);
                } else if (format == Format::kJson) {
                  std::cout << Json(j) << std::flush;
                } else {
                  std::string csv = Render(kJobHeader, {JobRow(j)}, format);
                  if (header) csv = csv.substr(csv.find('\n') + 1);
                  header = true;
                  std::cout << csv << std::flush;
                }
              });
            }
            if (!job.ok()) return Fail(job.status());
            if (format == Format::kTable) PrintJob(*job, format);
            return JobExit(*job);
          }};
}

Command Cancel(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  CLI::App* cmd = JobCommand(app, "cancel", "Cancel a queued or running job", f.get());
  return {cmd, [f] {
            auto client = f->remote.Connect();
            if (!client.ok()) return Fail(client.status());
            auto job = (*client)->Attach(f->id).Cancel();
            if (!job.ok()) return Fail(job.status());
            if (f->remote.output() == Format::kTable) {
              const v1::JobState state = job->state();
              std::cout << "job " << job->id() << ": "
                        << (state == v1::JOB_STATE_CANCELLED ? "cancelled"
                            : state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED
                                ? "already " + StateName(state)
                                : "cancelling (it was " + StateName(state) + ")")
                        << "\n";
            } else {
              PrintJob(*job, f->remote.output());
            }
            return static_cast<int>(kOk);
          }};
}

Command Kpis(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  CLI::App* cmd = JobCommand(app, "kpis", "A succeeded job's KPI table and migration", f.get());
  auto migration = std::make_shared<bool>(false);
  cmd->add_flag("--migration", *migration, "The migration matrices instead of the KPI table");
  return {cmd, [f, migration] {
            auto client = f->remote.Connect();
            if (!client.ok()) return Fail(client.status());
            auto kpis = (*client)->Attach(f->id).Kpis();
            if (!kpis.ok()) return Fail(kpis.status());
            if (*migration && kpis->migration_size() == 0) {
              std::cerr << "tierscore: job " << f->id
                        << " was not compared with a previous run: no migration\n";
            }
            switch (f->remote.output()) {
              case Format::kJson:
                if (*migration) {
                  v1::KpiTable only;
                  *only.mutable_migration() = kpis->migration();
                  std::cout << Json(only);
                } else {
                  std::cout << Json(*kpis);
                }
                break;
              case Format::kCsv:
                std::cout << (*migration ? MigrationCsv(*kpis) : KpiTableCsv(*kpis));
                break;
              case Format::kTable:
                std::cout << (*migration ? FormatMigration(*kpis) : FormatKpiTable(*kpis));
                break;
            }
            return static_cast<int>(kOk);
          }};
}

// One typed row as a JSON object: {"customer_id", "score", "tiers":
// {scheme: tier}, "value", "contributions": {criterion: value}}.
std::string RowJson(const v1::ResultRow& row, const ResultColumns& columns) {
  std::string out = absl::StrCat("{\"customer_id\":", JsonString(row.customer_id()),
                                 ",\"score\":", Number(row.score()), ",\"tiers\":{");
  for (size_t s = 0; s < columns.schemes.size() && s < static_cast<size_t>(row.tiers_size()); ++s) {
    absl::StrAppend(&out, s ? "," : "", JsonString(columns.schemes[s]), ":",
                    JsonString(row.tiers(static_cast<int>(s))));
  }
  absl::StrAppend(&out, "},\"value\":", Number(row.value()));
  if (row.contributions_size() > 0) {
    out += ",\"contributions\":{";
    for (size_t c = 0;
         c < columns.criteria.size() && c < static_cast<size_t>(row.contributions_size()); ++c) {
      absl::StrAppend(&out, c ? "," : "", JsonString(columns.criteria[c]), ":",
                      Number(row.contributions(static_cast<int>(c))));
    }
    out += "}";
  }
  return out + "}\n";
}

Command Results(CLI::App& app) {
  struct Flags {
    JobFlags job;
    std::string out;
    bool explain = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = JobCommand(
      app, "results",
      "A succeeded job's per-customer results: CSV (table or csv), or JSON lines (json)", &f->job);
  cmd->add_option("--out", f->out, "Write to this file (atomically) instead of stdout");
  cmd->add_flag("--explain", f->explain, "Add each criterion's contribution");
  return {cmd, [f] {
            auto client = f->job.remote.Connect();
            if (!client.ok()) return Fail(client.status());
            const Job job = (*client)->Attach(f->job.id);
            std::unique_ptr<common::AtomicFile> file;
            if (!f->out.empty()) {
              auto created = common::AtomicFile::Create(f->out);
              if (!created.ok()) return Fail(created.status());
              file = *std::move(created);
            }
            auto write = [&](std::string_view text) -> absl::Status {
              if (file != nullptr) return file->Append(text);
              std::fwrite(text.data(), 1, text.size(), stdout);
              return absl::OkStatus();
            };
            absl::Status st;
            if (f->job.remote.output() == Format::kJson) {
              ResultColumns columns;
              st = job.Rows(
                  f->explain, [&](const v1::ResultRow& r) { return write(RowJson(r, columns)); },
                  &columns);
            } else {
              st = job.Csv(f->explain, write);
            }
            if (st.ok() && file != nullptr) st = file->Commit();
            if (!st.ok()) return Fail(st);
            return static_cast<int>(kOk);
          }};
}

Command Jobs(CLI::App& app) {
  struct Flags {
    RemoteFlags remote;
    std::vector<std::string> states;
    std::string alias;
    std::string since;
    int limit = 50;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("jobs", "A coordinator's jobs, newest first");
  AddRemoteFlags(cmd, &f->remote);
  cmd->add_option("--state", f->states, "Only jobs in this state; repeatable")
      ->check(CLI::IsMember({"queued", "running", "succeeded", "failed", "cancelled"}));
  cmd->add_option("--alias", f->alias, "Only jobs that name this alias");
  cmd->add_option("--since", f->since, "Only jobs submitted this long ago or later (e.g. 24h)");
  cmd->add_option("--limit", f->limit, "At most this many jobs")->capture_default_str();
  return {cmd, [f] {
            v1::ListJobsRequest req;
            for (const std::string& s : f->states) {
              v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
              v1::JobState_Parse("JOB_STATE_" + absl::AsciiStrToUpper(s), &state);
              req.add_states(state);
            }
            req.set_alias(f->alias);
            if (!f->since.empty()) {
              absl::Duration ago;
              if (!absl::ParseDuration(f->since, &ago) || ago < absl::ZeroDuration()) {
                return Fail(UsageError(
                    absl::StrCat("--since: \"", f->since, "\" is not a duration like 90m or 24h")));
              }
              req.set_submitted_after_unix(
                  absl::ToDoubleSeconds(absl::Now() - ago - absl::UnixEpoch()));
            }
            if (f->limit < 1) return Fail(UsageError("--limit: must be 1 or more"));
            auto client = f->remote.Connect();
            if (!client.ok()) return Fail(client.status());
            v1::ListJobsResponse all;
            do {
              req.set_page_size(std::min(f->limit - all.jobs_size(), 1000));
              auto page = (*client)->ListJobs(req);
              if (!page.ok()) return Fail(page.status());
              for (auto& j : *page->mutable_jobs()) *all.add_jobs() = std::move(j);
              req.set_page_token(page->next_page_token());
            } while (!req.page_token().empty() && all.jobs_size() < f->limit);
            all.set_next_page_token(req.page_token());  // more jobs than --limit
            if (f->remote.output() == Format::kJson) {
              std::cout << Json(all);
            } else {
              std::vector<std::vector<std::string>> rows;
              for (const auto& j : all.jobs()) rows.push_back(JobRow(j));
              std::cout << Render(kJobHeader, rows, f->remote.output());
            }
            return static_cast<int>(kOk);
          }};
}

}  // namespace

std::vector<Command> AddJobCommands(CLI::App& app) {
  return {Status(app), Watch(app), Jobs(app), Cancel(app), Kpis(app), Results(app)};
}

}  // namespace tierscore::client::cli
