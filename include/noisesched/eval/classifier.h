// noisesched/eval/classifier.h: the small Fashion-MNIST / MNIST classifier used as a feature
// extractor (SPEC section 8), and its training.
//
// Inception-v3 was trained on photographs; on 28x28 grey clothing its features say little. The
// field's practice for MNIST-like data is a classifier trained on the data set itself: its
// penultimate activations serve FID, KID and precision/recall, its class probabilities the
// Inception Score. Numbers made with it compare only with numbers made with the same file.
//
// Network (input [B, 1, 28, 28], (x / 255 - 0.5) / 0.5):
//   conv3x3 1->32, BN, ReLU, maxpool 2     -> [B, 32, 14, 14]
//   conv3x3 32->64, BN, ReLU, maxpool 2    -> [B, 64, 7, 7]
//   conv3x3 64->128, BN, ReLU              -> [B, 128, 7, 7]
//   linear 6272->256, ReLU                 -> features [B, 256]
//   dropout 0.3, linear 256->10            -> logits [B, 10]
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>

namespace noisesched {

struct ClassifierTrainOptions {
  std::string dataset = "fashion_mnist";  // fashion_mnist | mnist
  std::string data_path = "/usr/share/datasets/fashion-mnist";
  int epochs = 5;
  int batch_size = 128;
  double lr = 2e-3;  // AdamW, cosine decay to 0 over the run
  double weight_decay = 1e-4;
  std::uint64_t seed = 0;
  int limit = 0;  // train on the first N training images only (0: all); for tests
  // Called after every optimizer step with (steps done, total steps, epoch (1-based), the
  // epoch's running mean loss); empty: no progress.
  std::function<void(std::int64_t, std::int64_t, int, double)> progress;
};

struct ClassifierTrainResult {
  double test_accuracy = 0;  // on the whole test split
  double train_seconds = 0;
  std::int64_t train_images = 0;
};

// Trains the classifier on the training split (random horizontal flips), measures its accuracy
// on the test split and saves it atomically to `out_path` (safetensors; metadata: kind,
// data set, accuracy, options). `log` receives one progress line per epoch.
ClassifierTrainResult train_classifier(const ClassifierTrainOptions& options,
                                       const std::string& out_path, const c10::Device& device,
                                       const std::function<void(const std::string&)>& log);

}  // namespace noisesched
