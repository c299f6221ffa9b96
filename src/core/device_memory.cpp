// Device memory of the caching allocator (see device_memory.h).
#include "noisesched/core/device_memory.h"

#include <c10/core/Device.h>

#if NOISESCHED_HAVE_CUDA_GRAPHS
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace noisesched {

#if NOISESCHED_HAVE_CUDA_GRAPHS

namespace {
c10::DeviceIndex index_of(const c10::Device& device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
}  // namespace

void reset_device_memory_peaks(const c10::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
}

DeviceMemory device_memory(const c10::Device& device) {
  DeviceMemory memory;
  if (!device.is_cuda()) return memory;
  const c10::DeviceIndex index = index_of(device);
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
  // Index 0 of each statistic: all pools together (StatType::AGGREGATE).
  memory.peak_allocated = stats.allocated_bytes[0].peak;
  memory.peak_reserved = stats.reserved_bytes[0].peak;
  memory.total = static_cast<std::int64_t>(at::cuda::getDeviceProperties(index)->totalGlobalMem);
  memory.measured = true;
  return memory;
}

#else

void reset_device_memory_peaks(const c10::Device&) {}

DeviceMemory device_memory(const c10::Device&) { return {}; }

#endif

}  // namespace noisesched
