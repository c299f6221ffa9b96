// Inception-v3 in torchvision's and FID's configurations; see inception.h.
// Ref: torchvision/models/inception.py (layer shapes and names), pytorch-fid's inception.py (the
// FID block differences). Written from the architecture description, not copied.
#include "inception.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "noisesched/common/error.h"

namespace noisesched {

// A block with one input and one output.
class InceptionBlock : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) = 0;
};

namespace {

// conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU; names "conv" and "bn" as in torchvision.
class BasicConvImpl : public InceptionBlock {
 public:
  BasicConvImpl(int in, int out, std::array<int64_t, 2> kernel,
                std::array<int64_t, 2> stride = {1, 1}, std::array<int64_t, 2> padding = {0, 0}) {
    conv_ = register_module(
        "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, {kernel[0], kernel[1]})
                                      .stride({stride[0], stride[1]})
                                      .padding({padding[0], padding[1]})
                                      .bias(false)));
    bn_ =
        register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(1e-3)));
  }
  at::Tensor forward(const at::Tensor& x) override { return at::relu(bn_(conv_(x))); }

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};

// Square kernel k with padding p and stride s.
std::shared_ptr<BasicConvImpl> conv(int in, int out, int64_t k, int64_t s = 1, int64_t p = 0) {
  return std::make_shared<BasicConvImpl>(in, out, std::array<int64_t, 2>{k, k},
                                         std::array<int64_t, 2>{s, s},
                                         std::array<int64_t, 2>{p, p});
}
// 1x7 (horizontal) or 7x1 (vertical) style kernels with "same" padding.
std::shared_ptr<BasicConvImpl> conv_row(int in, int out, int64_t k) {
  return std::make_shared<BasicConvImpl>(in, out, std::array<int64_t, 2>{1, k},
                                         std::array<int64_t, 2>{1, 1},
                                         std::array<int64_t, 2>{0, k / 2});
}
std::shared_ptr<BasicConvImpl> conv_col(int in, int out, int64_t k) {
  return std::make_shared<BasicConvImpl>(in, out, std::array<int64_t, 2>{k, 1},
                                         std::array<int64_t, 2>{1, 1},
                                         std::array<int64_t, 2>{k / 2, 0});
}

class InceptionAImpl : public InceptionBlock {
 public:
  InceptionAImpl(int in, int pool_features, InceptionPool pool) : pool_(pool) {
    b1_ = register_module("branch1x1", conv(in, 64, 1));
    b5_1_ = register_module("branch5x5_1", conv(in, 48, 1));
    b5_2_ = register_module("branch5x5_2", conv(48, 64, 5, 1, 2));
    b3_1_ = register_module("branch3x3dbl_1", conv(in, 64, 1));
    b3_2_ = register_module("branch3x3dbl_2", conv(64, 96, 3, 1, 1));
    b3_3_ = register_module("branch3x3dbl_3", conv(96, 96, 3, 1, 1));
    bp_ = register_module("branch_pool", conv(in, pool_features, 1));
  }
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat(
        {b1_->forward(x), b5_2_->forward(b5_1_->forward(x)),
         b3_3_->forward(b3_2_->forward(b3_1_->forward(x))), bp_->forward(inception_pool(x, pool_))},
        1);
  }

 private:
  InceptionPool pool_;
  std::shared_ptr<BasicConvImpl> b1_, b5_1_, b5_2_, b3_1_, b3_2_, b3_3_, bp_;
};

class InceptionBImpl : public InceptionBlock {
 public:
  explicit InceptionBImpl(int in) {
    b3_ = register_module("branch3x3", conv(in, 384, 3, 2));
    d1_ = register_module("branch3x3dbl_1", conv(in, 64, 1));
    d2_ = register_module("branch3x3dbl_2", conv(64, 96, 3, 1, 1));
    d3_ = register_module("branch3x3dbl_3", conv(96, 96, 3, 2));
  }
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat(
        {b3_->forward(x), d3_->forward(d2_->forward(d1_->forward(x))), at::max_pool2d(x, 3, 2)}, 1);
  }

 private:
  std::shared_ptr<BasicConvImpl> b3_, d1_, d2_, d3_;
};

class InceptionCImpl : public InceptionBlock {
 public:
  InceptionCImpl(int in, int c7, InceptionPool pool) : pool_(pool) {
    b1_ = register_module("branch1x1", conv(in, 192, 1));
    s1_ = register_module("branch7x7_1", conv(in, c7, 1));
    s2_ = register_module("branch7x7_2", conv_row(c7, c7, 7));
    s3_ = register_module("branch7x7_3", conv_col(c7, 192, 7));
    d1_ = register_module("branch7x7dbl_1", conv(in, c7, 1));
    d2_ = register_module("branch7x7dbl_2", conv_col(c7, c7, 7));
    d3_ = register_module("branch7x7dbl_3", conv_row(c7, c7, 7));
    d4_ = register_module("branch7x7dbl_4", conv_col(c7, c7, 7));
    d5_ = register_module("branch7x7dbl_5", conv_row(c7, 192, 7));
    bp_ = register_module("branch_pool", conv(in, 192, 1));
  }
  at::Tensor forward(const at::Tensor& x) override {
    const at::Tensor single = s3_->forward(s2_->forward(s1_->forward(x)));
    const at::Tensor dbl = d5_->forward(d4_->forward(d3_->forward(d2_->forward(d1_->forward(x)))));
    return at::cat({b1_->forward(x), single, dbl, bp_->forward(inception_pool(x, pool_))}, 1);
  }

 private:
  InceptionPool pool_;
  std::shared_ptr<BasicConvImpl> b1_, s1_, s2_, s3_, d1_, d2_, d3_, d4_, d5_, bp_;
};

class InceptionDImpl : public InceptionBlock {
 public:
  explicit InceptionDImpl(int in) {
    a1_ = register_module("branch3x3_1", conv(in, 192, 1));
    a2_ = register_module("branch3x3_2", conv(192, 320, 3, 2));
    b1_ = register_module("branch7x7x3_1", conv(in, 192, 1));
    b2_ = register_module("branch7x7x3_2", conv_row(192, 192, 7));
    b3_ = register_module("branch7x7x3_3", conv_col(192, 192, 7));
    b4_ = register_module("branch7x7x3_4", conv(192, 192, 3, 2));
  }
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat(
        {a2_->forward(a1_->forward(x)), b4_->forward(b3_->forward(b2_->forward(b1_->forward(x)))),
         at::max_pool2d(x, 3, 2)},
        1);
  }

 private:
  std::shared_ptr<BasicConvImpl> a1_, a2_, b1_, b2_, b3_, b4_;
};

class InceptionEImpl : public InceptionBlock {
 public:
  InceptionEImpl(int in, InceptionPool pool) : pool_(pool) {
    b1_ = register_module("branch1x1", conv(in, 320, 1));
    t1_ = register_module("branch3x3_1", conv(in, 384, 1));
    t2a_ = register_module("branch3x3_2a", conv_row(384, 384, 3));
    t2b_ = register_module("branch3x3_2b", conv_col(384, 384, 3));
    d1_ = register_module("branch3x3dbl_1", conv(in, 448, 1));
    d2_ = register_module("branch3x3dbl_2", conv(448, 384, 3, 1, 1));
    d3a_ = register_module("branch3x3dbl_3a", conv_row(384, 384, 3));
    d3b_ = register_module("branch3x3dbl_3b", conv_col(384, 384, 3));
    bp_ = register_module("branch_pool", conv(in, 192, 1));
  }
  at::Tensor forward(const at::Tensor& x) override {
    const at::Tensor t = t1_->forward(x);
    const at::Tensor d = d2_->forward(d1_->forward(x));
    return at::cat({b1_->forward(x), t2a_->forward(t), t2b_->forward(t), d3a_->forward(d),
                    d3b_->forward(d), bp_->forward(inception_pool(x, pool_))},
                   1);
  }

 private:
  InceptionPool pool_;
  std::shared_ptr<BasicConvImpl> b1_, t1_, t2a_, t2b_, d1_, d2_, d3a_, d3b_, bp_;
};

}  // namespace

at::Tensor inception_pool(const at::Tensor& x, InceptionPool pool) {
  switch (pool) {
    case InceptionPool::kAverage:
      return at::avg_pool2d(x, 3, 1, 1, /*ceil_mode=*/false, /*count_include_pad=*/true);
    case InceptionPool::kAverageNoPad:
      return at::avg_pool2d(x, 3, 1, 1, /*ceil_mode=*/false, /*count_include_pad=*/false);
    case InceptionPool::kMax:
      return at::max_pool2d(x, 3, 1, 1);
  }
  throw Error("unknown Inception pooling");
}

InceptionV3Impl::InceptionV3Impl(InceptionVariant variant) : variant_(variant) {
  const bool fid = variant == InceptionVariant::kFid;
  const InceptionPool average = fid ? InceptionPool::kAverageNoPad : InceptionPool::kAverage;
  const InceptionPool last = fid ? InceptionPool::kMax : InceptionPool::kAverage;
  const auto add = [this](std::vector<std::shared_ptr<InceptionBlock>>& to, const std::string& name,
                          std::shared_ptr<InceptionBlock> block) {
    to.push_back(register_module(name, std::move(block)));
  };
  add(stem_, "Conv2d_1a_3x3", conv(3, 32, 3, 2));
  add(stem_, "Conv2d_2a_3x3", conv(32, 32, 3));
  add(stem_, "Conv2d_2b_3x3", conv(32, 64, 3, 1, 1));
  add(stem_, "Conv2d_3b_1x1", conv(64, 80, 1));
  add(stem_, "Conv2d_4a_3x3", conv(80, 192, 3));
  add(mixed_, "Mixed_5b", std::make_shared<InceptionAImpl>(192, 32, average));
  add(mixed_, "Mixed_5c", std::make_shared<InceptionAImpl>(256, 64, average));
  add(mixed_, "Mixed_5d", std::make_shared<InceptionAImpl>(288, 64, average));
  add(mixed_, "Mixed_6a", std::make_shared<InceptionBImpl>(288));
  add(mixed_, "Mixed_6b", std::make_shared<InceptionCImpl>(768, 128, average));
  add(mixed_, "Mixed_6c", std::make_shared<InceptionCImpl>(768, 160, average));
  add(mixed_, "Mixed_6d", std::make_shared<InceptionCImpl>(768, 160, average));
  add(mixed_, "Mixed_6e", std::make_shared<InceptionCImpl>(768, 192, average));
  add(mixed_, "Mixed_7a", std::make_shared<InceptionDImpl>(768));
  add(mixed_, "Mixed_7b", std::make_shared<InceptionEImpl>(1280, average));
  add(mixed_, "Mixed_7c", std::make_shared<InceptionEImpl>(2048, last));
  fc_ = register_module("fc", torch::nn::Linear(kInceptionFeatures, fid ? 1008 : 1000));
}

std::pair<at::Tensor, at::Tensor> InceptionV3Impl::forward(const at::Tensor& x) {
  at::Tensor h = x;                                        // [B, 3, 299, 299]
  h = stem_[0]->forward(h);                                // [B, 32, 149, 149]
  h = stem_[1]->forward(h);                                // [B, 32, 147, 147]
  h = stem_[2]->forward(h);                                // [B, 64, 147, 147]
  h = at::max_pool2d(h, 3, 2);                             // [B, 64, 73, 73]
  h = stem_[3]->forward(h);                                // [B, 80, 73, 73]
  h = stem_[4]->forward(h);                                // [B, 192, 71, 71]
  h = at::max_pool2d(h, 3, 2);                             // [B, 192, 35, 35]
  for (const auto& block : mixed_) h = block->forward(h);  // [B, 2048, 8, 8]
  const at::Tensor pool3 = h.mean({2, 3});                 // [B, 2048]
  return {pool3, fc_->forward(pool3)};
}

InceptionVariant detect_inception_variant(const std::map<std::string, at::Tensor>& tensors,
                                          const std::string& source) {
  const auto it = tensors.find("fc.weight");
  if (it == tensors.end()) {
    throw Error(source +
                ": no tensor 'fc.weight', so this is not an Inception-v3 state_dict "
                "with torchvision's names (see docs/evaluation.md for the conversion)");
  }
  if (it->second.dim() == 2 && it->second.size(1) == kInceptionFeatures) {
    if (it->second.size(0) == 1008) return InceptionVariant::kFid;
    if (it->second.size(0) == 1000) return InceptionVariant::kTorchvision;
  }
  throw Error(source + ": fc.weight has shape " + c10::str(it->second.sizes()) +
              "; expected [1008, 2048] (FID Inception) or [1000, 2048] (torchvision)");
}

void load_inception_weights(InceptionV3Impl& model,
                            const std::map<std::string, at::Tensor>& tensors,
                            const std::string& source) {
  torch::NoGradGuard no_grad;
  const auto ignored = [](const std::string& name) {
    return name.rfind("AuxLogits.", 0) == 0 ||
           (name.size() > 20 && name.compare(name.size() - 20, 20, ".num_batches_tracked") == 0);
  };
  std::map<std::string, at::Tensor> expected;
  for (const auto& item : model.named_parameters()) expected[item.key()] = item.value();
  for (const auto& item : model.named_buffers()) {
    if (!ignored(item.key())) expected[item.key()] = item.value();
  }
  for (const auto& [name, tensor] : tensors) {
    if (!ignored(name) && expected.count(name) == 0) {
      throw Error(source + ": unexpected tensor '" + name + "' for Inception-v3");
    }
  }
  for (auto& [name, target] : expected) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(source + ": tensor '" + name + "' is missing");
    if (it->second.sizes() != target.sizes()) {
      throw Error(source + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                  ", Inception-v3 expects " + c10::str(target.sizes()));
    }
    target.copy_(it->second);
  }
}

}  // namespace noisesched
