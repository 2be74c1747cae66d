// The cut-point search against a fake "cluster": items held in memory and a
// ProbeFn that answers like merged workers would. Checks exactness against
// brute force and that traffic does not grow with the number of customers.
#include "coordinator/cut_search.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "engine/tiering.h"
#include "gtest/gtest.h"

namespace tierscore::coordinator {
namespace {

using engine::int128;

struct Item {
  double score;
  std::string id;
  int64_t value;
};

bool InRange(const v1::KeyRange& r, const Item& it) {
  if (it.score < r.score_lo() || it.score > r.score_hi()) return false;
  if (!r.id_bounded()) return true;
  if (!r.id_after().empty() && !(it.id > r.id_after())) return false;
  if (!r.id_upto().empty() && it.id > r.id_upto()) return false;
  return true;
}

// Answers probes from a vector, counting the items it ships.
class FakeCluster {
 public:
  explicit FakeCluster(std::vector<Item> items) : items_(std::move(items)) {}

  ProbeFn Fn() {
    return [this](const std::vector<v1::Probe>& probes) {
      std::vector<v1::ProbeResult> out;
      for (const v1::Probe& p : probes) {
        v1::ProbeResult r;
        std::vector<std::string> ids;
        const int buckets = p.score_bins() > 0 ? p.score_bins() : p.id_splitters_size() + 1;
        std::vector<v1::Bucket> b(static_cast<size_t>(buckets));
        for (const Item& it : items_) {
          if (!InRange(p.range(), it)) continue;
          if (p.fetch()) {
            v1::Item* x = r.add_items();
            x->set_score(it.score);
            x->set_id(it.id);
            x->set_value(it.value);
            ++shipped_;
            continue;
          }
          if (p.sample() > 0) {
            ids.push_back(it.id);
            continue;
          }
          size_t k;
          if (p.score_bins() > 0) {
            const double lo = p.range().score_lo(), hi = p.range().score_hi();
            const double frac = hi > lo ? (hi - it.score) / (hi - lo) : 0;
            k = std::min<size_t>(static_cast<size_t>(frac * buckets),
                                 static_cast<size_t>(buckets - 1));
          } else {
            k = static_cast<size_t>(
                std::lower_bound(p.id_splitters().begin(), p.id_splitters().end(), it.id) -
                p.id_splitters().begin());
          }
          v1::Bucket& bucket = b[k];
          if (bucket.count() == 0 || it.score < bucket.min_score()) bucket.set_min_score(it.score);
          if (bucket.count() == 0 || it.score > bucket.max_score()) bucket.set_max_score(it.score);
          bucket.set_count(bucket.count() + double_count_ + 1);
          engine::ToProto(engine::FromProto(bucket.value()) + it.value, bucket.mutable_value());
        }
        std::sort(ids.begin(), ids.end());
        const size_t k = std::min<size_t>(static_cast<size_t>(p.sample()), ids.size());
        for (size_t i = 0; i < k; ++i) r.add_sample(ids[i * ids.size() / k]);
        for (auto& bucket : b) *r.add_buckets() = bucket;
        shipped_ += static_cast<int64_t>(k) + (p.fetch() ? 0 : buckets);
        out.push_back(std::move(r));
      }
      return absl::StatusOr<std::vector<v1::ProbeResult>>(std::move(out));
    };
  }

  // Brute force: the first item in order whose inclusive measure reaches t.
  v1::CutKey Expected(bool by_value, int128 t) const {
    std::vector<Item> sorted = items_;
    std::sort(sorted.begin(), sorted.end(), [](const Item& a, const Item& b) {
      return engine::Before(a.score, a.id, b.score, b.id);
    });
    v1::CutKey cut;
    if (t <= 0) {
      cut.set_all(true);
      return cut;
    }
    int128 cum = 0;
    for (const Item& it : sorted) {
      cum += by_value ? it.value : 1;
      if (cum >= t) {
        cut.set_score(it.score);
        cut.set_id(it.id);
        return cut;
      }
    }
    cut.set_none(true);
    return cut;
  }

  int64_t shipped() const { return shipped_; }
  void set_double_count(int n) { double_count_ = n; }
  const std::vector<Item>& items() const { return items_; }

 private:
  std::vector<Item> items_;
  int64_t shipped_ = 0;
  int double_count_ = 0;
};

std::vector<Item> MakeItems(int n, int distinct_scores, double zero_share, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Item> items;
  for (int i = 0; i < n; ++i) {
    Item it;
    it.score = distinct_scores > 0
                   ? static_cast<double>(rng() % static_cast<uint64_t>(distinct_scores))
                   : std::ldexp(static_cast<double>(rng() >> 11), -53);
    it.id = "c" + std::to_string(rng() % 1000000000);
    it.value = (rng() % 1000) < zero_share * 1000 ? 0 : static_cast<int64_t>(rng() % 100000);
    items.push_back(std::move(it));
  }
  // Ids must be unique.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.id < b.id; });
  items.erase(std::unique(items.begin(), items.end(),
                          [](const Item& a, const Item& b) { return a.id == b.id; }),
              items.end());
  return items;
}

void ExpectExact(FakeCluster& cluster, const CutSearchOptions& options) {
  int128 total = 0;
  for (const Item& it : cluster.items()) total += it.value;
  const int64_t n = static_cast<int64_t>(cluster.items().size());
  std::vector<CutTarget> targets;
  for (double b : {0.0, 0.001, 0.5, 0.8, 0.95, 0.999999}) {
    targets.push_back({true, engine::ShareThreshold(b, total)});
    targets.push_back({false, engine::ShareThreshold(b, n)});
  }
  targets.push_back({true, total + 1});  // unreachable
  double lo = 1e300, hi = -1e300;
  for (const Item& it : cluster.items()) {
    lo = std::min(lo, it.score);
    hi = std::max(hi, it.score);
  }
  CutSearchStats stats;
  auto cuts = FindCuts(targets, n, total, lo, hi, cluster.Fn(), options, &stats);
  ASSERT_TRUE(cuts.ok()) << cuts.status();
  for (size_t i = 0; i < targets.size(); ++i) {
    const v1::CutKey want = cluster.Expected(targets[i].by_value, targets[i].threshold);
    EXPECT_EQ((*cuts)[i].SerializeAsString(), want.SerializeAsString())
        << "target " << i << ": got " << (*cuts)[i].ShortDebugString() << " want "
        << want.ShortDebugString();
  }
}

TEST(CutSearchTest, ExactOnContinuousScores) {
  FakeCluster cluster(MakeItems(50000, 0, 0.05, 1));
  ExpectExact(cluster, {});
}

TEST(CutSearchTest, ExactOnHeavyTiesAndZeros) {
  for (int distinct : {1, 2, 7}) {
    FakeCluster cluster(MakeItems(30000, distinct, 0.6, 2));
    CutSearchOptions options;
    options.fetch_limit = 100;
    options.sample = 16;
    ExpectExact(cluster, options);
  }
}

TEST(CutSearchTest, TrafficDoesNotGrowWithCustomers) {
  CutSearchOptions options;
  int64_t small_traffic = 0;
  for (int n : {20000, 200000}) {
    FakeCluster cluster(MakeItems(n, 0, 0.05, 3));
    ExpectExact(cluster, options);
    if (n == 20000) {
      small_traffic = cluster.shipped();
    } else {
      // Ten times the customers: about the same traffic, far below n.
      EXPECT_LT(cluster.shipped(), 3 * small_traffic);
      EXPECT_LT(cluster.shipped(), n / 2);
    }
  }
}

TEST(CutSearchTest, DetectsDoubleCountedSplits) {
  FakeCluster cluster(MakeItems(10000, 0, 0, 4));
  cluster.set_double_count(1);
  auto cuts = FindCuts({{true, 100}}, 10000, 1000000000, 0, 1, cluster.Fn(), {}, nullptr);
  EXPECT_EQ(cuts.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace tierscore::coordinator
