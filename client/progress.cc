#include "client/progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"

namespace tierscore::client {

ProgressBar::ProgressBar() : enabled_(isatty(STDERR_FILENO) == 1), start_(absl::Now()) {}

ProgressBar::~ProgressBar() {
  if (enabled_) std::fprintf(stderr, "\r\033[K");
}

void ProgressBar::Update(const v1::Job& job) {
  coordinator::JobProgress p;
  p.phase = job.state() == v1::JOB_STATE_QUEUED ? "queued" : job.progress().phase();
  p.splits_done = job.progress().splits_done();
  p.splits_total = job.progress().splits_total();
  p.rows = job.progress().rows();
  p.bytes = job.progress().bytes();
  Update(p);
}

void ProgressBar::Update(const coordinator::JobProgress& p) {
  if (!enabled_) return;
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  const bool last = p.splits_done == p.splits_total;
  if (now - last_draw_ < absl::Milliseconds(100) && !last) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const double frac = p.splits_total == 0 ? 0 : double(p.splits_done) / p.splits_total;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r\033[K[%s] %-6s %d/%d splits  %.2fM rows  %.0f MB  %.1fs", bar.c_str(),
               p.phase.c_str(), p.splits_done, p.splits_total, p.rows / 1e6, p.bytes / 1048576.0,
               absl::ToDoubleSeconds(now - start_));
  std::fflush(stderr);
}

}  // namespace tierscore::client
