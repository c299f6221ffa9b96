// Training the Fashion-MNIST / MNIST feature classifier; see noisesched/eval/classifier.h.
#include "noisesched/eval/classifier.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <chrono>
#include <cmath>
#include <map>
#include <sstream>
#include <vector>

#include "fmnist_cnn.h"
#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"
#include "noisesched/core/generators.h"
#include "noisesched/eval/image_set.h"
#include "noisesched/io/safetensors.h"
#include "noisesched/models/weights.h"
#include "noisesched/optim/optimizer.h"

namespace noisesched {
namespace {

ImageSet open_split(const ClassifierTrainOptions& options, const std::string& split) {
  DataConfig data;
  data.dataset = options.dataset;
  data.path = options.data_path;
  data.split = split;
  data.resolution = kFmnistInputSize;
  data.limit = split == "train" ? options.limit : 0;
  if (data.dataset != "fashion_mnist" && data.dataset != "mnist") {
    throw Error("the feature classifier trains on fashion_mnist or mnist, not '" + data.dataset +
                "' (for other data use an Inception-v3 extractor)");
  }
  return load_image_set(*open_dataset(data));
}

// Accuracy of `model` (eval mode) on a whole split.
double accuracy(FmnistCnn& model, const ImageSet& set, const c10::Device& device) {
  torch::NoGradGuard no_grad;
  model->eval();
  std::int64_t correct = 0;
  const std::int64_t n = set.images.size(0);
  for (std::int64_t begin = 0; begin < n; begin += 500) {
    const std::int64_t end = std::min<std::int64_t>(begin + 500, n);
    const at::Tensor logits =
        model->forward(fmnist_cnn_input(set.images.slice(0, begin, end), device)).second;
    correct +=
        (logits.argmax(1).cpu() == set.labels.slice(0, begin, end)).sum().item<std::int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace

ClassifierTrainResult train_classifier(const ClassifierTrainOptions& options,
                                       const std::string& out_path, const c10::Device& device,
                                       const std::function<void(const std::string&)>& log) {
  if (options.epochs < 1) {
    throw Error("--epochs must be >= 1 (got " + std::to_string(options.epochs) + ")");
  }
  if (options.batch_size < 1) {
    throw Error("--batch-size must be >= 1 (got " + std::to_string(options.batch_size) + ")");
  }
  if (!(options.lr > 0)) throw Error("--lr must be > 0 (got " + format_exact(options.lr) + ")");
  const auto start = std::chrono::steady_clock::now();
  const ImageSet train = open_split(options, "train");
  const ImageSet test = open_split(options, "test");

  torch::manual_seed(options.seed);
  FmnistCnn model(10);
  model->to(device);
  OptimizerOptions optimizer_options;
  optimizer_options.kind = OptimizerKind::kAdamW;
  optimizer_options.weight_decay = options.weight_decay;
  Optimizer optimizer(*model, optimizer_options);

  const std::int64_t n = train.images.size(0);
  const std::int64_t steps_per_epoch = (n + options.batch_size - 1) / options.batch_size;
  const std::int64_t total_steps = steps_per_epoch * options.epochs;
  std::int64_t step = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    model->train();
    const std::vector<std::uint32_t> order = seeded_permutation(
        static_cast<std::uint32_t>(n),
        hash_values({options.seed, purpose::kClassifierOrder, static_cast<std::uint64_t>(epoch)}));
    const at::Tensor order_tensor =
        at::tensor(std::vector<std::int64_t>(order.begin(), order.end()), at::kLong);
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (std::int64_t begin = 0; begin < n; begin += options.batch_size, ++step) {
      const std::int64_t end = std::min<std::int64_t>(begin + options.batch_size, n);
      const at::Tensor index = order_tensor.slice(0, begin, end);
      at::Tensor x = fmnist_cnn_input(train.images.index_select(0, index), device);
      // Horizontal flips: a hash bit per (seed, epoch, position).
      std::vector<std::int64_t> flip_rows;
      for (std::int64_t i = begin; i < end; ++i) {
        if (hash_values({options.seed, purpose::kClassifierFlip, static_cast<std::uint64_t>(epoch),
                         static_cast<std::uint64_t>(i)}) &
            1) {
          flip_rows.push_back(i - begin);
        }
      }
      if (!flip_rows.empty()) {
        const at::Tensor rows = at::tensor(flip_rows, at::kLong).to(device);
        x.index_copy_(0, rows, x.index_select(0, rows).flip({3}));
      }
      const at::Tensor labels = train.labels.index_select(0, index).to(device);
      const at::Tensor logits = model->forward(x).second;
      const at::Tensor loss = at::cross_entropy_loss(logits, labels);
      for (auto& p : model->parameters()) p.mutable_grad() = at::Tensor();
      loss.backward();
      const double lr =
          options.lr * 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(step) / total_steps));
      optimizer.step(lr);
      loss_sum += loss.item<double>() * static_cast<double>(end - begin);
      correct += (logits.argmax(1) == labels).sum().item<std::int64_t>();
      if (options.progress) {
        options.progress(step + 1, total_steps, epoch + 1, loss_sum / static_cast<double>(end));
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ostringstream line;
    line << "epoch " << epoch + 1 << "/" << options.epochs << ": train loss "
         << format_significant(loss_sum / static_cast<double>(n), 4) << ", train accuracy "
         << format_significant(static_cast<double>(correct) / static_cast<double>(n), 4)
         << ", test accuracy " << format_significant(accuracy(model, test, device), 4) << " ("
         << static_cast<long long>(seconds) << " s)";
    if (log) log(line.str());
  }

  ClassifierTrainResult result;
  result.test_accuracy = accuracy(model, test, device);
  result.train_images = n;
  result.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::map<std::string, std::string> metadata = {
      {"format", "noisesched-extractor"},
      {"kind", kFmnistKind},
      {"dataset", options.dataset},
      {"num_classes", "10"},
      {"test_accuracy", format_exact(result.test_accuracy)},
      {"train_images", std::to_string(n)},
      {"epochs", std::to_string(options.epochs)},
      {"batch_size", std::to_string(options.batch_size)},
      {"lr", format_exact(options.lr)},
      {"seed", std::to_string(options.seed)}};
  save_safetensors(out_path, module_tensors(*model), metadata);
  return result;
}

}  // namespace noisesched
