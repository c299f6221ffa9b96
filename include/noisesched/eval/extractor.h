// noisesched/eval/extractor.h: feature extractors for FID, IS, KID and precision/recall.
//
// One interface over the networks that turn images into features and class probabilities:
//   inception_v3_fid   Inception-v3 in the FID configuration (Heusel et al.'s TF graph as
//                      ported by pytorch-fid): 2048-d pool3 features, 1008-way logits, 299x299.
//   inception_v3       torchvision's Inception-v3 (same layers, standard pooling, 1000 logits).
//   fmnist_cnn         the small classifier `noisesched featurizer train` makes for
//                      Fashion-MNIST or MNIST: 256-d penultimate features, 10 classes, 28x28.
// Each reads its weights from a safetensors file whose metadata names the kind (files converted
// without metadata are recognised by their tensors). An extractor resizes its input itself, in
// one fixed way, so real and generated images always go through the same preprocessing.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace noisesched {

struct ExtractedFeatures {
  at::Tensor features;       // [N, D] float32 on the CPU
  at::Tensor probabilities;  // [N, K] float64 on the CPU (softmax of the logits)
};

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;
  // The kind ("fmnist_cnn", "inception_v3_fid", "inception_v3").
  virtual std::string kind() const = 0;
  // One line for logs and result files: kind, file, feature size, what it was trained on.
  virtual std::string describe() const = 0;
  virtual int feature_dim() const = 0;
  // Accuracy on its data set's test split, for classifiers trained on the data being modelled
  // (fmnist_cnn); none for ImageNet classifiers, whose classes are not the model's.
  virtual std::optional<double> test_accuracy() const { return std::nullopt; }
  // images: [N, C, H, W] uint8 (C = 1 or 3, any size), processed in batches of `batch_size`.
  // `progress` (optional) is called after each batch with (images done, images in all).
  ExtractedFeatures extract(
      const at::Tensor& images, int batch_size = 100,
      const std::function<void(std::int64_t, std::int64_t)>& progress = nullptr);

  // Hex digest of the weight file's content: part of every reference-statistics cache key.
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& path() const { return path_; }

 protected:
  FeatureExtractor(std::string path, std::string fingerprint, const c10::Device& device)
      : path_(std::move(path)), fingerprint_(std::move(fingerprint)), device_(device) {}
  // One batch: float images in [0, 1] [B, C, H, W] on device() -> (features, logits).
  virtual std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& images) = 0;
  const c10::Device& device() const { return device_; }

 private:
  std::string path_, fingerprint_;
  c10::Device device_;
};

// Opens the extractor stored at `path`. Throws naming the file when it is missing, not a
// safetensors file, or holds tensors that fit no known extractor (naming the first mismatch).
std::unique_ptr<FeatureExtractor> load_extractor(const std::string& path,
                                                 const c10::Device& device);

}  // namespace noisesched
