// Seeded LibTorch generators (see generators.h).
#include "noisesched/core/generators.h"

#include <ATen/Context.h>

#include <mutex>

namespace noisesched {

at::Generator seeded_generator(const c10::Device& device, std::uint64_t seed) {
  at::Generator generator = at::globalContext().defaultGenerator(device).clone();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_current_seed(seed);
  return generator;
}

}  // namespace noisesched
