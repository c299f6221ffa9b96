// LibTorch process settings (see runtime.h).
#include "noisesched/core/runtime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "noisesched/common/error.h"

namespace noisesched {

int configure_threads(int requested) {
  if (requested < 0) {
    throw Error("--threads must be >= 0 (0 means all cores), got " + std::to_string(requested));
  }
  const int threads = requested > 0
                          ? requested
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

void ensure_fast_cpu_environment(char** argv) {
  if (NOISESCHED_OPENMP_BLAS || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with the spinning default.
}

void configure_allocator() {
  ::mallopt(M_MMAP_MAX, 0);              // large blocks from the heap, reusable
  ::mallopt(M_TRIM_THRESHOLD, INT_MAX);  // hand memory back only above 2 GiB of free heap
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  std::ostringstream version;
  version << TORCH_VERSION_MAJOR << '.' << TORCH_VERSION_MINOR << '.' << TORCH_VERSION_PATCH;
  info.torch_version = version.str();
  info.threads = at::get_num_threads();
  info.hardware_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  info.cuda_available = torch::cuda::is_available();
  info.cuda_devices = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  // get_parallel_info() is a multi-line report; its "ATen parallel backend" line names the backend.
  std::istringstream report(at::get_parallel_info());
  for (std::string line; std::getline(report, line);) {
    if (line.find("parallel backend") != std::string::npos) {
      info.parallel_backend = line.substr(line.find(':') + 1);
      info.parallel_backend.erase(0, info.parallel_backend.find_first_not_of(' '));
    }
  }
  return info;
}

}  // namespace noisesched
