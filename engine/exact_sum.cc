#include "engine/exact_sum.h"

#include <cmath>

namespace tierscore::engine {

void ExactSum::AddSpecial(double x) { special_ += x; }

void ExactSum::Normalize() {
  int64_t carry = 0;
  for (int i = 0; i < kLimbs - 1; ++i) {
    const int64_t v = limbs_[i] + carry;
    carry = v >> 32;  // arithmetic shift: floor division by 2^32
    limbs_[i] = v & 0xffffffff;
  }
  limbs_[kLimbs - 1] += carry;
  pending_ = 0;
}

void ExactSum::Merge(const ExactSum& other) {
  ExactSum copy = other;
  copy.Normalize();
  Normalize();
  for (int i = 0; i < kLimbs; ++i) limbs_[i] += copy.limbs_[i];
  special_ += other.special_;
  Normalize();
}

bool ExactSum::IsZero() const {
  ExactSum copy = *this;
  copy.Normalize();
  for (int64_t l : copy.limbs_) {
    if (l != 0) return false;
  }
  return copy.special_ == 0;
}

double ExactSum::Value() const {
  if (special_ != 0 || std::isnan(special_)) return special_;
  ExactSum copy = *this;
  copy.Normalize();
  // The top limb carries the sign. For a negative sum, negate into magnitude
  // form so that the rounding below is symmetric.
  bool negative = copy.limbs_[kLimbs - 1] < 0;
  if (negative) {
    int64_t borrow = 0;
    for (int i = 0; i < kLimbs; ++i) copy.limbs_[i] = -copy.limbs_[i];
    for (int i = 0; i < kLimbs - 1; ++i) {
      int64_t v = copy.limbs_[i] + borrow;
      borrow = v >> 32;
      copy.limbs_[i] = v & 0xffffffff;
    }
    copy.limbs_[kLimbs - 1] += borrow;
  }
  int top = kLimbs - 1;
  while (top >= 0 && copy.limbs_[top] == 0) --top;
  if (top < 0) return 0.0;
  // The leading three limbs (up to 96 bits) fold into a long double; the
  // result is within one ulp of the exact sum and, being a function of the
  // exact sum alone, the same however the values were added.
  long double acc = 0;
  for (int i = top; i >= 0 && i > top - 3; --i) {
    acc = acc * 4294967296.0L + static_cast<long double>(copy.limbs_[i]);
  }
  const int low = top - 2 < 0 ? 0 : top - 2;
  const long double scaled = std::ldexp(acc, 32 * low - 1074);
  const double result = static_cast<double>(scaled);
  return negative ? -result : result;
}

void ExactSum::ToProto(v1::ExactSumState* out) const {
  ExactSum copy = *this;
  copy.Normalize();
  out->Clear();
  int first = 0;
  while (first < kLimbs && copy.limbs_[first] == 0) ++first;
  int last = kLimbs - 1;
  while (last >= first && copy.limbs_[last] == 0) --last;
  out->set_first(first);
  for (int i = first; i <= last; ++i) out->add_limbs(copy.limbs_[i]);
  if (special_ != 0 || std::isnan(special_)) {
    // A non-finite sum: first = -1 and one limb with its sign (0 = NaN).
    out->set_first(-1);
    out->clear_limbs();
    out->add_limbs(std::isnan(special_) ? 0 : (special_ > 0 ? 1 : -1));
  }
}

ExactSum ExactSum::FromProto(const v1::ExactSumState& state) {
  ExactSum sum;
  if (state.first() < 0) {
    const int64_t tag = state.limbs_size() ? state.limbs(0) : 0;
    sum.special_ = tag == 0 ? std::nan("") : (tag > 0 ? HUGE_VAL : -HUGE_VAL);
    return sum;
  }
  for (int i = 0; i < state.limbs_size() && state.first() + i < kLimbs; ++i) {
    sum.limbs_[state.first() + i] = state.limbs(i);
  }
  return sum;
}

}  // namespace tierscore::engine
