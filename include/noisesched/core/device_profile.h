// noisesched/core/device_profile.h: where a piece of work spends the GPU's time, per operation.
//
// OpProfile (op_profile.h) times operations on the host: on a GPU that is the time to launch
// them, not to run them. Here LibTorch's Kineto profiler records every kernel, copy and memset
// the device runs, each linked by a correlation id to the operation that launched it (the
// innermost one, so each kernel counts once: the operation's self device time). Operations inside
// a "noisesched::" scope count as the scope, as in OpProfile. Needs a LibTorch with Kineto
// (PyTorch 2.2 and later; Debian's 1.13 has none: `device_profiler_available()` is false).
// This header includes no LibTorch header.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace noisesched {

// One event of a profiler trace, as much of it as the attribution needs.
struct TraceEvent {
  std::string name;
  bool on_device = false;  // a kernel, copy or memset the device ran
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
  std::uint64_t thread = 0;       // host events: the thread that ran it
  std::uint64_t correlation = 0;  // host events: the operation's id
  std::uint64_t linked = 0;       // device events: the launching operation's id (0: unknown)
};

struct DeviceTime {
  std::string name;  // the launching operation, its scope, or "(unattributed)"
  std::int64_t kernels = 0;
  double seconds = 0;
};

// Device time per launching operation (or its "noisesched::" scope), largest first. Device
// events whose link names no host operation of the trace are summed as "(unattributed)".
std::vector<DeviceTime> device_times(const std::vector<TraceEvent>& events);

// Whether this LibTorch records device activity.
bool device_profiler_available();

// Runs `work` under the Kineto profiler (host and CUDA activity) and returns its events. Throws
// when no profiler is available. The caller synchronises the device inside `work`.
std::vector<TraceEvent> record_device_trace(const std::function<void()>& work);

}  // namespace noisesched
