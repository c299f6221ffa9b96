// noisesched/diffusion/network.h: the one way a denoising network is asked for a prediction.
//
// predict() normalises z, computes the noise level the network is conditioned on, runs the
// network (twice as wide with classifier-free guidance: conditional and null-class halves),
// combines the guided output, converts eps/x0/v into x0 and eps estimates, clips x0 to [-b, b] and
// recomputes eps from it, and forms the self-conditioning signal for the next pass. Training's
// self-conditioning pass, its trained pass and every sampler call it, so what the network sees
// at sampling is by construction what it saw in training. It is also the place for a precision
// policy (autocast) on accelerators.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "noisesched/diffusion/parameterization.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"

namespace noisesched {

class NetworkGraphs;

struct PredictOptions {
  double guidance = 0.0;  // w: (1 + w) cond - w uncond on the network output; 0: one pass
  bool clip = true;       // clip x0 to [-b, b] and recompute eps from it
  bool estimate = true;   // form x0/eps and the self-conditioning signal (training's trained
                          // pass only needs the raw output)
  // Where given (sampling on CUDA, train.cuda_graphs), the network's forward pass replays CUDA
  // graphs (below). Not for passes that need gradients.
  NetworkGraphs* graphs = nullptr;
};

struct NetworkPrediction {
  at::Tensor output;    // [B, C, H, W] the network's target output (guided when guidance != 0)
  at::Tensor latents;   // RIN's final latents ([B or 2B, M + 2, D]); undefined for the U-Net
  Prediction estimate;  // x0 (clipped when asked) and eps consistent with it, [B, C, H, W]
  // What to pass as `self_cond` to the next call ([2B, ...] with guidance, one per half);
  // undefined when setup.self_condition is false.
  at::Tensor self_cond;
};

// CUDA graphs of a network's forward pass at sampling (no gradients; core/cuda_graph.h), one per
// input signature (the shapes of the image batch, the labels and the self-conditioning signal, or
// none). A signature runs eagerly the first time (on a side stream: the warm-up LibTorch asks for
// before a capture), is recorded the second time, and replays from then on: the inputs are copied
// into the tensors it was recorded with and the outputs copied out (the next replay overwrites
// them). The network's inputs are device tensors (the noise level too), so nothing baked into a
// recording changes between calls. One object serves one network on one device.
class NetworkGraphs {
 public:
  explicit NetworkGraphs(const c10::Device& device);  // throws where graphs are unavailable
  ~NetworkGraphs();
  NetworkGraphs(const NetworkGraphs&) = delete;
  NetworkGraphs& operator=(const NetworkGraphs&) = delete;

  DenoiserOutput forward(DenoiserImpl& model, const DenoiserInput& input);
  // Calls that replayed a recording.
  std::int64_t replays() const { return replays_; }

 private:
  struct Entry;
  c10::Device device_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::int64_t replays_ = 0;
};

// z [B, C, H, W] in the scaled space (before normalisation); v [B] the variances of each example
// (gamma and 1 - gamma, each at full precision); labels [B] int64 in [0, K]; self_cond: the
// previous call's signal or undefined (zeros).
NetworkPrediction predict(DenoiserImpl& model, const DiffusionSetup& setup, const at::Tensor& z,
                          const std::vector<Variances>& v, const at::Tensor& labels,
                          const at::Tensor& self_cond, const PredictOptions& options);

// The same with the noise levels already on z's device (noise_levels()): nothing in it reads a
// host value or copies from the host, so a CUDA graph can capture it.
NetworkPrediction predict(DenoiserImpl& model, const DiffusionSetup& setup, const at::Tensor& z,
                          const NoiseLevels& levels, const at::Tensor& labels,
                          const at::Tensor& self_cond, const PredictOptions& options);

}  // namespace noisesched
