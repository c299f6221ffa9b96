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
