// src/eval/inception.h: Inception-v3 (Szegedy et al. 2016) with torchvision's layer names, in
// two configurations:
//   kTorchvision  torchvision.models.inception_v3 (aux head left out): 1000 logits.
//   kFid          the network FID is defined with (the TF 2015-12-05 graph, as ported by
//                 pytorch-fid): 1008 logits and four pooling differences,
//                   Mixed_5b/5c/5d (InceptionA), Mixed_6b-6e (InceptionC) and Mixed_7b
//                   (InceptionE): the pool branch's 3x3 average ignores padding
//                   (count_include_pad = false), so border outputs average real pixels only;
//                   Mixed_7c (InceptionE): the pool branch uses a 3x3 max pool instead.
// Input: [B, 3, 299, 299] in [-1, 1]. Output: pool3 features [B, 2048] and logits.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace noisesched {

enum class InceptionVariant { kTorchvision, kFid };

inline constexpr int kInceptionSize = 299;
inline constexpr int kInceptionFeatures = 2048;

// How an InceptionA/C/E block pools its fourth branch.
enum class InceptionPool { kAverage, kAverageNoPad, kMax };

class InceptionBlock;  // one conv or mixed block (inception.cpp)

class InceptionV3Impl : public torch::nn::Module {
 public:
  explicit InceptionV3Impl(InceptionVariant variant);
  // x: [B, 3, 299, 299] in [-1, 1] -> (pool3 [B, 2048], logits [B, 1000 or 1008]).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x);
  InceptionVariant variant() const { return variant_; }

 private:
  InceptionVariant variant_;
  std::vector<std::shared_ptr<InceptionBlock>> stem_, mixed_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(InceptionV3);

// The fourth-branch pooling of an InceptionA/C/E block on its own (for tests):
// x [B, C, H, W] -> [B, C, H, W], 3x3 window, stride 1.
at::Tensor inception_pool(const at::Tensor& x, InceptionPool pool);

// Loads torchvision-named tensors (a converted state_dict) into `model`. Every parameter and
// running statistic must be present with its shape; `AuxLogits.*` and `*.num_batches_tracked`
// are ignored; anything else unexpected is an error naming `source` and the tensor.
void load_inception_weights(InceptionV3Impl& model,
                            const std::map<std::string, at::Tensor>& tensors,
                            const std::string& source);

// Which variant a converted weight file holds: from fc.weight's rows (1008: FID, 1000:
// torchvision); throws naming `source` otherwise.
InceptionVariant detect_inception_variant(const std::map<std::string, at::Tensor>& tensors,
                                          const std::string& source);

}  // namespace noisesched
