// Device time per launching operation: the attribution on traces written by hand, and the
// Kineto recorder where the LibTorch has one (on the CPU: host events only).
#include "noisesched/core/device_profile.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <algorithm>

#include "noisesched/common/error.h"
#include "noisesched/core/op_profile.h"

namespace noisesched {
namespace {

// A host operation (`correlation` its id), or with `on_device` a kernel launched by the operation
// whose id is `correlation`.
TraceEvent event(const std::string& name, bool on_device, std::uint64_t thread, std::uint64_t start,
                 std::uint64_t end, std::uint64_t correlation) {
  TraceEvent e;
  e.name = name;
  e.on_device = on_device;
  e.thread = thread;
  e.start_ns = start;
  e.end_ns = end;
  (on_device ? e.linked : e.correlation) = correlation;
  return e;
}
TraceEvent host(const std::string& name, std::uint64_t thread, std::uint64_t start,
                std::uint64_t end, std::uint64_t correlation) {
  return event(name, false, thread, start, end, correlation);
}
TraceEvent kernel(const std::string& name, std::uint64_t start, std::uint64_t end,
                  std::uint64_t linked) {
  return event(name, true, 0, start, end, linked);
}

const DeviceTime* row(const std::vector<DeviceTime>& rows, const std::string& name) {
  const auto it =
      std::find_if(rows.begin(), rows.end(), [&](const DeviceTime& r) { return r.name == name; });
  return it == rows.end() ? nullptr : &*it;
}

TEST(DeviceProfile, KernelsCountForTheOperationThatLaunchedThem) {
  const std::vector<TraceEvent> trace = {
      host("aten::mm", 1, 0, 100, 1),
      host("aten::add", 1, 100, 120, 2),
      kernel("gemm_kernel", 1000, 1050, 1),
      kernel("gemm_tail", 1050, 1080, 1),
      kernel("elementwise", 1080, 1085, 2),
      kernel("orphan", 2000, 2007, 99),  // launched by nothing in the trace
  };
  const auto rows = device_times(trace);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "aten::mm");  // largest first
  EXPECT_EQ(rows[0].kernels, 2);
  EXPECT_DOUBLE_EQ(rows[0].seconds, 80e-9);
  ASSERT_NE(row(rows, "aten::add"), nullptr);
  EXPECT_DOUBLE_EQ(row(rows, "aten::add")->seconds, 5e-9);
  ASSERT_NE(row(rows, "(unattributed)"), nullptr);
  EXPECT_EQ(row(rows, "(unattributed)")->kernels, 1);
}

TEST(DeviceProfile, AnOperationInsideAScopeCountsAsTheScopeOnItsThreadOnly) {
  const std::vector<TraceEvent> trace = {
      host("noisesched::optimizer", 1, 200, 400, 0),
      host("aten::_foreach_add_", 1, 210, 220, 3),
      host("aten::_foreach_add_", 2, 210, 220, 4),  // another thread: not in the scope
      host("aten::mul", 1, 500, 510, 5),            // after the scope
      kernel("multi_tensor_apply", 1000, 1010, 3),
      kernel("multi_tensor_apply", 1010, 1030, 4),
      kernel("mul", 1030, 1031, 5),
  };
  const auto rows = device_times(trace);
  ASSERT_NE(row(rows, "noisesched::optimizer"), nullptr);
  EXPECT_DOUBLE_EQ(row(rows, "noisesched::optimizer")->seconds, 10e-9);
  ASSERT_NE(row(rows, "aten::_foreach_add_"), nullptr);
  EXPECT_DOUBLE_EQ(row(rows, "aten::_foreach_add_")->seconds, 20e-9);
  ASSERT_NE(row(rows, "aten::mul"), nullptr);
  EXPECT_EQ(rows.size(), 3u);
}

TEST(DeviceProfile, RecordsWhereTheLibTorchHasKinetoAndSaysSoWhereItHasNone) {
  const auto work = [] {
    const ProfileScope scope("noisesched::optimizer");
    (at::ones({64, 64}) * 2).sum();
  };
  if (TORCH_VERSION_MAJOR < 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 2)) {
    EXPECT_FALSE(device_profiler_available());
    try {
      record_device_trace(work);
      ADD_FAILURE() << "no error without Kineto";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("Kineto"), std::string::npos) << e.what();
    }
    return;
  }
  ASSERT_TRUE(device_profiler_available());
  const std::vector<TraceEvent> trace = record_device_trace(work);
  // On the CPU: the host operations, with their ids, and the program's scope; no device event.
  const auto named = [&](const std::string& name) {
    return std::find_if(trace.begin(), trace.end(),
                        [&](const TraceEvent& e) { return e.name == name; });
  };
  ASSERT_NE(named("noisesched::optimizer"), trace.end());
  ASSERT_NE(named("aten::mul"), trace.end());
  EXPECT_GT(named("aten::mul")->correlation, 0u);
  EXPECT_GE(named("aten::mul")->end_ns, named("aten::mul")->start_ns);
  for (const TraceEvent& e : trace) EXPECT_FALSE(e.on_device) << e.name;
  EXPECT_TRUE(device_times(trace).empty());
}

}  // namespace
}  // namespace noisesched
