// noisesched/core/cuda_graph.h: a CUDA graph of a piece of device work, where LibTorch has them.
//
// capture() runs a function once while CUDA records, instead of running, every kernel and copy it
// launches; replay() then launches that whole recording with one call. The work must read only
// tensors that stay in place (static buffers: new inputs are copied into them before each
// replay), make no host value out of a device value, and take every number that changes from one
// replay to the next from a device tensor: a host number is baked into the recording. Random
// numbers drawn inside the work from LibTorch's default CUDA generator stay fresh at each replay
// (LibTorch registers that generator with the graph). Memory the work allocates comes from a
// pool private to the graph (or shared with another graph that is never replayed at the same
// time), so a tensor it returns is overwritten by the next replay: copy what must outlive it.
//
// Available where LibTorch has `at::cuda::CUDAGraph` (the configure check
// NOISESCHED_HAVE_CUDA_GRAPHS: a CUDA build of LibTorch 2.x) and the device is CUDA; elsewhere
// every function but available() throws an Error saying why. This header includes no LibTorch
// header.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "noisesched/config/enums.h"

namespace c10 {
struct Device;
}

namespace noisesched {

class CudaGraph {
 public:
  // Whether graphs can be captured on `device` here; `why_not` (if given) says why not.
  static bool available(const c10::Device& device, std::string* why_not = nullptr);

  // Runs `work` on a stream of `device` other than the current one, ordered after the work
  // already queued on the current stream and before what is queued on it next: what LibTorch asks
  // for before a capture (the libraries' lazily made handles and workspaces then belong to the
  // capturing stream, not to the graph).
  static void run_beside(const c10::Device& device, const std::function<void()>& work);

  explicit CudaGraph(const c10::Device& device);  // throws where !available(device)
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Records `work` (above) on a side stream ordered like run_beside(). `share`: a captured graph
  // whose memory pool this one shares (the two must never replay at the same time). A `work`
  // that throws leaves no recording behind and the error propagates.
  void capture(const std::function<void()>& work, const CudaGraph* share = nullptr);
  bool captured() const;
  // Launches the recording on the current stream.
  void replay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// How the setting train.cuda_graphs = `mode` resolves on `device`: whether graphs are used. `note`
// (if given) receives "on" or "off (why)". `caller_why_not`: the caller's own reason why graphs
// cannot be used here (empty: none), weighed where the device allows them. For kOn where graphs
// cannot be used it throws an Error naming the key and the reason.
bool use_cuda_graphs(CudaGraphs mode, const c10::Device& device, std::string* note = nullptr,
                     const std::string& caller_why_not = "");

}  // namespace noisesched
