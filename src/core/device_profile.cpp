// Device time per operation through Kineto (see device_profile.h).
#include "noisesched/core/device_profile.h"

#include <torch/version.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "noisesched/common/error.h"

// KinetoEvent's nanosecond times came with LibTorch 2.2.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
#include <kineto/ActivityType.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#define NOISESCHED_KINETO 1
#else
#define NOISESCHED_KINETO 0
#endif

namespace noisesched {
namespace {

constexpr const char* kScopePrefix = "noisesched::";

bool is_scope(const std::string& name) {
  return name.compare(0, std::strlen(kScopePrefix), kScopePrefix) == 0;
}

}  // namespace

std::vector<DeviceTime> device_times(const std::vector<TraceEvent>& events) {
  // The program's scopes per host thread, to count an operation inside one as the scope.
  std::map<std::uint64_t, std::vector<const TraceEvent*>> scopes;
  for (const TraceEvent& e : events) {
    if (!e.on_device && is_scope(e.name)) scopes[e.thread].push_back(&e);
  }
  std::unordered_map<std::uint64_t, std::string> launcher;  // correlation id -> row name
  for (const TraceEvent& e : events) {
    if (e.on_device || e.correlation == 0) continue;
    std::string name = e.name;
    const auto found = scopes.find(e.thread);
    if (found != scopes.end()) {
      for (const TraceEvent* scope : found->second) {
        if (scope->start_ns <= e.start_ns && e.end_ns <= scope->end_ns) {
          name = scope->name;
          break;
        }
      }
    }
    launcher[e.correlation] = std::move(name);
  }
  std::map<std::string, DeviceTime> rows;
  for (const TraceEvent& e : events) {
    if (!e.on_device) continue;
    const auto found = e.linked != 0 ? launcher.find(e.linked) : launcher.end();
    const std::string name = found != launcher.end() ? found->second : "(unattributed)";
    DeviceTime& row = rows[name];
    row.name = name;
    row.kernels += 1;
    row.seconds += static_cast<double>(e.end_ns >= e.start_ns ? e.end_ns - e.start_ns : 0) * 1e-9;
  }
  std::vector<DeviceTime> out;
  for (auto& [name, row] : rows) out.push_back(std::move(row));
  std::sort(out.begin(), out.end(), [](const DeviceTime& a, const DeviceTime& b) {
    return a.seconds != b.seconds ? a.seconds > b.seconds : a.name < b.name;
  });
  return out;
}

bool device_profiler_available() { return NOISESCHED_KINETO != 0; }

std::vector<TraceEvent> record_device_trace(const std::function<void()>& work) {
#if NOISESCHED_KINETO
  namespace profiler = torch::profiler::impl;
  const profiler::ProfilerConfig config(profiler::ProfilerState::KINETO);
  const std::set<profiler::ActivityType> activities{profiler::ActivityType::CPU,
                                                    profiler::ActivityType::CUDA};
  torch::autograd::profiler::prepareProfiler(config, activities);
  torch::autograd::profiler::enableProfiler(config, activities);
  try {
    work();
  } catch (...) {
    torch::autograd::profiler::disableProfiler();
    throw;
  }
  const auto result = torch::autograd::profiler::disableProfiler();
  std::vector<TraceEvent> out;
  for (const auto& e : result->events()) {
    // Of the device's activity: kernels, copies and memsets (not the annotations that span a
    // user scope's kernels on the device timeline, which would count them twice).
    const auto activity = static_cast<libkineto::ActivityType>(e.activityType());
    const bool device_work = activity == libkineto::ActivityType::CONCURRENT_KERNEL ||
                             activity == libkineto::ActivityType::GPU_MEMCPY ||
                             activity == libkineto::ActivityType::GPU_MEMSET;
    if (e.deviceType() != c10::DeviceType::CPU && !device_work) continue;
    TraceEvent t;
    t.name = e.name();
    t.on_device = device_work;
    t.start_ns = e.startNs();
    t.end_ns = e.endNs();
    t.thread = e.startThreadId();
    if (t.on_device) {
      t.linked = e.linkedCorrelationId();
    } else if (e.linkedCorrelationId() == 0 && !e.isAsync()) {
      // A host operation (a host event with a link is the device runtime's own call).
      t.correlation = e.correlationId();
    }
    out.push_back(std::move(t));
  }
  return out;
#else
  (void)work;
  throw Error(
      "device time per operation needs a LibTorch with the Kineto profiler (PyTorch 2.2 or "
      "later); "
      "this one (" TORCH_VERSION ") has none");
#endif
}

}  // namespace noisesched
