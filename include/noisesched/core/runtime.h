// noisesched/core/runtime.h: process-wide LibTorch settings (threads, device) and what the build
// has.
//
// Debian's LibTorch starts with one intra-op thread; every noisesched program calls
// configure_threads() first so that all cores are used unless the user asks otherwise.
// This header includes no LibTorch header.
#pragma once

#include <string>

namespace noisesched {

// Sets LibTorch's intra-op thread count: `requested` > 0 as given, 0 for all cores.
// Returns the count now in effect. Throws when requested < 0.
int configure_threads(int requested);

// Settings that make LibTorch on the CPU fast and that must be in place before the OpenMP runtime
// starts (it reads its environment when the library loads). Only for builds that use the system's
// pthread OpenBLAS (see CMakeLists.txt): its worker threads spin against LibTorch's OpenMP threads,
// so if OMP_WAIT_POLICY is unset this sets it to PASSIVE (idle OpenMP threads sleep; measured
// 4.4 -> 2.8 s per step of a small RIN on 2 cores) and re-executes the program; the user's own
// setting is respected. With the OpenMP OpenBLAS there is one pool and spinning is faster, so
// nothing is done. Call first thing in main for the compute-heavy commands; returns only when no
// re-execution was needed (or possible).
void ensure_fast_cpu_environment(char** argv);

// Keeps freed memory in the process for reuse instead of returning it to the kernel: LibTorch
// allocates and frees the same large activation buffers every step, and fresh pages cost a page
// fault each (measured 5.7 -> 4.4 s per step). glibc only; safe to call any time.
void configure_allocator();

struct RuntimeInfo {
  std::string torch_version;  // e.g. "1.13.0" (of the LibTorch headers compiled against)
  int threads = 1;            // intra-op threads in effect
  int hardware_threads = 1;   // what the machine offers
  bool cuda_available = false;
  int cuda_devices = 0;
  std::string parallel_backend;  // LibTorch's own description (OpenMP, MKL, ...)
};

RuntimeInfo runtime_info();

}  // namespace noisesched
