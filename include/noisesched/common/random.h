// noisesched/common/random.h: small deterministic random helpers, identical on every platform.
//
// The standard library's distributions and std::shuffle are implementation-defined, so data order
// and augmentation use these instead: a pure function of (seed, counters) that makes a resumed run
// see exactly the batches an uninterrupted one would have.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace noisesched {

// SplitMix64 finaliser: a well-mixed 64-bit hash of x.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Hash of a sequence of values (seed, purpose, counters...).
inline std::uint64_t hash_values(std::initializer_list<std::uint64_t> values) {
  std::uint64_t h = 0x6a09e667f3bcc909ULL;
  for (std::uint64_t v : values) h = mix64(h ^ mix64(v));
  return h;
}

// A tiny counter-based generator: next() = mix64(state += golden ratio increment).
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) without modulo bias (rejection).
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    std::uint64_t x;
    do {
      x = next();
    } while (x >= limit);
    return x % bound;
  }

 private:
  std::uint64_t state_;
};

// A permutation of 0..n-1 (Fisher-Yates) determined by `seed` alone.
std::vector<std::uint32_t> seeded_permutation(std::uint32_t n, std::uint64_t seed);

}  // namespace noisesched
