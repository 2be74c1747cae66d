#include "engine/int128.h"

#include <algorithm>

namespace tierscore::engine {

std::string Int128ToString(int128 v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  // Work with negative numbers so that the minimum value does not overflow.
  if (!negative) v = -v;
  std::string out;
  while (v != 0) {
    out.push_back(static_cast<char>('0' - static_cast<int>(v % 10)));
    v /= 10;
  }
  if (negative) out.push_back('-');
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace tierscore::engine
