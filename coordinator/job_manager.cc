#include "coordinator/job_manager.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/enum_names.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/run_store.h"
#include "common/status_macros.h"
#include "coordinator/job_spec.h"
#include "engine/job.h"
#include "engine/results_csv.h"

namespace tierscore::coordinator {

// A finished job's per-customer results, kept on the workers: the outcome,
// the runner that made it and the workers that hold its splits (which the
// runner borrows). Shared by the exports using it; once evicted, the last
// of them to finish frees the workers' memory.
struct JobManager::Kept {
  ~Kept() {
    if (release_when_unused) runner->Release(job_id);
  }
  std::string job_id;
  std::vector<std::shared_ptr<WorkerClient>> workers;
  std::unique_ptr<JobRunner> runner;
  std::atomic<bool> release_when_unused{false};
  // Exports share it, each exporting from a copy of the outcome (a split
  // moved off a lost worker moves in the copy), so that a slow reader
  // delays no other. Publishing again changes the workers' tiers and holds
  // it alone.
  absl::Mutex mu;
  JobOutcome outcome ABSL_GUARDED_BY(mu);
};

struct JobManager::Entry {
  // Lock order: a Kept's mu, then this (publishing updates the job while it
  // holds the first).
  absl::Mutex mu;
  v1::Job job ABSL_GUARDED_BY(mu);
  std::map<int64_t, std::function<void(const v1::Job&)>> subscribers ABSL_GUARDED_BY(mu);
  int64_t next_token ABSL_GUARDED_BY(mu) = 1;
  std::shared_ptr<Kept> kept ABSL_GUARDED_BY(mu);  // null unless its results are kept
  CancelScope cancel;                              // reaches the job's worker calls in flight
};

// What one run of a job holds while it runs, on the thread that runs it.
struct JobManager::Running {
  std::vector<std::shared_ptr<WorkerClient>> workers;  // the runner borrows them
  std::unique_ptr<JobRunner> runner;
  absl::Time started;
};

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(WorkerProvider provider,
                                                               const JobManagerOptions& options) {
  if (!provider) return absl::InvalidArgumentError("no worker provider");
  std::unique_ptr<JobManager> m(new JobManager(std::move(provider), options));
  if (absl::Status st = m->LoadJobs(); !st.ok()) return st;
  m->ForgetOldJobs();
  return m;
}

namespace {
constexpr char kJobIndex[] = "jobs";

// One line per change of a job's state: its life in the logs.
void LogStateChange(const v1::Job& job, v1::JobState before) {
  using common::LogEvent;
  const double seconds = job.progress().elapsed_seconds();
  switch (job.state()) {
    case v1::JOB_STATE_QUEUED:
      LogEvent(spdlog::level::info,
               before == v1::JOB_STATE_UNSPECIFIED ? "job.submitted" : "job.queued",
               {{"job", job.id()}, {"inputs", job.spec().inputs_size()}});
      break;
    case v1::JOB_STATE_RUNNING:
      LogEvent(spdlog::level::info, "job.started", {{"job", job.id()}});
      break;
    case v1::JOB_STATE_SUCCEEDED:
      if (!job.cached_from().empty()) {
        LogEvent(spdlog::level::info, "job.finished",
                 {{"job", job.id()},
                  {"cached_from", job.cached_from()},
                  {"customers", job.result().customers()}});
      } else {
        LogEvent(spdlog::level::info, "job.finished",
                 {{"job", job.id()},
                  {"customers", job.result().customers()},
                  {"rows", job.progress().rows()},
                  {"seconds", seconds}});
      }
      break;
    case v1::JOB_STATE_FAILED:
      LogEvent(spdlog::level::warn, "job.failed",
               {{"job", job.id()},
                {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(job.error_code()))},
                {"error", job.error()}});
      break;
    case v1::JOB_STATE_CANCELLED:
      LogEvent(spdlog::level::info, "job.cancelled", {{"job", job.id()}, {"seconds", seconds}});
      break;
    default:
      break;
  }
}

void LogPublication(const std::string& job, const v1::Publication& p) {
  if (p.run_id().empty()) return;  // no store: nothing was to be published
  if (p.published()) {
    common::LogEvent(spdlog::level::info, "run.published",
                     {{"job", job},
                      {"alias", p.alias()},
                      {"run", p.run_id()},
                      {"records", p.records()},
                      {"previous_run", p.previous_run()}});
  } else {
    common::LogEvent(spdlog::level::warn, "run.not_published",
                     {{"job", job}, {"alias", p.alias()}, {"error", p.error()}});
  }
}
constexpr char kCacheIndex[] = "cache";  // fingerprint -> job id
std::string JobKey(const std::string& id) { return absl::StrCat("job:", id); }
}  // namespace

absl::Status JobManager::LoadJobs() {
  if (options_.job_store == nullptr) return absl::OkStatus();
  const absl::Time give_up = absl::Now() + options_.store_wait;
  auto index = options_.job_store->HashGetAll(kJobIndex);
  for (bool said = false; !index.ok(); said = true) {
    if (absl::Now() >= give_up) {
      return absl::UnavailableError(absl::StrCat(
          "the job store did not answer within ", absl::FormatDuration(options_.store_wait), " (",
          index.status().message(), "); the coordinator does not start without its past jobs"));
    }
    if (!said) {
      common::LogEvent(spdlog::level::warn, "jobs.waiting_for_store",
                       {{"error", index.status().message()},
                        {"seconds", absl::ToDoubleSeconds(options_.store_wait)}});
    }
    absl::SleepFor(std::min(absl::Seconds(1), give_up - absl::Now()));
    index = options_.job_store->HashGetAll(kJobIndex);
  }
  std::vector<std::pair<double, std::shared_ptr<Entry>>> requeue;  // by submission time
  for (const auto& [id, unused] : *index) {
    auto bytes = options_.job_store->Get(JobKey(id));
    v1::Job job;
    if (!bytes.ok() || !bytes->has_value() || !job.ParseFromString(**bytes)) continue;
    auto entry = std::make_shared<Entry>();
    if (job.state() == v1::JOB_STATE_QUEUED || job.state() == v1::JOB_STATE_RUNNING) {
      job.set_state(v1::JOB_STATE_QUEUED);  // interrupted: run it again
      job.clear_progress();
      requeue.emplace_back(job.submitted_unix(), entry);
    }
    {
      absl::MutexLock lock(&entry->mu);
      entry->job = std::move(job);
    }
    absl::MutexLock lock(&mu_);
    jobs_[id] = entry;
  }
  std::stable_sort(requeue.begin(), requeue.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto cache = options_.job_store->HashGetAll(kCacheIndex);
  absl::MutexLock lock(&mu_);
  for (auto& [submitted, e] : requeue) queue_.push_back(e);
  if (cache.ok()) {
    for (const auto& [fingerprint, id] : *cache) {
      if (jobs_.count(id) != 0) cache_[fingerprint] = id;
    }
  }
  return absl::OkStatus();
}

void JobManager::Persist(const v1::Job& job) {
  if (options_.job_store == nullptr) return;
  absl::MutexLock lock(&save_mu_);
  auto [it, added] = to_save_.insert_or_assign(job.id(), job);
  if (added) save_order_.push_back(job.id());
}

void JobManager::SaveLoop() {
  // On shutdown, what is queued is still saved, for a bounded time.
  absl::Time give_up = absl::InfiniteFuture();
  while (true) {
    std::string id;
    std::optional<v1::Job> job;
    {
      absl::MutexLock lock(&save_mu_);
      save_mu_.Await(absl::Condition(
          +[](JobManager* m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->save_mu_) {
            return !m->save_order_.empty() || m->saving_stopped_;
          },
          this));
      if (saving_stopped_ && give_up == absl::InfiniteFuture()) {
        give_up = absl::Now() + absl::Seconds(10);
      }
      if (save_order_.empty() || absl::Now() > give_up) return;
      id = save_order_.front();
      auto it = to_save_.find(id);
      save_order_.pop_front();
      job = std::move(it->second);
      to_save_.erase(it);
    }
    absl::Status st;
    if (job.has_value()) {
      st = options_.job_store->Set(JobKey(id), job->SerializeAsString());
      if (st.ok()) st = options_.job_store->HashSet({{kJobIndex, id, ""}});
    } else {
      st = options_.job_store->Delete({JobKey(id)});
      if (st.ok()) st = options_.job_store->HashDelete({{kJobIndex, id}});
    }
    if (!st.ok()) {
      common::LogEvent(spdlog::level::warn, "job.not_saved",
                       {{"job", id}, {"error", st.message()}});
    }
  }
}

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(
    const std::vector<WorkerClient*>& workers, const JobManagerOptions& options) {
  if (workers.empty()) return absl::InvalidArgumentError("no workers");
  std::vector<std::shared_ptr<WorkerClient>> shared;
  for (WorkerClient* w : workers) shared.emplace_back(w, [](WorkerClient*) {});  // borrowed
  return Create([shared](absl::Time) { return shared; }, options);
}

JobManager::JobManager(WorkerProvider provider, const JobManagerOptions& options)
    : provider_(std::move(provider)), options_(options) {
  if (options_.job_store != nullptr) saver_ = std::thread([this] { SaveLoop(); });
  for (int i = 0; i < std::max(1, options_.max_running); ++i) {
    threads_.emplace_back([this] { RunLoop(); });
  }
}

JobManager::~JobManager() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [id, entry] : jobs_) entries.push_back(entry);
  }
  for (auto& entry : entries) entry->cancel.Cancel();
  for (auto& t : threads_) t.join();
  {
    absl::MutexLock lock(&save_mu_);
    saving_stopped_ = true;
  }
  if (saver_.joinable()) saver_.join();
}

absl::StatusOr<std::shared_ptr<JobManager::Entry>> JobManager::FindJob(
    const std::string& id) const {
  TS_RETURN_IF_ERROR(common::CheckName(id, "id"));
  auto entry = Find(id);
  if (entry == nullptr) return absl::NotFoundError(absl::StrCat("no job ", id));
  return entry;
}

std::shared_ptr<JobManager::Entry> JobManager::Find(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second;
}

void JobManager::Update(const std::shared_ptr<Entry>& entry,
                        const std::function<void(v1::Job&)>& change) {
  std::optional<v1::Job> changed_state;
  {
    absl::MutexLock lock(&entry->mu);
    const v1::JobState before = entry->job.state();
    change(entry->job);
    if (entry->job.state() != before) {
      if (options_.on_state_change) options_.on_state_change(entry->job, before);
      changed_state = entry->job;
      LogStateChange(entry->job, before);
    }
    for (auto& [token, fn] : entry->subscribers) fn(entry->job);
  }
  // Saved outside the job's lock: a slow store must not block readers.
  if (changed_state.has_value()) Persist(*changed_state);
}

absl::StatusOr<v1::Job> JobManager::Submit(const v1::JobSpec& submitted, const std::string& owner) {
  // Validate now, so a bad spec fails the call rather than the job.
  JobSpecChecks checks;
  checks.has_store = options_.runner.store != nullptr;
  checks.check_inputs = options_.check_inputs;
  checks.data_roots = &options_.data_roots;
  checks.limits = options_.limits;
  if (DatasetStore* datasets = options_.datasets; datasets != nullptr) {
    checks.dataset_path = [datasets](const std::string& name, const std::string& field) {
      return datasets->PathOf(name, field);
    };
  }
  TS_ASSIGN_OR_RETURN(const v1::JobSpec spec, PrepareJobSpec(submitted, checks));
  auto entry = std::make_shared<Entry>();
  v1::Job queued;
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(queue_.size()) >= options_.max_queued) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("%d jobs are queued already; try again later", queue_.size()));
    }
    // A random part keeps ids unique across restarts within one second.
    const std::string id =
        absl::StrFormat("job-%d-%d-%04x", absl::ToUnixSeconds(absl::Now()), next_id_++,
                        absl::Uniform<uint32_t>(bitgen_, 0, 1 << 16));
    {
      absl::MutexLock entry_lock(&entry->mu);
      entry->job.set_id(id);
      entry->job.set_state(v1::JOB_STATE_QUEUED);
      entry->job.set_owner(owner);
      *entry->job.mutable_spec() = spec;
      entry->job.set_submitted_unix(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
      if (options_.on_state_change) options_.on_state_change(entry->job, v1::JOB_STATE_UNSPECIFIED);
      queued = entry->job;
      LogStateChange(queued, v1::JOB_STATE_UNSPECIFIED);
    }
    jobs_[id] = entry;
  }
  // Saved outside the manager's lock (a slow store must not stall the API),
  // and before it can run, so that no later state is overwritten by this one.
  Persist(queued);
  {
    absl::MutexLock lock(&mu_);
    if (!entry->cancel.cancelled()) {
      queue_.push_back(entry);
      return queued;
    }
  }
  // Cancelled before it was queued.
  Update(entry, [](v1::Job& j) { j.set_state(v1::JOB_STATE_CANCELLED); });
  return Get(queued.id());
}

absl::StatusOr<v1::Job> JobManager::Get(const std::string& id) const {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, FindJob(id));
  absl::MutexLock lock(&entry->mu);
  return entry->job;
}

namespace {

int64_t SubmittedMicros(const v1::Job& job) { return std::llround(job.submitted_unix() * 1e6); }

// List order: by submission time (to the microsecond, as page tokens
// keep it), newest first, then by id.
bool NewerFirst(const v1::Job& a, const v1::Job& b) {
  const int64_t ta = SubmittedMicros(a), tb = SubmittedMicros(b);
  return ta > tb || (ta == tb && a.id() > b.id());
}

}  // namespace

std::vector<v1::Job> JobManager::List() const {
  std::vector<v1::Job> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, entry] : jobs_) {
    absl::MutexLock entry_lock(&entry->mu);
    v1::Job brief = entry->job;
    brief.clear_spec();
    brief.clear_result();
    out.push_back(std::move(brief));
  }
  std::sort(out.begin(), out.end(), NewerFirst);
  return out;
}

namespace {

// A page token names the last job of the page: "<submitted µs>/<id>".
std::string PageToken(const v1::Job& job) {
  return absl::StrCat(SubmittedMicros(job), "/", job.id());
}

// Jobs strictly after the token's job in List order.
absl::StatusOr<std::function<bool(const v1::Job&)>> AfterToken(const std::string& token) {
  if (token.empty()) return [](const v1::Job&) { return true; };
  const size_t slash = token.find('/');
  int64_t submitted = 0;
  if (slash == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(token).substr(0, slash), &submitted) ||
      !common::CheckName(absl::string_view(token).substr(slash + 1), "page_token").ok()) {
    return absl::InvalidArgumentError("page_token: not a token of this API (use next_page_token)");
  }
  const std::string id = token.substr(slash + 1);
  return [submitted, id](const v1::Job& job) {
    const int64_t at = SubmittedMicros(job);
    return at < submitted || (at == submitted && job.id() < id);
  };
}

}  // namespace

absl::StatusOr<v1::ListJobsResponse> JobManager::List(const v1::ListJobsRequest& request) const {
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be 1 to 1000 (0: 100), got ", request.page_size()));
  }
  for (int i = 0; i < request.states_size(); ++i) {
    TS_RETURN_IF_ERROR(common::CheckEnumSet(v1::JobState_descriptor(), request.states(i),
                                            absl::StrCat("states[", i, "]")));
  }
  if (!request.alias().empty()) TS_RETURN_IF_ERROR(common::CheckName(request.alias(), "alias"));
  if (!std::isfinite(request.submitted_after_unix())) {
    return absl::InvalidArgumentError("submitted_after_unix: must be a finite time");
  }
  TS_ASSIGN_OR_RETURN(auto after, AfterToken(request.page_token()));
  const size_t page_size =
      request.page_size() == 0 ? 100 : static_cast<size_t>(request.page_size());
  const std::set<int> states(request.states().begin(), request.states().end());
  std::vector<v1::Job> jobs;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, entry] : jobs_) {
      absl::MutexLock entry_lock(&entry->mu);
      if (!states.empty() && states.count(entry->job.state()) == 0) continue;
      if (!request.alias().empty() && entry->job.spec().alias() != request.alias()) continue;
      if (entry->job.submitted_unix() <= request.submitted_after_unix()) continue;
      if (!after(entry->job)) continue;
      v1::Job brief = entry->job;
      brief.clear_spec();
      brief.clear_result();
      jobs.push_back(std::move(brief));
    }
  }
  std::sort(jobs.begin(), jobs.end(), NewerFirst);
  v1::ListJobsResponse page;
  for (size_t i = 0; i < jobs.size() && i < page_size; ++i) *page.add_jobs() = jobs[i];
  if (jobs.size() > page_size) page.set_next_page_token(PageToken(jobs[page_size - 1]));
  return page;
}

absl::StatusOr<v1::Job> JobManager::Cancel(const std::string& id) {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, FindJob(id));
  entry->cancel.Cancel();
  bool was_queued = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find(queue_.begin(), queue_.end(), entry);
    if (it != queue_.end()) {
      queue_.erase(it);
      was_queued = true;
    }
  }
  // Outside the manager's lock: Update saves the job to the store.
  if (was_queued) Update(entry, [](v1::Job& j) { j.set_state(v1::JOB_STATE_CANCELLED); });
  absl::MutexLock lock(&entry->mu);
  return entry->job;  // a running job turns CANCELLED when it stops
}

absl::StatusOr<int64_t> JobManager::Subscribe(const std::string& id,
                                              std::function<void(const v1::Job&)> fn) {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, FindJob(id));
  absl::MutexLock lock(&entry->mu);
  const int64_t token = entry->next_token++;
  fn(entry->job);
  entry->subscribers[token] = std::move(fn);
  return token;
}

void JobManager::Unsubscribe(const std::string& id, int64_t token) {
  auto entry = Find(id);
  if (entry == nullptr) return;
  absl::MutexLock lock(&entry->mu);
  entry->subscribers.erase(token);
}

absl::StatusOr<v1::Job> JobManager::Publish(const std::string& id) {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, FindJob(id));
  if (options_.runner.store == nullptr) {
    return absl::FailedPreconditionError("this coordinator has no store to publish to");
  }
  {
    absl::MutexLock lock(&entry->mu);
    if (entry->job.state() != v1::JOB_STATE_SUCCEEDED) {
      return absl::FailedPreconditionError(absl::StrCat("job ", id, " has not succeeded"));
    }
    if (!entry->job.cached_from().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", id, " did not run: it returned the result of ", entry->job.cached_from()));
    }
    if (entry->job.result().publication().published()) return entry->job;
    if (entry->job.spec().alias().empty() || entry->job.spec().no_publish()) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", id, " does not publish (it has no alias, or no_publish)"));
    }
  }
  std::shared_ptr<Kept> kept = KeptResults(entry);
  if (kept == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the per-customer results of job ", id,
        " were released (only the last few jobs keep them); submit it again with no_cache"));
  }
  // Alone: assigning again changes what an export would read.
  absl::MutexLock kept_lock(&kept->mu);
  absl::Status st = kept->runner->Republish(kept->outcome);
  if (!st.ok()) return st;
  v1::JobResult result = kept->outcome.result;
  LogPublication(id, result.publication());
  if (result.publication().published() && options_.on_published) {
    options_.on_published(result.publication().alias());
  }
  Update(entry, [&](v1::Job& j) { *j.mutable_result() = std::move(result); });
  absl::StatusOr<v1::Job> job = Get(id);
  if (job.ok()) Persist(*job);  // not a change of state: saved here
  return job;
}

absl::StatusOr<v1::KpiTable> JobManager::Kpis(const std::string& id) const {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, FindJob(id));
  absl::MutexLock lock(&entry->mu);
  if (entry->job.state() != v1::JOB_STATE_SUCCEEDED) {
    return absl::FailedPreconditionError(absl::StrCat("job ", id, " has not succeeded"));
  }
  return entry->job.result().kpis();
}

absl::Status JobManager::ExportResults(
    const std::string& id, bool explain,
    const std::function<absl::Status(const std::string&)>& sink) {
  TS_ASSIGN_OR_RETURN(std::shared_ptr<Entry> entry, FindJob(id));
  std::string cached_from;
  {
    absl::MutexLock lock(&entry->mu);
    if (entry->job.state() != v1::JOB_STATE_SUCCEEDED) {
      return absl::FailedPreconditionError(absl::StrCat("job ", id, " has not succeeded"));
    }
    cached_from = entry->job.cached_from();
  }
  if (!cached_from.empty()) return ExportResults(cached_from, explain, sink);
  std::shared_ptr<Kept> kept = KeptResults(entry);
  if (kept == nullptr) {
    v1::Job job;
    {
      absl::MutexLock job_lock(&entry->mu);
      job = entry->job;
    }
    return ExportPublished(job, explain, sink);
  }
  return ExportKept(*kept, explain, sink);
}

std::shared_ptr<JobManager::Kept> JobManager::KeptResults(const std::shared_ptr<Entry>& entry) {
  absl::MutexLock lock(&entry->mu);
  return entry->kept;
}

absl::Status JobManager::ExportKept(Kept& kept, bool explain,
                                    const std::function<absl::Status(const std::string&)>& sink) {
  std::vector<int> placed;  // where the splits were when the copy was taken
  JobOutcome copy;
  absl::Status st;
  {
    absl::ReaderMutexLock lock(&kept.mu);
    copy = kept.outcome;
    placed = copy.split_worker;
    st = sink(engine::ResultsHeader(copy.compiled->policy, explain));
    if (st.ok()) st = kept.runner->ExportResults(copy, explain, sink);
  }
  // Splits moved off a lost worker: remembered for the next export, if no
  // one holds the outcome now (never waits; else the next export moves
  // them again).
  if (copy.split_worker != placed && kept.mu.TryLock()) {
    if (kept.outcome.split_worker == placed) {
      kept.outcome.split_worker = copy.split_worker;
      kept.outcome.alive = copy.alive;
      kept.outcome.recoveries = copy.recoveries;
    }
    kept.mu.Unlock();
  }
  return st;
}

absl::Status JobManager::ExportPublished(
    const v1::Job& job, bool explain, const std::function<absl::Status(const std::string&)>& sink) {
  const v1::Publication& pub = job.result().publication();
  const std::string released =
      absl::StrCat("the per-customer results of job ", job.id(),
                   " were released (only the last few jobs keep them on the workers)");
  if (options_.runner.store == nullptr || !pub.published()) {
    return absl::FailedPreconditionError(absl::StrCat(released, "; submit it again"));
  }
  if (explain) {
    return absl::FailedPreconditionError(absl::StrCat(
        released, "; its published run ", pub.run_id(),
        " keeps contributions at single precision only: export without explain, or submit "
        "it again"));
  }
  common::RunStore runs(options_.runner.store);
  absl::StatusOr<v1::RunMeta> run = runs.Run(pub.run_id());
  if (absl::IsNotFound(run.status())) {
    return absl::FailedPreconditionError(absl::StrCat(released, ", and its published run ",
                                                      pub.run_id(), " expired; submit it again"));
  }
  TS_RETURN_IF_ERROR(run.status());
  TS_ASSIGN_OR_RETURN(auto compiled, engine::CompileJob(job.spec().policy(), job.spec().kpis()));
  TS_RETURN_IF_ERROR(sink(engine::ResultsHeader(compiled->policy, /*explain=*/false)));
  // Rows as the workers write them, from the published records (bucket by
  // bucket, so not in input order).
  std::string csv;
  TS_RETURN_IF_ERROR(
      runs.ForEachRecord(*run, [&](const std::string& id, const v1::TierRecord& r) -> absl::Status {
        engine::AppendResultsRow(
            id, r.score(), static_cast<size_t>(run->schemes_size()),
            [&](size_t s) -> std::string_view {
              const auto& tiers = run->schemes(static_cast<int>(s)).tiers();
              const int t =
                  static_cast<int>(s) < r.tiers_size() ? r.tiers(static_cast<int>(s)) : -1;
              return t >= 0 && t < tiers.size() ? std::string_view(tiers[t]) : std::string_view();
            },
            r.value_micros(), nullptr, 0, &csv);
        if (csv.size() < (1 << 20)) return absl::OkStatus();
        absl::Status st = sink(csv);
        csv.clear();
        return st;
      }));
  return csv.empty() ? absl::OkStatus() : sink(csv);
}

bool JobManager::FinishFromCache(const std::shared_ptr<Entry>& entry,
                                 const std::string& fingerprint) {
  std::shared_ptr<Entry> original;
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(fingerprint);
    if (it == cache_.end()) return false;
    auto job = jobs_.find(it->second);
    if (job == jobs_.end()) return false;
    original = job->second;
  }
  bool summary_only;
  {
    absl::MutexLock lock(&entry->mu);
    summary_only = entry->job.spec().summary_only();
  }
  if (!summary_only) {
    // A cached job serves the per-customer results too: only while kept.
    if (KeptResults(original) == nullptr) return false;
  }
  v1::Job done;
  {
    absl::MutexLock lock(&original->mu);
    if (original->job.state() != v1::JOB_STATE_SUCCEEDED) return false;
    done = original->job;
  }
  // A job that should have published but did not is no answer: this one
  // should publish.
  if (options_.runner.store != nullptr && !done.result().publication().published()) return false;
  Update(entry, [&](v1::Job& j) {
    j.set_state(v1::JOB_STATE_SUCCEEDED);
    j.set_cached_from(done.id());
    *j.mutable_result() = done.result();
    j.mutable_result()->clear_stats();        // this job did not run
    j.mutable_result()->clear_publication();  // nor publish
    j.mutable_progress()->set_phase("done");
  });
  return true;
}

void JobManager::RunLoop() {
  while (true) {
    std::shared_ptr<Entry> entry;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](JobManager* m)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(m->mu_) { return m->stopping_ || !m->queue_.empty(); },
          this));
      if (stopping_) return;
      entry = queue_.front();
      queue_.pop_front();
    }
    Execute(entry);
    ForgetOldJobs();
  }
}

void JobManager::ForgetOldJobs() {
  std::vector<std::string> forgotten;
  std::vector<std::pair<std::string, std::string>> cache_fields;
  {
    absl::MutexLock lock(&mu_);
    std::vector<std::pair<double, std::string>> finished;  // newest first
    for (const auto& [id, entry] : jobs_) {
      absl::MutexLock entry_lock(&entry->mu);
      const v1::JobState s = entry->job.state();
      if (s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED ||
          s == v1::JOB_STATE_CANCELLED) {
        finished.emplace_back(entry->job.submitted_unix(), id);
      }
    }
    std::sort(finished.begin(), finished.end(), std::greater<>());
    const double cutoff =
        absl::ToDoubleSeconds(absl::Now() - options_.keep_finished_for - absl::UnixEpoch());
    for (size_t i = 0; i < finished.size(); ++i) {
      const auto& [submitted, id] = finished[i];
      if (static_cast<int>(i) < options_.keep_finished && submitted >= cutoff) continue;
      auto it = jobs_.find(id);
      // A job whose results the workers keep goes once they are released.
      if (std::find(with_results_.begin(), with_results_.end(), it->second) !=
          with_results_.end()) {
        continue;
      }
      jobs_.erase(it);
      forgotten.push_back(id);
    }
    if (forgotten.empty()) return;
    const std::set<std::string> gone(forgotten.begin(), forgotten.end());
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (gone.count(it->second) == 0) {
        ++it;
        continue;
      }
      cache_fields.emplace_back(kCacheIndex, it->first);
      it = cache_.erase(it);
    }
  }
  common::LogEvent(spdlog::level::info, "jobs.forgotten",
                   {{"jobs", static_cast<int64_t>(forgotten.size())}});
  if (options_.job_store == nullptr) return;
  {
    absl::MutexLock lock(&save_mu_);
    for (const std::string& id : forgotten) {
      auto [it, added] = to_save_.insert_or_assign(id, std::nullopt);
      if (added) save_order_.push_back(id);
    }
  }
  absl::Status st = options_.job_store->HashDelete(cache_fields);
  if (!st.ok()) {
    common::LogEvent(spdlog::level::warn, "jobs.cache_not_forgotten", {{"error", st.message()}});
  }
}

void JobManager::Execute(const std::shared_ptr<Entry>& entry) {
  std::string id;
  v1::JobSpec spec;
  {
    absl::MutexLock lock(&entry->mu);
    id = entry->job.id();
    spec = entry->job.spec();
  }
  Running run;
  if (!AcquireWorkers(entry, id, run)) return;
  // The result cache. A fingerprint that cannot be taken (say, a missing
  // file) is no hit: the run then reports the real error.
  // Dry runs are not cached: their answer depends on the alias's current run.
  const bool dry_run = spec.no_publish() && !spec.alias().empty();
  const auto fingerprint =
      dry_run
          ? absl::StatusOr<std::string>(absl::FailedPreconditionError("dry runs are not cached"))
          : run.runner->Fingerprint(spec, &entry->cancel);
  if (fingerprint.ok() && !spec.no_cache() && FinishFromCache(entry, *fingerprint)) return;
  run.started = absl::Now();
  if (entry->cancel.cancelled()) {  // while it waited for workers or took the fingerprint
    FinishFailed(entry, absl::CancelledError(absl::StrCat("job ", id, " was cancelled")),
                 run.started);
    return;
  }
  Update(entry, [](v1::Job& j) { j.set_state(v1::JOB_STATE_RUNNING); });
  auto outcome = run.runner->Run(
      id, spec, [&](const JobProgress& p) { ReportProgress(entry, run.started, p); },
      RunControl{&entry->cancel, run.started + options_.job_timeout});
  if (!outcome.ok()) {
    // The job's end is known now; freeing its memory may wait on a worker
    // that hangs.
    FinishFailed(entry, outcome.status(), run.started);
    run.runner->Release(id);
    return;
  }
  FinishSucceeded(entry, std::move(run), *std::move(outcome), fingerprint);
}

bool JobManager::AcquireWorkers(const std::shared_ptr<Entry>& entry, const std::string& id,
                                Running& run) {
  // The job stays QUEUED until a worker is healthy; waiting in slices
  // notices a cancellation (or shutdown) within a second.
  const absl::Time give_up = absl::Now() + options_.wait_for_workers;
  while (true) {
    run.workers = provider_(std::min(give_up, absl::Now() + absl::Seconds(1)));
    if (!run.workers.empty() || entry->cancel.cancelled() || absl::Now() >= give_up) break;
  }
  std::vector<WorkerClient*> workers;
  for (const auto& w : run.workers) workers.push_back(w.get());
  auto created = JobRunner::Create(workers, options_.runner);
  const bool cancelled = entry->cancel.cancelled();
  if (created.ok() && !cancelled) {
    run.runner = *std::move(created);
    return true;
  }
  const absl::Status st =
      cancelled
          ? absl::CancelledError(absl::StrCat("job ", id, " was cancelled"))
          : absl::UnavailableError(absl::StrCat("no healthy worker within ",
                                                absl::FormatDuration(options_.wait_for_workers)));
  // As a run's end: a shutdown while the job waits saves it as queued.
  FinishFailed(entry, st, absl::Now());
  return false;
}

void JobManager::ReportProgress(const std::shared_ptr<Entry>& entry, absl::Time started,
                                const JobProgress& p) {
  Update(entry, [&](v1::Job& j) {
    v1::JobProgress* out = j.mutable_progress();
    out->set_phase(p.phase);
    out->set_splits_done(p.splits_done);
    out->set_splits_total(p.splits_total);
    out->set_rows(p.rows);
    out->set_bytes(p.bytes);
    out->set_elapsed_seconds(absl::ToDoubleSeconds(absl::Now() - started));
  });
}

void JobManager::FinishFailed(const std::shared_ptr<Entry>& entry, const absl::Status& st,
                              absl::Time started) {
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
  }
  if (absl::IsCancelled(st) && stopping) {
    // Interrupted by our own shutdown, not cancelled by a user: saved as
    // queued, so that the next coordinator runs it again.
    v1::Job interrupted;
    {
      absl::MutexLock lock(&entry->mu);
      interrupted = entry->job;
    }
    interrupted.set_state(v1::JOB_STATE_QUEUED);
    interrupted.clear_progress();
    common::LogEvent(spdlog::level::info, "job.interrupted",
                     {{"job", interrupted.id()}, {"reason", "coordinator shutting down"}});
    Persist(interrupted);
    return;
  }
  Update(entry, [&](v1::Job& j) {
    j.set_state(absl::IsCancelled(st) ? v1::JOB_STATE_CANCELLED : v1::JOB_STATE_FAILED);
    j.set_error_code(static_cast<int32_t>(st.code()));
    j.set_error(common::CutMessage(st.message()));
    j.mutable_progress()->set_elapsed_seconds(absl::ToDoubleSeconds(absl::Now() - started));
  });
}

void JobManager::FinishSucceeded(const std::shared_ptr<Entry>& entry, Running run,
                                 JobOutcome outcome,
                                 const absl::StatusOr<std::string>& fingerprint) {
  const std::string id = outcome.job_id;
  v1::JobResult result = outcome.result;
  LogPublication(id, result.publication());
  if (result.publication().published() && options_.on_published) {
    options_.on_published(result.publication().alias());
  }
  auto kept = std::make_shared<Kept>();
  kept->job_id = id;
  kept->workers = std::move(run.workers);
  kept->runner = std::move(run.runner);
  {
    absl::MutexLock lock(&kept->mu);
    kept->outcome = std::move(outcome);
  }
  {
    absl::MutexLock lock(&entry->mu);
    entry->kept = std::move(kept);
  }
  // Decided before the job is seen to succeed, so that whoever sees it
  // finished also sees the oldest kept results released; the workers are
  // called only when `evicted` goes, after the update.
  std::shared_ptr<Kept> evicted = KeepResults(entry);
  if (fingerprint.ok()) {
    {
      absl::MutexLock lock(&mu_);
      cache_[*fingerprint] = id;
    }
    if (options_.job_store != nullptr) {
      absl::Status st = options_.job_store->HashSet({{kCacheIndex, *fingerprint, id}});
      if (!st.ok()) {
        common::LogEvent(spdlog::level::warn, "job.cache_not_saved",
                         {{"job", id}, {"error", st.message()}});
      }
    }
  }
  Update(entry, [&](v1::Job& j) {
    j.set_state(v1::JOB_STATE_SUCCEEDED);
    *j.mutable_result() = std::move(result);
    j.mutable_progress()->set_phase("done");
    j.mutable_progress()->set_elapsed_seconds(absl::ToDoubleSeconds(absl::Now() - run.started));
  });
}

std::shared_ptr<JobManager::Kept> JobManager::KeepResults(const std::shared_ptr<Entry>& entry) {
  std::shared_ptr<Entry> evicted;
  {
    absl::MutexLock lock(&mu_);
    with_results_.push_back(entry);
    if (static_cast<int>(with_results_.size()) > std::max(0, options_.keep_results)) {
      evicted = with_results_.front();
      with_results_.pop_front();
    }
  }
  if (evicted == nullptr) return nullptr;
  std::shared_ptr<Kept> kept;
  {
    absl::MutexLock lock(&evicted->mu);
    kept = std::move(evicted->kept);
  }
  // Freed when the caller drops it, or by the last export still using it.
  if (kept != nullptr) kept->release_when_unused = true;
  return kept;
}

}  // namespace tierscore::coordinator
