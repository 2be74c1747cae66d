#include "engine/generator.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/thread_pool.h"

namespace tierscore::engine {
namespace {

constexpr char kHeader[] =
    "customer_id,region,segment,channel,account_manager,team,department,"
    "revenue_12m,revenue_prev_12m,margin_12m,orders_12m,days_since_last_order,"
    "tenure_months,nps_score,support_tickets,tickets_resolved,"
    "procurement_status\n";

// SplitMix64: tiny, fast, and identical everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Normal() {
    const double u1 = std::max(Uniform(), 1e-300);
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
  // Index by cumulative weights.
  template <size_t N>
  int Pick(const double (&weights)[N]) {
    double u = Uniform();
    for (size_t i = 0; i < N; ++i) {
      if (u < weights[i]) return static_cast<int>(i);
      u -= weights[i];
    }
    return static_cast<int>(N) - 1;
  }

 private:
  uint64_t state_;
};

struct Segment {
  const char* name;
  double share;
  double mu;  // log revenue
  double sigma;
  double margin;  // mean margin rate
  double order_value;
  double procurement[4];  // strategic, preferred, approved, transactional
};

constexpr Segment kSegments[] = {
    {"enterprise", 0.05, 11.0, 1.1, 0.32, 9000, {0.25, 0.35, 0.30, 0.10}},
    {"mid_market", 0.20, 9.4, 1.2, 0.27, 2500, {0.08, 0.25, 0.42, 0.25}},
    {"smb", 0.45, 7.8, 1.3, 0.22, 600, {0.02, 0.12, 0.41, 0.45}},
    {"consumer", 0.30, 5.8, 1.4, 0.18, 80, {0.00, 0.03, 0.27, 0.70}},
};
constexpr const char* kRegions[] = {"NA", "EMEA", "APAC", "LATAM", "ANZ"};
constexpr double kRegionWeights[] = {0.34, 0.30, 0.20, 0.10, 0.06};
constexpr const char* kChannels[] = {"direct", "partner", "online"};
constexpr double kChannelWeights[] = {0.35, 0.25, 0.40};
constexpr const char* kProcurement[] = {"strategic", "preferred", "approved", "transactional"};

void AppendFixed(double v, int decimals, std::string* out) {
  char buf[48];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  out->append(buf, static_cast<size_t>(ptr - buf));
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, static_cast<size_t>(ptr - buf));
}

double Cents(double v) { return std::round(v * 100) / 100 + 0.0; }  // no "-0.00"

void GenerateRows(const GeneratorOptions& o, int64_t begin, int64_t end, std::string* out) {
  const int width = std::max<int>(7, static_cast<int>(std::to_string(o.rows).size()));
  const int64_t managers = std::max<int64_t>(1, o.rows / 2000);
  for (int64_t row = begin; row < end; ++row) {
    Rng rng(o.seed * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(row) * 0xd1b54a32d192ed03ull);
    rng.Next();
    double seg_weights[4];
    for (int i = 0; i < 4; ++i) seg_weights[i] = kSegments[i].share;
    const Segment& seg = kSegments[rng.Pick(seg_weights)];
    const int region = rng.Pick(kRegionWeights);
    const int channel = rng.Pick(kChannelWeights);
    const int64_t am = static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(managers));

    double revenue = std::exp(seg.mu + seg.sigma * rng.Normal());
    if (o.distinct_values > 0) {
      revenue = 100.0 * (1 + rng.Below(o.distinct_values));
    }
    const bool zero = rng.Uniform() < 0.04 + o.extra_zero_share;
    if (zero) revenue = 0;
    revenue = Cents(revenue);
    double prev = rng.Uniform() < 0.08 ? 0 : Cents(revenue * std::exp(0.3 * rng.Normal()));
    if (zero) prev = Cents(std::exp(seg.mu + seg.sigma * rng.Normal()) * 0.5);
    const double margin = Cents(revenue * (seg.margin + 0.1 * rng.Normal()));
    const int64_t orders =
        revenue > 0 ? std::max<int64_t>(
                          1, std::llround(revenue / seg.order_value * std::exp(0.4 * rng.Normal())))
                    : 0;
    const int64_t days =
        revenue > 0
            ? std::min<int64_t>(730, std::llround(-60 * std::log(std::max(rng.Uniform(), 1e-12))))
            : 366 + rng.Below(1100);
    const int64_t tenure = 1 + rng.Below(240);
    const bool responded = rng.Uniform() < 0.3;
    const int64_t nps = std::min<int64_t>(10, std::llround(10 * std::cbrt(rng.Uniform())));
    const int64_t tickets = std::llround(-2.0 * std::log(std::max(rng.Uniform(), 1e-12)));
    int64_t resolved = 0;
    for (int64_t t = 0; t < tickets && t < 64; ++t) resolved += rng.Uniform() < 0.85 ? 1 : 0;
    const int procurement = rng.Pick(seg.procurement);

    absl::StrAppendFormat(out, "C%0*d,", width, row + 1);
    absl::StrAppend(out, kRegions[region], ",", seg.name, ",", kChannels[channel], ",");
    absl::StrAppendFormat(out, "AM%04d,TM%03d,DEP%02d,", am, am / 8, am / 40);
    AppendFixed(revenue, 2, out);
    out->push_back(',');
    AppendFixed(prev, 2, out);
    out->push_back(',');
    AppendFixed(margin, 2, out);
    out->push_back(',');
    AppendInt(orders, out);
    out->push_back(',');
    AppendInt(days, out);
    out->push_back(',');
    AppendInt(tenure, out);
    out->push_back(',');
    if (responded) AppendInt(nps, out);
    out->push_back(',');
    AppendInt(tickets, out);
    out->push_back(',');
    AppendInt(resolved, out);
    out->push_back(',');
    out->append(kProcurement[procurement]);
    out->push_back('\n');
  }
}

// Generates in chunks on all cores and hands them to `write` in order.
template <typename Write>
void Generate(const GeneratorOptions& o, Write&& write) {
  write(std::string(kHeader));
  constexpr int64_t kChunk = 1 << 16;
  ThreadPool pool(o.threads);
  const int64_t chunks = (o.rows + kChunk - 1) / kChunk;
  const int64_t window = int64_t{std::max(2, pool.size())} * 4;
  for (int64_t first = 0; first < chunks; first += window) {
    const int64_t n = std::min(window, chunks - first);
    std::vector<std::string> parts(static_cast<size_t>(n));
    pool.ParallelFor(static_cast<int>(n), [&](int i) {
      const int64_t c = first + i;
      GenerateRows(o, c * kChunk, std::min(o.rows, (c + 1) * kChunk),
                   &parts[static_cast<size_t>(i)]);
    });
    for (auto& p : parts) write(std::move(p));
  }
}

}  // namespace

std::string GenerateCustomersCsv(const GeneratorOptions& options) {
  std::string out;
  Generate(options, [&](std::string&& part) { out += part; });
  return out;
}

absl::Status GenerateCustomers(const GeneratorOptions& options, const std::string& path) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  bool ok = true;
  if (absl::EndsWith(path, ".gz")) {
    gzFile gz = gzopen(tmp.c_str(), "wb1");
    if (gz == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
    Generate(options, [&](std::string&& part) {
      if (ok && !part.empty() &&
          gzwrite(gz, part.data(), static_cast<unsigned>(part.size())) == 0) {
        ok = false;
      }
    });
    ok = gzclose(gz) == Z_OK && ok;
  } else {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    }
    Generate(options, [&](std::string&& part) {
      if (ok && std::fwrite(part.data(), 1, part.size(), f) != part.size()) ok = false;
    });
    ok = std::fclose(f) == 0 && ok;
  }
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::DataLossError(absl::StrCat("failed writing ", path));
  }
  return absl::OkStatus();
}

}  // namespace tierscore::engine
