// The Fashion-MNIST / MNIST classifier network; see fmnist_cnn.h.
#include "fmnist_cnn.h"

#include <ATen/ATen.h>

namespace noisesched {
namespace {

torch::nn::Conv2d conv3x3(int in, int out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
}

}  // namespace

FmnistCnnImpl::FmnistCnnImpl(int num_classes) {
  conv1_ = register_module("conv1", conv3x3(1, 32));
  norm1_ = register_module("norm1", torch::nn::BatchNorm2d(32));
  conv2_ = register_module("conv2", conv3x3(32, 64));
  norm2_ = register_module("norm2", torch::nn::BatchNorm2d(64));
  conv3_ = register_module("conv3", conv3x3(64, 128));
  norm3_ = register_module("norm3", torch::nn::BatchNorm2d(128));
  features_ = register_module("features", torch::nn::Linear(128 * 7 * 7, kFmnistFeatures));
  classifier_ = register_module("classifier", torch::nn::Linear(kFmnistFeatures, num_classes));
}

std::pair<at::Tensor, at::Tensor> FmnistCnnImpl::forward(const at::Tensor& x) {
  at::Tensor h = at::max_pool2d(at::relu(norm1_(conv1_(x))), 2);  // [B, 32, 14, 14]
  h = at::max_pool2d(at::relu(norm2_(conv2_(h))), 2);             // [B, 64, 7, 7]
  h = at::relu(norm3_(conv3_(h)));                                // [B, 128, 7, 7]
  const at::Tensor features = at::relu(features_(h.flatten(1)));  // [B, 256]
  const at::Tensor logits = classifier_(at::dropout(features, 0.3, is_training()));
  return {features, logits};
}

at::Tensor fmnist_cnn_input(const at::Tensor& images, const c10::Device& device) {
  at::Tensor x = images.to(device).to(at::kFloat).div_(255.0);
  if (x.size(1) != 1) x = x.mean(1, true);
  if (x.size(2) > kFmnistInputSize || x.size(3) > kFmnistInputSize) {
    x = at::adaptive_avg_pool2d(x, {kFmnistInputSize, kFmnistInputSize});
  } else if (x.size(2) < kFmnistInputSize || x.size(3) < kFmnistInputSize) {
    x = at::upsample_bilinear2d(x, {kFmnistInputSize, kFmnistInputSize}, false);
  }
  return x.sub_(0.5).div_(0.5);
}

}  // namespace noisesched
