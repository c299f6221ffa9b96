// noisesched/common/random_purpose.h: every purpose a random stream is drawn for, in one place.
//
// A stream is seeded with hash_values({seed, purpose, counters...}). Two purposes with the same
// value would draw the same numbers (once, the weight initialisation and the evaluation samples
// did), so every value is listed here and a test checks that they are pairwise distinct. Values
// are fixed forever: changing one changes every result drawn with it.
#pragma once

#include <array>
#include <cstdint>

namespace noisesched::purpose {

// Training (seeded from train.seed; the per-step ones also hash the step).
inline constexpr std::uint64_t kTrainTimes = 1;
inline constexpr std::uint64_t kTrainNoise = 2;
inline constexpr std::uint64_t kLabelDrop = 3;
inline constexpr std::uint64_t kSelfCond = 4;
inline constexpr std::uint64_t kGridSamples = 5;  // sample grids written during training
inline constexpr std::uint64_t kInit = 6;         // weight initialisation
inline constexpr std::uint64_t kEvalSamples = 7;  // evaluation during training
// Data order and augmentation (data/loader.cpp).
inline constexpr std::uint64_t kPermutation = 0x7065726d;  // "perm"
inline constexpr std::uint64_t kFlip = 0x666c6970;         // "flip"
// Sampling (sampling/generate.cpp): per-image starting noise, per-batch step noise.
inline constexpr std::uint64_t kStartNoise = 0x6e6f697365;  // "noise"
inline constexpr std::uint64_t kStepNoise = 0x73746570;     // "step"
// check-sampler: the sampler's noise, the two exact samples, the sliced-W2 directions.
inline constexpr std::uint64_t kCheckNoise = 0x636b6e;      // "ckn"
inline constexpr std::uint64_t kExactSampleA = 0x657861;    // "exa"
inline constexpr std::uint64_t kExactSampleB = 0x657862;    // "exb"
inline constexpr std::uint64_t kSlicedDirections = 0x7377;  // "sw"
// Evaluation: KID subsets, the precision/recall reference subset, corruptions of image sets.
inline constexpr std::uint64_t kKidGenerated = 0x6b6964;  // "kid"
inline constexpr std::uint64_t kKidReference = 0x6b6972;  // "kir"
inline constexpr std::uint64_t kPrSubset = 0x9e7;
// The Fashion-MNIST feature classifier: epoch order and flips.
inline constexpr std::uint64_t kClassifierOrder = 0xc1a5;
inline constexpr std::uint64_t kClassifierFlip = 0xf11b;

inline constexpr std::array<std::uint64_t, 20> kAll = {
    kTrainTimes,   kTrainNoise,   kLabelDrop,        kSelfCond,
    kGridSamples,  kInit,         kEvalSamples,      kPermutation,
    kFlip,         kStartNoise,   kStepNoise,        kCheckNoise,
    kExactSampleA, kExactSampleB, kSlicedDirections, kKidGenerated,
    kKidReference, kPrSubset,     kClassifierOrder,  kClassifierFlip};

}  // namespace noisesched::purpose
