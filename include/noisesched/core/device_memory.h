// noisesched/core/device_memory.h: how much of a CUDA device's memory a piece of work took.
//
// LibTorch's caching allocator counts the bytes its tensors hold (allocated) and the bytes it has
// taken from the device for them (reserved: allocated plus its cache and the rounding of its
// blocks), with the peak of each since the last reset; CUDA graphs' private pools count too. Where
// the device is not CUDA, or the LibTorch has no CUDA (the configure check
// NOISESCHED_HAVE_CUDA_GRAPHS stands for a CUDA build of LibTorch 2.x), nothing is measured. This
// header includes no LibTorch header.
#pragma once

#include <cstdint>

namespace c10 {
struct Device;
}

namespace noisesched {

struct DeviceMemory {
  bool measured = false;
  std::int64_t peak_allocated = 0;  // bytes, since reset_device_memory_peaks()
  std::int64_t peak_reserved = 0;
  std::int64_t total = 0;  // the device's memory
};

// Starts the peaks anew (nothing where nothing is measured).
void reset_device_memory_peaks(const c10::Device& device);
DeviceMemory device_memory(const c10::Device& device);

}  // namespace noisesched
