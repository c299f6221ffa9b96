// noisesched/core/generators.h: LibTorch generators seeded from noisesched's counters.
#pragma once

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <cstdint>

namespace noisesched {

// A fresh generator for `device` (CPU or CUDA) with the given seed, independent of the global one.
at::Generator seeded_generator(const c10::Device& device, std::uint64_t seed);

}  // namespace noisesched
