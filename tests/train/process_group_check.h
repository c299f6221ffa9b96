// A process group of one, checked end to end on `device`: all-reduce (a sum over one process is
// the tensor itself, in buckets of mixed dtypes), broadcast from rank 0, max and gathered rows.
// Gloo on the CPU (distributed_test); NCCL, and Gloo through the host, on one GPU (gpu_test).
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <vector>

#include "noisesched/common/launch.h"
#include "noisesched/core/communicator.h"

namespace noisesched::testing {

inline void expect_a_group_of_one_works(const c10::Device& device,
                                        const std::string& expected_backend,
                                        DistBackend backend = DistBackend::kAuto) {
  ProcessPlacement placement;
  placement.master_port = free_local_port();
  const auto group = join_process_group(placement, device, 30, backend);
  EXPECT_EQ(group->rank(), 0);
  EXPECT_EQ(group->world_size(), 1);
  EXPECT_NE(group->describe().find(expected_backend), std::string::npos) << group->describe();
  const auto options = at::TensorOptions().device(device);
  const at::Tensor a = at::arange(12, options.dtype(at::kFloat)).reshape({3, 4});
  const at::Tensor b = at::arange(5, options.dtype(at::kDouble));
  std::vector<at::Tensor> tensors{a.clone(), b.clone()};
  group->all_reduce_sum(tensors, "a test sum");
  EXPECT_TRUE(at::equal(tensors[0], a));
  EXPECT_TRUE(at::equal(tensors[1], b));
  EXPECT_EQ(tensors[0].device(), device);
  std::vector<at::Tensor> sent{a.clone()};
  group->broadcast(sent, "a test broadcast");
  EXPECT_TRUE(at::equal(sent[0], a));
  EXPECT_EQ(group->max(7, "a test max"), 7);
  {
    // Started, another collective in between, then read.
    const auto later = group->max_later(5, "a test max started early");
    EXPECT_EQ(group->max(2, "a test max in between"), 2);
    EXPECT_EQ(later(), 5);
  }
  EXPECT_TRUE(at::equal(group->gather_rows(a, "test rows"), a));
}

}  // namespace noisesched::testing
