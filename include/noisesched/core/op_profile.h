// noisesched/core/op_profile.h: where a piece of LibTorch work spends its time, per operation.
//
// While an OpProfile is alive, every LibTorch operation on every thread (the aten operators, the
// autograd engine's nodes, and the program's own named scopes) is timed through LibTorch's
// RecordFunction hooks, the ones PyTorch's profiler uses; `stop()` returns each operation's self
// time (its time minus that of the operations it called). Work inside a scope whose name starts
// with "noisesched::" is counted as that scope (for example the optimizer's whole update as one
// row), so a table of the step reads forward/backward operators plus the program's phases.
// One profile at a time per process. This header includes no LibTorch header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace noisesched {

struct OpTime {
  std::string name;
  std::int64_t calls = 0;
  double self_seconds = 0;
  // For a "noisesched::" scope: the operations its own code called directly (not those they call
  // in turn), over all its calls. On a GPU each is one kernel launch or a fixed few.
  std::int64_t dispatches = 0;
};

class OpProfile {
 public:
  OpProfile();  // starts recording; throws if another profile is recording
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  // Stops recording and returns the operations by self time, largest first.
  std::vector<OpTime> stop();

  // After stop(): how many times the recorded work made the host wait for the device, or would
  // on a GPU: reads of a tensor's value to the host (aten::_local_scalar_dense: item(), a tensor
  // used as a bool or a number), copies from a device tensor into a host tensor, and nonzero /
  // masked_select / unique on a device (their output size depends on the values). On the CPU
  // the reads are what counts: the same code on CUDA waits at each.
  std::int64_t host_syncs() const { return host_syncs_; }

 private:
  std::int64_t host_syncs_ = 0;
  std::uint64_t handle_ = 0;
  bool recording_ = false;
};

// Records the LibTorch operations run (on any thread) while it lives, in order, each as its name
// and its arguments with tensors described by shape, dtype and device, and every other argument
// (numbers, flags, lists) by value. Device work that a CUDA graph can record once and replay
// (core/cuda_graph.h) runs the same sequence at every step; a host number that changes from one
// step to the next (a learning rate passed as a number, a fill with the step count) shows as a
// difference between two traces. Independent of OpProfile; one trace at a time per process.
class OpTrace {
 public:
  OpTrace();  // starts recording; throws if another trace is recording
  ~OpTrace();
  OpTrace(const OpTrace&) = delete;
  OpTrace& operator=(const OpTrace&) = delete;

  // Stops recording and returns the operations in the order they started.
  std::vector<std::string> stop();

 private:
  std::uint64_t handle_ = 0;
  bool recording_ = false;
};

// Marks a phase of the program's own work as a profile row ("noisesched::" + name); costs nothing
// measurable when no profile is recording.
class ProfileScope {
 public:
  explicit ProfileScope(const char* name);  // `name` must outlive the scope (a literal)
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  struct Guard;
  std::unique_ptr<Guard> guard_;
};

}  // namespace noisesched
