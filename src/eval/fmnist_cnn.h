// src/eval/fmnist_cnn.h: the Fashion-MNIST / MNIST classifier network (see
// noisesched/eval/classifier.h for its layers and role).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <utility>

namespace noisesched {

inline constexpr int kFmnistInputSize = 28;
inline constexpr int kFmnistFeatures = 256;
inline constexpr const char* kFmnistKind = "fmnist_cnn";

class FmnistCnnImpl : public torch::nn::Module {
 public:
  explicit FmnistCnnImpl(int num_classes = 10);
  // x: [B, 1, 28, 28] normalised to [-1, 1] -> (features [B, 256], logits [B, K]).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
  torch::nn::Linear features_{nullptr}, classifier_{nullptr};
};
TORCH_MODULE(FmnistCnn);

// Bytes [N, C, H, W] (any C, H, W) -> the network's input on `device`: grey (channel mean),
// area-averaged down or bilinearly up to 28x28, mapped to [-1, 1].
at::Tensor fmnist_cnn_input(const at::Tensor& images, const c10::Device& device);

}  // namespace noisesched
