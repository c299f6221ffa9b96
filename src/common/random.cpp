// Deterministic permutations (see random.h).
#include "noisesched/common/random.h"

#include <numeric>
#include <utility>

namespace noisesched {

std::vector<std::uint32_t> seeded_permutation(std::uint32_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  SplitMix64 rng(seed);
  for (std::uint32_t i = n; i > 1; --i) {
    std::swap(order[i - 1], order[rng.below(i)]);
  }
  return order;
}

}  // namespace noisesched
