#ifndef TIERSCORE_ENGINE_EXACT_SUM_H_
#define TIERSCORE_ENGINE_EXACT_SUM_H_

#include <array>
#include <cstdint>

#include "tierscore/v1/aggregate.pb.h"

namespace tierscore::engine {

// The exact sum of any number of finite doubles, held as a fixed-point big
// integer covering the whole double range (2^-1074 .. 2^1024). Adding and
// merging are exact, so the result does not depend on the order of the values
// or on how they were split: a job gives bit-identical KPI sums whatever the
// number of workers. Value() rounds the exact sum once, deterministically.
//
// Non-finite inputs are kept aside: any NaN, or +inf and -inf together, makes
// the sum NaN; otherwise an infinity makes it that infinity.
//
// Not thread-safe; merge per-thread instances instead.
class ExactSum {
 public:
  __extension__ typedef unsigned __int128 uint128;

  ExactSum() { limbs_.fill(0); }

  void Add(double x) {
    uint64_t bits;
    __builtin_memcpy(&bits, &x, sizeof bits);
    const int exp_field = static_cast<int>((bits >> 52) & 0x7ff);
    if (exp_field == 0x7ff) {
      AddSpecial(x);
      return;
    }
    uint64_t mant = bits & ((uint64_t{1} << 52) - 1);
    if (mant == 0 && exp_field == 0) return;  // +-0
    // x = mant * 2^(exp - 1075) with the implicit bit; offset from 2^-1074.
    int offset;
    if (exp_field == 0) {
      offset = 0;  // subnormal: mant * 2^-1074
    } else {
      mant |= uint64_t{1} << 52;
      offset = exp_field - 1;
    }
    const int limb = offset >> 5;
    const int shift = offset & 31;
    const uint128 wide = static_cast<uint128>(mant) << shift;
    const int64_t l0 = static_cast<int64_t>(wide & 0xffffffffu);
    const int64_t l1 = static_cast<int64_t>((wide >> 32) & 0xffffffffu);
    const int64_t l2 = static_cast<int64_t>(wide >> 64);
    if (bits >> 63) {
      limbs_[limb] -= l0;
      limbs_[limb + 1] -= l1;
      limbs_[limb + 2] -= l2;
    } else {
      limbs_[limb] += l0;
      limbs_[limb + 1] += l1;
      limbs_[limb + 2] += l2;
    }
    if (++pending_ == kMaxPending) Normalize();
  }

  void Merge(const ExactSum& other);

  // The sum rounded to a double (deterministic for a given exact sum).
  double Value() const;

  bool IsZero() const;

  void ToProto(v1::ExactSumState* out) const;
  static ExactSum FromProto(const v1::ExactSumState& state);

 private:
  // Limbs hold 32 bits each after Normalize(); between normalisations each
  // may grow by < 2^32 per Add, so 2^30 adds cannot overflow an int64.
  static constexpr int kLimbs = 70;
  static constexpr int kMaxPending = 1 << 30;

  void AddSpecial(double x);
  // Propagates carries so limbs 0..kLimbs-2 are in [0, 2^32).
  void Normalize();

  std::array<int64_t, kLimbs> limbs_;
  int pending_ = 0;
  double special_ = 0;  // sum of the non-finite inputs
};

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_EXACT_SUM_H_
