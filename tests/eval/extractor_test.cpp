// Feature extractors: Inception-v3 parity with torchvision (and the FID variant with a reference
// built from torchvision's blocks), the FID pooling differences on their own, the Fashion-MNIST
// classifier, image corruptions and the reference-statistics cache.
#include "noisesched/eval/extractor.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "data/data_test_util.h"
#include "eval/inception.h"
#include "noisesched/common/error.h"
#include "noisesched/common/random.h"
#include "noisesched/eval/classifier.h"
#include "noisesched/eval/evaluate.h"
#include "noisesched/eval/image_set.h"
#include "noisesched/io/safetensors.h"
#include "shell_util.h"
#include "test_util.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

// Runs the torchvision fixture script for `variant` and compares our extractor's features and
// class probabilities on the same byte images.
void expect_parity_with_python(const std::string& variant, const std::string& kind) {
  const fs::path folder = testing::fresh_folder("inception-" + variant);
  std::string tried;
  const std::string python = testing::python_with("torch torchvision", &tried);
  if (python.empty()) GTEST_SKIP() << tried;
  const std::string command = python + " " + std::string(NOISESCHED_TEST_DIR) +
                              "/eval/inception_reference.py " + folder.string() + " " + variant;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const SafetensorsContent io = load_safetensors((folder / "io.safetensors").string());
  const auto extractor =
      load_extractor((folder / "weights.safetensors").string(), c10::Device(c10::kCPU));
  EXPECT_EQ(extractor->kind(), kind);
  EXPECT_EQ(extractor->feature_dim(), 2048);
  const ExtractedFeatures out = extractor->extract(io.tensors.at("images"));
  const at::Tensor& features = io.tensors.at("features");
  const at::Tensor probabilities = at::softmax(io.tensors.at("logits").to(at::kDouble), 1);
  ASSERT_EQ(out.features.sizes(), features.sizes());
  ASSERT_EQ(out.probabilities.sizes(), probabilities.sizes());
  const double scale = features.abs().max().item<double>();
  EXPECT_LT((out.features - features).abs().max().item<double>(), 1e-4 * scale);
  EXPECT_LT((out.probabilities - probabilities).abs().max().item<double>(), 1e-5);
}

TEST(Inception, TorchvisionNetworkGivesTorchvisionsOutputs) {
  expect_parity_with_python("torchvision", "inception_v3");
}

TEST(Inception, FidNetworkGivesTheFidReferenceOutputs) {
  expect_parity_with_python("fid", "inception_v3_fid");
}

TEST(Inception, FidPoolingDiffersOnlyWhereDocumented) {
  // On a constant image, a 3x3 average that counts padding sees zeros at the border
  // (4/9 at corners, 6/9 on edges); the FID blocks' average ignores padding and stays constant.
  const at::Tensor ones = at::ones({1, 2, 5, 5});
  const at::Tensor with_pad = inception_pool(ones, InceptionPool::kAverage);
  const at::Tensor no_pad = inception_pool(ones, InceptionPool::kAverageNoPad);
  EXPECT_NEAR(with_pad[0][0][0][0].item<float>(), 4.0f / 9.0f, 1e-6);
  EXPECT_NEAR(with_pad[0][0][0][2].item<float>(), 6.0f / 9.0f, 1e-6);
  EXPECT_NEAR(with_pad[0][0][2][2].item<float>(), 1.0f, 1e-6);
  EXPECT_TRUE(at::allclose(no_pad, ones));
  // Mixed_7c's max pool keeps a single bright pixel over its 3x3 neighbourhood.
  at::Tensor spike = at::zeros({1, 1, 5, 5});
  spike[0][0][2][2] = 9.0f;
  const at::Tensor maxed = inception_pool(spike, InceptionPool::kMax);
  EXPECT_EQ(maxed.slice(2, 1, 4).slice(3, 1, 4).min().item<float>(), 9.0f);
  EXPECT_EQ(maxed[0][0][0][0].item<float>(), 0.0f);
  EXPECT_NEAR(inception_pool(spike, InceptionPool::kAverageNoPad)[0][0][1][1].item<float>(), 1.0f,
              1e-6);
}

TEST(Inception, WeightFilesWithWrongTensorsAreNamedErrors) {
  const fs::path folder = testing::fresh_folder("inception-bad");
  const std::string path = (folder / "bad.safetensors").string();
  save_safetensors(path, {{"fc.weight", at::zeros({10, 2048})}});
  const std::string message =
      testing::error_message([&] { load_extractor(path, c10::Device(c10::kCPU)); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("1008"), std::string::npos) << message;
  const std::string missing = testing::error_message(
      [&] { load_extractor((folder / "none.safetensors").string(), c10::Device(c10::kCPU)); });
  EXPECT_NE(missing.find("featurizer train"), std::string::npos) << missing;
}

TEST(ImageSet, CorruptionsDoWhatTheySay) {
  const at::Tensor flat = at::full({2, 1, 16, 16}, 100, at::kByte);
  EXPECT_TRUE(at::equal(corrupt_images(flat, "blur:1.5", 0), flat));
  EXPECT_TRUE(at::equal(corrupt_images(flat, "none", 0), flat));
  at::Tensor edge = at::zeros({1, 1, 16, 16}, at::kByte);
  edge.slice(3, 8, 16).fill_(200);
  const at::Tensor blurred = corrupt_images(edge, "blur:1", 0);
  EXPECT_GT(blurred[0][0][4][7].item<std::uint8_t>(), 0);
  EXPECT_LT(blurred[0][0][4][8].item<std::uint8_t>(), 200);
  const at::Tensor noise = corrupt_images(at::zeros({4, 1, 32, 32}, at::kByte), "uniform", 3);
  EXPECT_NEAR(noise.to(at::kDouble).mean().item<double>(), 127.5, 5.0);
  EXPECT_TRUE(at::equal(noise, corrupt_images(at::zeros({4, 1, 32, 32}, at::kByte), "uniform", 3)));
  // A share of the set (images 1 to 3) is corrupted as those images of the whole set are.
  EXPECT_TRUE(at::equal(noise.slice(0, 1, 4),
                        corrupt_images(at::zeros({3, 1, 32, 32}, at::kByte), "uniform", 3, 1)));
  const at::Tensor many = corrupt_images(at::zeros({2100, 1, 4, 4}, at::kByte), "uniform", 5);
  EXPECT_TRUE(at::equal(many.slice(0, 2050),
                        corrupt_images(at::zeros({50, 1, 4, 4}, at::kByte), "uniform", 5, 2050)));
  EXPECT_NE(testing::error_message([&] { corrupt_images(flat, "jpeg", 0); }).find("blur:SIGMA"),
            std::string::npos);
}

// `n` 28x28 images of class i % 10: a bright horizontal bar at row 2 + 2 * class (unchanged by
// horizontal flips) over seeded noise.
void write_bar_images(const fs::path& folder, const std::string& prefix, int n,
                      std::uint64_t seed) {
  std::vector<std::uint8_t> pixels, labels;
  SplitMix64 random(seed);
  for (int i = 0; i < n; ++i) {
    const int label = i % 10;
    for (int p = 0; p < 28 * 28; ++p) {
      const int row = p / 28;
      pixels.push_back(row == 2 + 2 * label || row == 3 + 2 * label
                           ? 255
                           : static_cast<std::uint8_t>(random.below(120)));
    }
    labels.push_back(static_cast<std::uint8_t>(label));
  }
  testing::write_bytes(folder / (prefix + "-images-idx3-ubyte"),
                       testing::idx_bytes(0x803, {static_cast<std::uint32_t>(n), 28, 28}, pixels),
                       false);
  testing::write_bytes(folder / (prefix + "-labels-idx1-ubyte"),
                       testing::idx_bytes(0x801, {static_cast<std::uint32_t>(n)}, labels), false);
}

// A tiny Fashion-MNIST-layout data set the classifier can learn, in a folder of the running test
// (ctest runs the tests of this suite in parallel; a shared folder was removed under the other).
fs::path tiny_idx_data() {
  const fs::path folder = testing::fresh_folder(
      std::string("eval-idx-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  write_bar_images(folder, "train", 600, 1);
  write_bar_images(folder, "t10k", 200, 2);
  return folder;
}

TEST(Classifier, LearnsASimpleDataSetAndStoresAnExtractor) {
  const fs::path data = tiny_idx_data();
  ClassifierTrainOptions options;
  options.data_path = data.string();
  options.epochs = 2;
  options.batch_size = 32;
  const std::string out = (data / "cnn.safetensors").string();
  const ClassifierTrainResult result =
      train_classifier(options, out, c10::Device(c10::kCPU), nullptr);
  // Chance is 0.1; the bars are unmistakable.
  EXPECT_GT(result.test_accuracy, 0.9);
  const auto extractor = load_extractor(out, c10::Device(c10::kCPU));
  EXPECT_EQ(extractor->kind(), "fmnist_cnn");
  const ImageSet set = load_image_set(*open_dataset([&] {
    DataConfig d;
    d.path = data.string();
    d.split = "test";
    d.resolution = 32;
    return d;
  }()));
  const ExtractedFeatures f = extractor->extract(set.images, 64);
  EXPECT_EQ(f.features.sizes(), (at::IntArrayRef{200, 256}));
  EXPECT_TRUE(at::allclose(f.probabilities.sum(1), at::ones({200}, at::kDouble)));
}

TEST(Reference, IsCachedAndKeyedByExtractorAndResolution) {
  const fs::path data = tiny_idx_data();
  ClassifierTrainOptions options;
  options.data_path = data.string();
  options.epochs = 1;
  const std::string first = (data / "a.safetensors").string();
  const std::string second = (data / "b.safetensors").string();
  train_classifier(options, first, c10::Device(c10::kCPU), nullptr);
  options.seed = 1;
  train_classifier(options, second, c10::Device(c10::kCPU), nullptr);
  const std::string cache = (data / "cache").string();
  DataConfig d;
  d.path = data.string();
  d.resolution = 32;
  auto a = load_extractor(first, c10::Device(c10::kCPU));
  const ReferenceFeatures computed = reference_features(*a, d, cache, nullptr);
  EXPECT_FALSE(computed.from_cache);
  EXPECT_EQ(computed.stats.count, 600);
  const ReferenceFeatures again = reference_features(*a, d, cache, nullptr);
  EXPECT_TRUE(again.from_cache);
  EXPECT_TRUE(at::equal(again.stats.covariance, computed.stats.covariance));
  // Another extractor file or another resolution: a new key, never the cached statistics.
  auto b = load_extractor(second, c10::Device(c10::kCPU));
  const ReferenceFeatures other = reference_features(*b, d, cache, nullptr);
  EXPECT_FALSE(other.from_cache);
  EXPECT_NE(other.key, computed.key);
  d.resolution = 28;
  EXPECT_FALSE(reference_features(*a, d, cache, nullptr).from_cache);
  // The test split scored against the train split's statistics: FID small but positive; the
  // same images scored against themselves: 0.
  EvalSettings settings;
  settings.metrics = MetricSelection::parse("fid,is,cacc,bg");
  settings.is_splits = 2;
  d.resolution = 32;
  const ImageSet train = load_image_set(*open_dataset(d));
  const auto self = evaluate_images(train.images, train.labels, *a, computed, settings);
  EXPECT_NEAR(self["fid"].get<double>(), 0.0, 1e-6);
  EXPECT_FALSE(self.contains("kid"));
  // Class accuracy: the share of images the classifier puts in their own class, computed here
  // from the probabilities directly; its ceiling is the extractor's recorded test accuracy.
  const ExtractedFeatures probs = a->extract(train.images);
  const double expected =
      (probs.probabilities.argmax(1) == train.labels).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(self["cacc"]["accuracy"].get<double>(), expected, 1e-12);
  ASSERT_TRUE(a->test_accuracy().has_value());
  EXPECT_EQ(self["cacc"]["ceiling"].get<double>(), *a->test_accuracy());
  // Labels of the null class only (an unconditional model): cacc is refused, not made up.
  EXPECT_THROW(
      evaluate_images(train.images, at::full_like(train.labels, 10), *a, computed, settings),
      Error);
  EXPECT_TRUE(self.contains("bg"));
  EXPECT_NE(testing::error_message([] { MetricSelection::parse("fid,lpips"); }).find("lpips"),
            std::string::npos);
}

TEST(Evaluation, BackgroundBrightnessCountsGreyCorners) {
  // Four 8x8 images: black, black with a bright centre, grey (60) everywhere, and bright in one
  // corner only (its 3x3 patch 255: the four-corner mean is 63.75).
  at::Tensor images = at::zeros({4, 1, 8, 8}, at::kByte);
  images[1].slice(1, 3, 5).slice(2, 3, 5).fill_(255);
  images[2].fill_(60);
  images[3].slice(1, 0, 3).slice(2, 0, 3).fill_(255);
  const auto bg = background_brightness(images);
  EXPECT_DOUBLE_EQ(bg["share"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(bg["mean_corner"].get<double>(), (0 + 0 + 60 + 63.75) / 4);
  EXPECT_DOUBLE_EQ(background_brightness(images, 61)["share"].get<double>(), 0.25);
}

}  // namespace
}  // namespace noisesched
