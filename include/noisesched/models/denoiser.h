// noisesched/models/denoiser.h: the interface every denoising network implements.
//
// A denoiser maps the normalised noisy image, its noise level (effective logSNR, see
// diffusion/process.h), class labels and a self-conditioning signal to the target
// (eps, x0 or v). Self-conditioning differs per architecture: RIN feeds back its latents,
// the U-Net the previous x0 estimate; an undefined tensor means "none" (zeros).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>

#include "noisesched/config/run_spec.h"

namespace noisesched {

struct DenoiserInput {
  at::Tensor x;            // [B, C, H, W] normalised noisy image
  at::Tensor noise_level;  // [B] float, effective logSNR
  at::Tensor labels;       // [B] int64 in [0, K]; K is the null class (also for unconditional)
  at::Tensor self_cond;    // previous pass's signal (see self_condition_signal), or undefined
  // [B, 1, 1, 1] with z = x * z_per_x (the reciprocal of the normalisation factor; not b): set
  // by predict() for reference denoisers that need the unnormalised input (the exact mixture
  // denoiser); networks ignore it.
  at::Tensor z_per_x;
};

struct DenoiserOutput {
  at::Tensor prediction;  // [B, C, H, W] the target
  at::Tensor latents;     // RIN: [B, M + 2, D] final latents; undefined for the U-Net
};

class DenoiserImpl : public torch::nn::Module {
 public:
  virtual DenoiserOutput forward(const DenoiserInput& input) = 0;

  // The self-conditioning signal for the next pass, from this pass's output and its x0 estimate
  // (detached). RIN: the latents; U-Net: x0.
  virtual at::Tensor self_condition_signal(const DenoiserOutput& output,
                                           const at::Tensor& x0_estimate) const = 0;

  // Multiply-adds x 2 of one forward pass per example (matrix products, convolutions and
  // attention; normalisation and activations are not counted).
  virtual double forward_flops_per_example() const = 0;

  virtual std::string describe() const = 0;

  // The arithmetic predict() runs the passes in (train.precision; core/precision.h). The
  // parameters stay float32 whatever it is.
  Precision precision() const { return precision_; }
  void set_precision(Precision precision) { precision_ = precision; }

  int num_classes() const { return num_classes_; }  // K (labels use K + 1 rows)
  int channels() const { return channels_; }
  int resolution() const { return resolution_; }

 protected:
  DenoiserImpl(int channels, int resolution, int num_classes)
      : channels_(channels), resolution_(resolution), num_classes_(num_classes) {}

 private:
  int channels_, resolution_, num_classes_;
  Precision precision_ = Precision::kFp32;
};

using Denoiser = std::shared_ptr<DenoiserImpl>;

// Builds the network of spec.arch for images [channels, resolution, resolution] and
// `num_classes` classes (plus the null class), computing in spec.precision.
Denoiser make_denoiser(const RunSpec& spec, int channels, int num_classes);

// Number of scalar parameters.
std::int64_t parameter_count(const torch::nn::Module& module);

}  // namespace noisesched
