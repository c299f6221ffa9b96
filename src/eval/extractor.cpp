// Feature extractors; see noisesched/eval/extractor.h.
#include "noisesched/eval/extractor.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <filesystem>

#include "fmnist_cnn.h"
#include "inception.h"
#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/io/safetensors.h"
#include "noisesched/models/weights.h"

namespace noisesched {
namespace {

std::string metadata_value(const SafetensorsContent& content, const std::string& key,
                           const std::string& fallback) {
  const auto it = content.metadata.find(key);
  return it == content.metadata.end() ? fallback : it->second;
}

class FmnistExtractor final : public FeatureExtractor {
 public:
  FmnistExtractor(const std::string& path, const SafetensorsContent& content,
                  const c10::Device& device)
      : FeatureExtractor(path, file_fingerprint(path), device),
        dataset_(metadata_value(content, "dataset", "?")),
        accuracy_(metadata_value(content, "test_accuracy", "?")) {
    load_module_tensors(*model_, content.tensors, path);
    model_->to(device);
    model_->eval();
  }
  std::string kind() const override { return kFmnistKind; }
  std::string describe() const override {
    return std::string(kFmnistKind) + " (" + path() + ", " + fingerprint() +
           "): " + std::to_string(kFmnistFeatures) + "-d features, trained on " + dataset_ +
           ", test accuracy " + accuracy_;
  }
  int feature_dim() const override { return kFmnistFeatures; }
  std::optional<double> test_accuracy() const override {
    try {
      return parse_double(accuracy_, "test_accuracy");
    } catch (const Error&) {
      return std::nullopt;  // an extractor file written without the metadata
    }
  }

 protected:
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& images) override {
    return model_->forward(fmnist_cnn_input(images, device()));
  }

 private:
  FmnistCnn model_{10};
  std::string dataset_, accuracy_;
};

class InceptionExtractor final : public FeatureExtractor {
 public:
  InceptionExtractor(const std::string& path, const SafetensorsContent& content,
                     const c10::Device& device)
      : FeatureExtractor(path, file_fingerprint(path), device),
        model_(detect_inception_variant(content.tensors, path)) {
    load_inception_weights(*model_, content.tensors, path);
    model_->to(device);
    model_->eval();
  }
  std::string kind() const override {
    return model_->variant() == InceptionVariant::kFid ? "inception_v3_fid" : "inception_v3";
  }
  std::string describe() const override {
    return kind() + " (" + path() + ", " + fingerprint() + "): 2048-d pool3 features at " +
           std::to_string(kInceptionSize) + "x" + std::to_string(kInceptionSize);
  }
  int feature_dim() const override { return kInceptionFeatures; }

 protected:
  // Bytes -> [0, 1] -> grey repeated to RGB -> bilinear 299x299 (align_corners = false, as
  // pytorch-fid) -> [-1, 1].
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& images) override {
    at::Tensor x = images.to(device()).to(at::kFloat).div_(255.0);
    if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
    if (x.size(2) != kInceptionSize || x.size(3) != kInceptionSize) {
      x = at::upsample_bilinear2d(x, {kInceptionSize, kInceptionSize}, false);
    }
    return model_->forward(x.mul(2.0).sub_(1.0));
  }

 private:
  InceptionV3 model_;
};

}  // namespace

ExtractedFeatures FeatureExtractor::extract(
    const at::Tensor& images, int batch_size,
    const std::function<void(std::int64_t, std::int64_t)>& progress) {
  if (images.dim() != 4 || images.scalar_type() != at::kByte ||
      (images.size(1) != 1 && images.size(1) != 3)) {
    throw Error("feature extraction needs byte images [N, 1 or 3, H, W]");
  }
  if (batch_size < 1) throw Error("extractor batch size must be >= 1");
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> features, probabilities;
  for (std::int64_t begin = 0; begin < images.size(0); begin += batch_size) {
    const std::int64_t end = std::min<std::int64_t>(begin + batch_size, images.size(0));
    const auto [f, logits] = forward(images.slice(0, begin, end));
    features.push_back(f.to(at::kCPU, at::kFloat));
    probabilities.push_back(at::softmax(logits.to(at::kCPU, at::kDouble), 1));
    if (progress) progress(end, images.size(0));
  }
  return {at::cat(features), at::cat(probabilities)};
}

std::unique_ptr<FeatureExtractor> load_extractor(const std::string& path,
                                                 const c10::Device& device) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error("feature extractor '" + path +
                "' does not exist (Fashion-MNIST/MNIST: make it with `noisesched featurizer "
                "train`; Inception-v3: convert the weights, see docs/evaluation.md)");
  }
  const SafetensorsContent content = load_safetensors(path);
  const std::string kind = metadata_value(content, "kind", "");
  if (kind == kFmnistKind || (kind.empty() && content.tensors.count("conv1.weight"))) {
    return std::make_unique<FmnistExtractor>(path, content, device);
  }
  if (kind.empty() || kind == "inception_v3" || kind == "inception_v3_fid") {
    return std::make_unique<InceptionExtractor>(path, content, device);
  }
  throw Error(path + ": extractor kind '" + kind +
              "' is not known; valid: fmnist_cnn, inception_v3_fid, inception_v3");
}

}  // namespace noisesched
