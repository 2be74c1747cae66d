#ifndef TIERSCORE_ENGINE_INT128_H_
#define TIERSCORE_ENGINE_INT128_H_

#include "tierscore/v1/aggregate.pb.h"

namespace tierscore::engine {

// Value sums that decide tiers are 128-bit integers so that they cannot
// overflow and do not depend on summation order.
__extension__ typedef __int128 int128;

inline void ToProto(int128 v, v1::Int128* out) {
  out->set_hi(static_cast<int64_t>(v >> 64));
  out->set_lo(static_cast<uint64_t>(v));
}

inline int128 FromProto(const v1::Int128& p) {
  return (static_cast<int128>(p.hi()) << 64) | static_cast<int128>(p.lo());
}

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_INT128_H_
