#include "engine/sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tierscore::engine {
namespace {

constexpr double kGamma =
    (1 + QuantileSketch::kRelativeAccuracy) / (1 - QuantileSketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);
// Magnitudes below this are counted as zero.
constexpr double kMinMagnitude = 1e-9;

}  // namespace

void QuantileSketch::Store::Add(int index, int64_t n) {
  if (counts.empty()) {
    offset = index;
    counts.assign(1, 0);
  } else if (index < offset) {
    counts.insert(counts.begin(), static_cast<size_t>(offset - index), 0);
    offset = index;
  } else if (index >= offset + static_cast<int>(counts.size())) {
    counts.resize(static_cast<size_t>(index - offset + 1), 0);
  }
  counts[static_cast<size_t>(index - offset)] += n;
}

int64_t QuantileSketch::Store::Total() const {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  return total;
}

int QuantileSketch::IndexOf(double magnitude) {
  return static_cast<int>(std::ceil(std::log(magnitude) / kLogGamma));
}

double QuantileSketch::ValueOf(int index) { return 2 * std::pow(kGamma, index) / (kGamma + 1); }

void QuantileSketch::Add(double x) {
  if (std::isnan(x)) return;
  ++count_;
  if (std::fabs(x) < kMinMagnitude) {
    ++zero_count_;
  } else if (x > 0) {
    positive_.Add(IndexOf(x), 1);
  } else {
    negative_.Add(IndexOf(-x), 1);
  }
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  for (size_t i = 0; i < other.positive_.counts.size(); ++i) {
    if (other.positive_.counts[i] != 0) {
      positive_.Add(other.positive_.offset + static_cast<int>(i), other.positive_.counts[i]);
    }
  }
  for (size_t i = 0; i < other.negative_.counts.size(); ++i) {
    if (other.negative_.counts[i] != 0) {
      negative_.Add(other.negative_.offset + static_cast<int>(i), other.negative_.counts[i]);
    }
  }
  zero_count_ += other.zero_count_;
  count_ += other.count_;
}

double QuantileSketch::Quantile(double q) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  const int64_t rank = static_cast<int64_t>(std::floor(q * static_cast<double>(count_ - 1)));
  int64_t seen = 0;
  // Ascending order: negatives by descending magnitude, zeros, positives.
  for (size_t i = negative_.counts.size(); i-- > 0;) {
    seen += negative_.counts[i];
    if (seen > rank) return -ValueOf(negative_.offset + static_cast<int>(i));
  }
  seen += zero_count_;
  if (seen > rank) return 0.0;
  for (size_t i = 0; i < positive_.counts.size(); ++i) {
    seen += positive_.counts[i];
    if (seen > rank) return ValueOf(positive_.offset + static_cast<int>(i));
  }
  return ValueOf(positive_.offset + static_cast<int>(positive_.counts.size()) - 1);
}

double QuantileSketch::Cdf(double x) const { return CdfTable(*this).At(x); }

CdfTable::CdfTable(const QuantileSketch& s)
    : count_(s.count_),
      below_positive_(s.negative_.Total() + s.zero_count_),
      pos_offset_(s.positive_.offset),
      neg_offset_(s.negative_.offset) {
  int64_t run = 0;
  for (int64_t c : s.positive_.counts) pos_cum_.push_back(run += c);
  neg_cum_.resize(s.negative_.counts.size());
  run = 0;
  for (size_t i = s.negative_.counts.size(); i-- > 0;) {
    neg_cum_[i] = run += s.negative_.counts[i];
  }
}

double CdfTable::At(double x) const {
  if (count_ == 0 || std::isnan(x)) return 0.0;
  int64_t at_or_below;
  if (std::fabs(x) < kMinMagnitude) {
    at_or_below = below_positive_;
  } else if (x > 0) {
    const int64_t i = QuantileSketch::IndexOf(x) - pos_offset_;
    at_or_below = below_positive_;
    if (i >= 0 && !pos_cum_.empty()) {
      at_or_below += pos_cum_[std::min<size_t>(static_cast<size_t>(i), pos_cum_.size() - 1)];
    }
  } else {
    // Negatives at or below x have a magnitude index >= x's.
    const int64_t i = QuantileSketch::IndexOf(-x) - neg_offset_;
    at_or_below = 0;
    if (!neg_cum_.empty() && i < static_cast<int64_t>(neg_cum_.size())) {
      at_or_below = neg_cum_[static_cast<size_t>(std::max<int64_t>(i, 0))];
    }
  }
  return static_cast<double>(at_or_below) / static_cast<double>(count_);
}

void QuantileSketch::ToProto(v1::SketchState* out) const {
  out->Clear();
  out->set_zero_count(zero_count_);
  for (size_t i = 0; i < positive_.counts.size(); ++i) {
    if (positive_.counts[i] != 0) {
      (*out->mutable_positive())[positive_.offset + static_cast<int>(i)] = positive_.counts[i];
    }
  }
  for (size_t i = 0; i < negative_.counts.size(); ++i) {
    if (negative_.counts[i] != 0) {
      (*out->mutable_negative())[negative_.offset + static_cast<int>(i)] = negative_.counts[i];
    }
  }
}

QuantileSketch QuantileSketch::FromProto(const v1::SketchState& state) {
  QuantileSketch s;
  s.zero_count_ = state.zero_count();
  s.count_ = state.zero_count();
  for (const auto& [index, n] : state.positive()) {
    s.positive_.Add(index, n);
    s.count_ += n;
  }
  for (const auto& [index, n] : state.negative()) {
    s.negative_.Add(index, n);
    s.count_ += n;
  }
  return s;
}

}  // namespace tierscore::engine
