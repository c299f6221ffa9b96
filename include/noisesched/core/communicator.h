// noisesched/core/communicator.h: the one seam through which processes of a run talk.
//
// Training, grids and evaluation call these operations whatever the number of processes; for one
// process they cost nothing and change nothing. Several processes connect through LibTorch's own
// c10d: a TCPStore for the rendezvous and ProcessGroupGloo (CPU tensors) or ProcessGroupNCCL
// (CUDA tensors, in CUDA builds of LibTorch). Every operation is collective: all processes call
// it in the same order. One that fails (a process died, or did not answer within the timeout)
// throws noisesched::Error naming this rank, the operation and what c10d reported.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "noisesched/common/launch.h"
#include "noisesched/config/enums.h"

namespace noisesched {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const { return 0; }
  virtual int world_size() const { return 1; }
  bool first() const { return rank() == 0; }
  // "1 process" or "rank 1 of 2 (local 1 of 2, nproc), gloo, timeout 60 s".
  virtual std::string describe() const { return "1 process"; }

  // Sums each tensor across processes in place (flattened into buckets of about 25 MB of one
  // dtype and device, reduced together). `what` names the operation in errors.
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) {
    (void)tensors, (void)what;
  }
  // Copies the first process's tensors into every other's, in place.
  virtual void broadcast(std::vector<at::Tensor>& tensors, const std::string& what) {
    (void)tensors, (void)what;
  }
  // The largest of every process's value (a stop signal, a failure flag).
  virtual int max(int value, const std::string& what) {
    (void)what;
    return value;
  }
  // max() started now and read later: the returned function waits for the result (call it
  // exactly once, before this communicator goes). Other operations may run in between. On a GPU
  // the result is copied to the host behind the work queued when it started, so reading it waits
  // for that work and not for what was queued since.
  virtual std::function<int()> max_later(int value, const std::string& what) {
    (void)what;
    return [value] { return value; };
  }
  // Work only the first process does (a checkpoint, scoring an evaluation): it calls this when
  // done, the others wait here for it, up to `patience_seconds` (longer than the timeout of the
  // collective operations: writing or scoring may take a while). A first process that dies or is
  // stopped ends the wait within the timeout; one whose work hangs, only after the patience.
  virtual void follow_first(const std::string& what, double patience_seconds) {
    (void)what, (void)patience_seconds;
  }
  // Waits until every process has reached this point, each at its own pace (sampling shares of
  // different sizes), for up to `patience_seconds`; a process that dies or is stopped ends the
  // wait within the timeout. Call before a collective operation that some processes may reach
  // much later than others.
  virtual void arrive_together(const std::string& what, double patience_seconds) {
    (void)what, (void)patience_seconds;
  }
  // The end of a command whose processes part after the first's own work: the others say so and
  // return, the first waits until every other has (up to `patience_seconds`). The first process
  // hosts the store the others read, so it must leave last: ending first would cut a peer off
  // in the middle of its last read.
  virtual void leave_first_last(const std::string& what, double patience_seconds) {
    (void)what, (void)patience_seconds;
  }
  // Every process's `rows` (same shape but for dim 0, which may differ) concatenated along dim 0
  // in rank order, on every process.
  virtual at::Tensor gather_rows(const at::Tensor& rows, const std::string& what) {
    (void)what;
    return rows;
  }
};

// The communicator of a process that runs alone.
std::unique_ptr<Communicator> single_process();

// Joins the run `placement` describes (a single-process communicator when it has one process):
// the rendezvous at master_addr:master_port (rank 0 hosts the store unless the launcher does),
// then a process group for `device` (`backend`: auto is Gloo on the CPU and NCCL on CUDA; Gloo
// on CUDA reduces through the host, so several processes may share a GPU). Waits at most
// `timeout_seconds` for the others, and every later operation as long. Throws when this build
// has no backend for the device or the rendezvous fails.
std::unique_ptr<Communicator> connect(const ProcessPlacement& placement, const c10::Device& device,
                                      double timeout_seconds,
                                      DistBackend backend = DistBackend::kAuto);

// The process group itself, whatever the number of processes: connect() without its shortcut for
// one process. A group of one exercises a backend end to end on one machine (NCCL on one GPU).
std::unique_ptr<Communicator> join_process_group(const ProcessPlacement& placement,
                                                 const c10::Device& device, double timeout_seconds,
                                                 DistBackend backend = DistBackend::kAuto);

// Which backends this build has: "gloo", "gloo, nccl", or "none".
std::string distributed_backends();

}  // namespace noisesched
