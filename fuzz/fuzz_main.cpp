// One libFuzzer entry point; NOISESCHED_FUZZ_TARGET names the target (see targets.h).
#include <cstdlib>
#include <string>

#include "targets.h"

namespace {

const noisesched::fuzz::Target& chosen() {
  for (const auto& target : noisesched::fuzz::targets()) {
    if (target.name == NOISESCHED_FUZZ_TARGET) return target;
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const noisesched::fuzz::Target& target = chosen();
  target.run(data, size);
  return 0;
}
