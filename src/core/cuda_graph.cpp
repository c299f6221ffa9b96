// CUDA graphs through LibTorch's at::cuda::CUDAGraph (see cuda_graph.h).
#include "noisesched/core/cuda_graph.h"

#include <c10/core/Device.h>
#include <torch/version.h>

#include "noisesched/common/error.h"

#if NOISESCHED_HAVE_CUDA_GRAPHS
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <map>
#include <mutex>
#endif

namespace noisesched {

#if NOISESCHED_HAVE_CUDA_GRAPHS

namespace {

// `later` waits (on the device) for what is queued on `earlier` so far.
void order_after(const c10::cuda::CUDAStream& earlier, const c10::cuda::CUDAStream& later) {
  at::cuda::CUDAEvent event;
  event.record(earlier);
  event.block(later);
}

// One side stream per device for every warm-up and every recording in the process: the
// libraries' per-stream handles and workspaces (cuBLAS keeps one per handle and stream) are then
// made once, by an eager warm-up on that stream, and never inside a recording's memory pool.
c10::cuda::CUDAStream side_stream(c10::DeviceIndex index) {
  static std::mutex mutex;
  static std::map<c10::DeviceIndex, c10::cuda::CUDAStream> streams;
  const std::lock_guard<std::mutex> lock(mutex);
  auto found = streams.find(index);
  if (found == streams.end()) {
    found = streams.emplace(index, c10::cuda::getStreamFromPool(false, index)).first;
  }
  return found->second;
}

// Runs `work` with the side stream as the current stream of its device, between the two waits.
void on_side_stream(const c10::Device& device, const std::function<void()>& work) {
  const c10::DeviceIndex index = device.has_index() ? device.index() : c10::cuda::current_device();
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(index);
  const c10::cuda::CUDAStream side = side_stream(index);
  order_after(current, side);
  {
    const c10::cuda::CUDAStreamGuard guard(side);
    work();
  }
  order_after(side, current);
}

}  // namespace

struct CudaGraph::Impl {
  explicit Impl(const c10::Device& on) : device(on) {}
  c10::Device device;
  at::cuda::CUDAGraph graph;
  bool captured = false;
};

bool CudaGraph::available(const c10::Device& device, std::string* why_not) {
  if (!device.is_cuda()) {
    if (why_not != nullptr) *why_not = "the device is " + device.str() + ", not CUDA";
    return false;
  }
  return true;
}

void CudaGraph::run_beside(const c10::Device& device, const std::function<void()>& work) {
  on_side_stream(device, work);
}

CudaGraph::CudaGraph(const c10::Device& device) {
  std::string why_not;
  if (!available(device, &why_not)) throw Error("CUDA graphs: " + why_not);
  impl_ = std::make_unique<Impl>(device);
}

CudaGraph::~CudaGraph() = default;

bool CudaGraph::captured() const { return impl_->captured; }

void CudaGraph::capture(const std::function<void()>& work, const CudaGraph* share) {
  if (impl_->captured) throw Error("CUDA graphs: this graph is already captured");
  if (share != nullptr && !share->captured()) {
    throw Error("CUDA graphs: the graph to share a memory pool with is not captured");
  }
  const c10::cuda::CUDAGuard device_guard(impl_->device);
  // Autocast's cache of low-precision weight copies would hold tensors made during the capture
  // and hand them to the eager passes afterwards: off while recording, as LibTorch asks.
  const bool cache = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(false);
  // The eager warm-ups leave their peak in the allocator's cache, and the recording's private
  // pool cannot take from it (nor can the allocator free it to make room while recording): hand
  // the cache back first, as LibTorch's own graph capture does, or a capture needs twice the
  // step's memory.
  c10::cuda::device_synchronize();
  c10::cuda::CUDACachingAllocator::emptyCache();
  try {
    on_side_stream(impl_->device, [&] {
      // (The pool's type is named differently across LibTorch versions: not named here.)
      if (share != nullptr) {
        impl_->graph.capture_begin(share->impl_->graph.pool());
      } else {
        impl_->graph.capture_begin();
      }
      try {
        work();
      } catch (...) {
        // End the recording so the stream leaves capture mode; what was recorded is dropped.
        try {
          impl_->graph.capture_end();
        } catch (...) {
        }
        impl_->graph.reset();
        throw;
      }
      impl_->graph.capture_end();
    });
  } catch (...) {
    at::autocast::set_autocast_cache_enabled(cache);
    throw;
  }
  at::autocast::set_autocast_cache_enabled(cache);
  impl_->captured = true;
}

void CudaGraph::replay() {
  if (!impl_->captured) throw Error("CUDA graphs: replay before capture");
  impl_->graph.replay();
}

#else  // no CUDA graphs in this LibTorch

namespace {
const char* const kMissing =
    "this LibTorch (" TORCH_VERSION ") has no CUDA graphs (a CUDA build of LibTorch 2.x has them)";
}  // namespace

struct CudaGraph::Impl {};

bool CudaGraph::available(const c10::Device& device, std::string* why_not) {
  if (why_not != nullptr) {
    *why_not =
        device.is_cuda() ? std::string(kMissing) : "the device is " + device.str() + ", not CUDA";
  }
  return false;
}

void CudaGraph::run_beside(const c10::Device&, const std::function<void()>&) {
  throw Error(std::string("CUDA graphs: ") + kMissing);
}

CudaGraph::CudaGraph(const c10::Device&) { throw Error(std::string("CUDA graphs: ") + kMissing); }

CudaGraph::~CudaGraph() = default;

bool CudaGraph::captured() const { return false; }

void CudaGraph::capture(const std::function<void()>&, const CudaGraph*) {
  throw Error(std::string("CUDA graphs: ") + kMissing);
}

void CudaGraph::replay() { throw Error(std::string("CUDA graphs: ") + kMissing); }

#endif

bool use_cuda_graphs(CudaGraphs mode, const c10::Device& device, std::string* note,
                     const std::string& caller_why_not) {
  std::string why_not;
  if (mode == CudaGraphs::kOff) {
    why_not = "train.cuda_graphs = off";
  } else if (CudaGraph::available(device, &why_not)) {
    why_not = caller_why_not;
  }
  if (!why_not.empty() && mode == CudaGraphs::kOn) {
    throw Error("train.cuda_graphs = on, but " + why_not + "; use auto or off");
  }
  if (note != nullptr) *note = why_not.empty() ? "on" : "off (" + why_not + ")";
  return why_not.empty();
}

}  // namespace noisesched
