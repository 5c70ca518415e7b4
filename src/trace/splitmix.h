// splitmix.h: splitmix64, the one pseudo-random sequence of the trace
// generators (gen and the scenario library): the same stream on every
// platform and standard library, so a seed always gives the same trace.
#ifndef RMAPLAB_TRACE_SPLITMIX_H_
#define RMAPLAB_TRACE_SPLITMIX_H_

#include <cstdint>

namespace rmaplab {

class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).  REQUIRES: n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool Chance(int percent) {
    return Below(100) < static_cast<uint64_t>(percent);
  }

 private:
  uint64_t state_;
};

}  // namespace rmaplab

#endif  // RMAPLAB_TRACE_SPLITMIX_H_
