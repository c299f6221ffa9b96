// The network passes' arithmetic (see precision.h).
#include "noisesched/core/precision.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

namespace noisesched {
namespace {

// LibTorch 2.x takes the device type as an argument (the per-device functions of 1.x are gone
// from recent versions); CMake's check sets NOISESCHED_AUTOCAST_DEVICE_API when it compiles.
bool autocast_enabled(c10::DeviceType type) {
#if NOISESCHED_AUTOCAST_DEVICE_API
  return at::autocast::is_autocast_enabled(type);
#else
  return type == c10::DeviceType::CUDA ? at::autocast::is_enabled()
                                       : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast_enabled(c10::DeviceType type, bool enabled) {
#if NOISESCHED_AUTOCAST_DEVICE_API
  at::autocast::set_autocast_enabled(type, enabled);
#else
  if (type == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

at::ScalarType autocast_dtype(c10::DeviceType type) {
#if NOISESCHED_AUTOCAST_DEVICE_API
  return at::autocast::get_autocast_dtype(type);
#else
  return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                       : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast_dtype(c10::DeviceType type, at::ScalarType dtype) {
#if NOISESCHED_AUTOCAST_DEVICE_API
  at::autocast::set_autocast_dtype(type, dtype);
#else
  if (type == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace

struct PrecisionScope::State {
  c10::DeviceType type = c10::DeviceType::CPU;
  bool autocast = false;  // this scope turned autocast on
  bool was_enabled = false;
  at::ScalarType was_dtype = at::kFloat;
};

PrecisionScope::PrecisionScope(Precision precision, const c10::Device& device)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.type = device.type();
  if (device.is_cuda()) {
    // Process-wide flags, set both ways (LibTorch's own defaults differ: TF32 convolutions on,
    // products off) and kept after the scope: the backward pass and the optimizer run after it
    // and must compute in the same arithmetic.
    auto& context = at::globalContext();
    const bool tf32 = precision != Precision::kFp32;
    if (context.allowTF32CuBLAS() != tf32) context.setAllowTF32CuBLAS(tf32);
    if (context.allowTF32CuDNN() != tf32) context.setAllowTF32CuDNN(tf32);
  }
  // CUDA only: LibTorch 1.13's CPU autocast casts LayerNorm's input but not its weight, and the
  // models' normalisations then fail; on the CPU every precision computes in float32.
  if (precision == Precision::kBf16 && device.is_cuda()) {
    s.autocast = true;
    s.was_enabled = autocast_enabled(s.type);
    s.was_dtype = autocast_dtype(s.type);
    set_autocast_dtype(s.type, at::kBFloat16);
    set_autocast_enabled(s.type, true);
    at::autocast::increment_nesting();
  }
}

PrecisionScope::~PrecisionScope() {
  State& s = *state_;
  if (s.autocast) {
    // Leaving the outermost scope drops autocast's cache of bfloat16 weight copies: the next
    // step's weights differ.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast_enabled(s.type, s.was_enabled);
    set_autocast_dtype(s.type, s.was_dtype);
  }
}

}  // namespace noisesched
