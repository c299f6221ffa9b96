// Reference statistics and scoring; see noisesched/eval/evaluate.h.
#include "noisesched/eval/evaluate.h"

#include <ATen/ATen.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/launch.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"
#include "noisesched/core/communicator.h"
#include "noisesched/data/idx.h"
#include "noisesched/eval/image_set.h"
#include "noisesched/io/safetensors.h"

namespace noisesched {
namespace fs = std::filesystem;
namespace {

// Bump when the way reference features are computed changes (preprocessing, extraction).
constexpr const char* kReferenceFormat = "noisesched-reference/1";

// A digest of the data the configuration reads: file contents for IDX data; for image folders
// (possibly millions of files) every file's relative path, size and modification time.
std::string data_fingerprint(const DataConfig& data) {
  if (data.dataset == "fashion_mnist" || data.dataset == "mnist") {
    const IdxFiles files = find_idx_files(data.path, data.split);
    return file_fingerprint(files.images) + file_fingerprint(files.labels);
  }
  std::vector<std::string> entries;
  std::error_code ec;
  if (!fs::is_directory(data.path, ec)) {
    throw Error("data folder '" + data.path + "' does not exist");
  }
  for (const auto& entry : fs::recursive_directory_iterator(data.path)) {
    if (!entry.is_regular_file()) continue;
    std::ostringstream line;
    line << fs::relative(entry.path(), data.path).string() << '\t' << entry.file_size() << '\t'
         << entry.last_write_time().time_since_epoch().count();
    entries.push_back(line.str());
  }
  std::sort(entries.begin(), entries.end());
  std::string all;
  for (const auto& e : entries) all += e + '\n';
  return text_fingerprint(all);
}

}  // namespace

std::string default_cache_dir() {
  if (const char* own = std::getenv("NOISESCHED_CACHE"); own && *own) return own;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/noisesched";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/noisesched";
  }
  throw Error("no cache folder: set NOISESCHED_CACHE (or HOME)");
}

std::string default_extractor_path(const std::string& dataset, const std::string& cache_dir) {
  if (dataset == "fashion_mnist" || dataset == "mnist") {
    return cache_dir + "/extractors/" + dataset + "_cnn.safetensors";
  }
  return cache_dir + "/extractors/inception_v3_fid.safetensors";
}

ReferenceFeatures reference_features(
    FeatureExtractor& extractor, const DataConfig& data, const std::string& cache_dir,
    const std::function<void(const std::string&)>& log,
    const std::function<void(std::int64_t, std::int64_t)>& progress) {
  const std::string key_text =
      std::string(kReferenceFormat) + "|extractor=" + extractor.kind() + ":" +
      extractor.fingerprint() + "|dataset=" + data.dataset + "|split=" + data.split +
      "|resolution=" + std::to_string(data.resolution) + "|limit=" + std::to_string(data.limit) +
      "|skip_bad_images=" + (data.skip_bad_images ? "1" : "0") + "|data=" + data_fingerprint(data);
  ReferenceFeatures reference;
  reference.key = text_fingerprint(key_text);
  reference.cache_path = cache_dir + "/reference/" + data.dataset + "_" + data.split + "_" +
                         std::to_string(data.resolution) + "px_" + extractor.kind() + "_" +
                         reference.key + ".safetensors";
  std::error_code ec;
  if (fs::is_regular_file(reference.cache_path, ec)) {
    const SafetensorsContent content = load_safetensors(reference.cache_path);
    const auto it = content.metadata.find("key");
    const bool complete = content.metadata.count("description") &&
                          content.tensors.count("features") &&
                          content.tensors.count("probabilities") && content.tensors.count("mean") &&
                          content.tensors.count("covariance");
    if (it == content.metadata.end() || it->second != key_text || !complete) {
      throw Error("reference cache '" + reference.cache_path +
                  "' does not hold the statistics its name promises; delete it (it is "
                  "recomputed on the next run)");
    }
    reference.features = content.tensors.at("features");
    reference.probabilities = content.tensors.at("probabilities");
    reference.stats.mean = content.tensors.at("mean");
    reference.stats.covariance = content.tensors.at("covariance");
    reference.stats.count = reference.features.size(0);
    reference.description = content.metadata.at("description");
    reference.from_cache = true;
    if (log)
      log("reference: " + reference.description + " (cached in " + reference.cache_path + ")");
    return reference;
  }
  const std::unique_ptr<Dataset> dataset = open_dataset(data);
  const ImageSet set = load_image_set(*dataset);
  const ExtractedFeatures extracted = extractor.extract(set.images, 100, progress);
  reference.features = extracted.features;
  reference.probabilities = extracted.probabilities;
  reference.stats = feature_stats(extracted.features);
  reference.description = data.dataset + " " + data.split + " split at " +
                          std::to_string(data.resolution) + "x" + std::to_string(data.resolution) +
                          ", " + std::to_string(set.images.size(0)) + " images";
  create_directories(cache_dir + "/reference");
  save_safetensors(reference.cache_path,
                   {{"mean", reference.stats.mean},
                    {"covariance", reference.stats.covariance},
                    {"features", reference.features},
                    {"probabilities", reference.probabilities}},
                   {{"format", kReferenceFormat},
                    {"key", key_text},
                    {"description", reference.description},
                    {"extractor", extractor.describe()}});
  if (log)
    log("reference: " + reference.description + " (computed, cached in " + reference.cache_path +
        ")");
  return reference;
}

nlohmann::ordered_json background_brightness(const at::Tensor& images, double threshold) {
  if (images.dim() != 4 || images.size(2) < 3 || images.size(3) < 3) {
    throw Error("bg: images must be [N, C, H, W] with H, W >= 3");
  }
  const at::Tensor x = images.to(at::kCPU, at::kDouble);
  const std::int64_t h = x.size(2), w = x.size(3);
  const at::Tensor corners = at::stack({x.slice(2, 0, 3).slice(3, 0, 3).mean({1, 2, 3}),
                                        x.slice(2, 0, 3).slice(3, w - 3, w).mean({1, 2, 3}),
                                        x.slice(2, h - 3, h).slice(3, 0, 3).mean({1, 2, 3}),
                                        x.slice(2, h - 3, h).slice(3, w - 3, w).mean({1, 2, 3})})
                                 .mean(0);  // [N]
  return {{"share", (corners > threshold).to(at::kDouble).mean().item<double>()},
          {"mean_corner", corners.mean().item<double>()},
          {"threshold", threshold}};
}

nlohmann::ordered_json evaluate_images(const at::Tensor& images, const at::Tensor& labels,
                                       FeatureExtractor& extractor,
                                       const ReferenceFeatures& reference,
                                       const EvalSettings& settings) {
  return score_features(extractor.extract(images, settings.batch_size), images, labels, extractor,
                        reference, settings);
}

nlohmann::ordered_json score_features(const ExtractedFeatures& generated, const at::Tensor& images,
                                      const at::Tensor& labels, FeatureExtractor& extractor,
                                      const ReferenceFeatures& reference,
                                      const EvalSettings& settings) {
  const std::int64_t n = generated.features.size(0);
  nlohmann::ordered_json out;
  out["num_images"] = n;
  if (settings.metrics.fid) {
    out["fid"] = frechet_distance(feature_stats(generated.features), reference.stats);
  }
  if (settings.metrics.is) {
    const MeanSpread is = inception_score(generated.probabilities, settings.is_splits);
    out["is"] = {{"mean", is.mean}, {"spread", is.spread}, {"splits", settings.is_splits}};
  }
  if (settings.metrics.kid) {
    const MeanSpread kid =
        kernel_inception_distance(reference.features, generated.features, settings.kid_subsets,
                                  settings.kid_subset_size, settings.seed);
    out["kid"] = {{"mean", kid.mean},
                  {"spread", kid.spread},
                  {"subsets", settings.kid_subsets},
                  {"subset_size", std::min<std::int64_t>(
                                      {settings.kid_subset_size, n, reference.features.size(0)})}};
  }
  if (settings.metrics.pr) {
    // Equal-sized sets, as Kynkaanniemi et al. compare them: a seeded subset of the reference.
    at::Tensor real = reference.features;
    if (real.size(0) > n)
      real = random_rows(real, n, hash_values({settings.seed, purpose::kPrSubset}));
    const PrecisionRecall pr = precision_recall(real, generated.features, settings.pr_k);
    out["precision"] = pr.precision;
    out["recall"] = pr.recall;
    out["pr_k"] = settings.pr_k;
  }
  if (settings.metrics.cacc) {
    const std::optional<double> ceiling = extractor.test_accuracy();
    if (!ceiling) {
      throw Error("cacc: the extractor (" + extractor.kind() +
                  ") is not a classifier of the model's classes; use the data set's own "
                  "(noisesched featurizer train)");
    }
    const std::int64_t k = generated.probabilities.size(1);
    if (!labels.defined() || labels.size(0) != n) {
      throw Error("cacc: needs the class of every image (class-conditional samples)");
    }
    const at::Tensor y = labels.to(at::kCPU, at::kLong);
    const at::Tensor labelled = (y >= 0) & (y < k);
    const std::int64_t count = labelled.sum().item<std::int64_t>();
    if (count == 0) throw Error("cacc: no image was sampled for a class (unconditional model)");
    const at::Tensor correct = (generated.probabilities.argmax(1) == y) & labelled;
    nlohmann::ordered_json per_class_json = nlohmann::ordered_json::array();  // null: no image
    for (std::int64_t c = 0; c < k; ++c) {
      const at::Tensor of_c = y == c;
      const std::int64_t m = of_c.sum().item<std::int64_t>();
      per_class_json.push_back(m == 0
                                   ? nlohmann::ordered_json()
                                   : nlohmann::ordered_json((correct & of_c).sum().item<double>() /
                                                            static_cast<double>(m)));
    }
    out["cacc"] = {{"accuracy", correct.sum().item<double>() / static_cast<double>(count)},
                   {"ceiling", *ceiling},
                   {"per_class", per_class_json},
                   {"num_labelled", count}};
  }
  if (settings.metrics.bg) out["bg"] = background_brightness(images);
  return out;
}

nlohmann::ordered_json sample_and_evaluate(
    const Denoiser& model, const DiffusionSetup& setup, int num_classes, bool class_conditional,
    const GenerateOptions& generate, std::int64_t num, FeatureExtractor& extractor,
    const ReferenceFeatures& reference, const EvalSettings& settings, const c10::Device& device,
    Communicator* communicator, const ImagesTransform& transform) {
  const std::vector<std::int64_t> labels = evaluation_labels(num, num_classes, class_conditional);
  const at::Tensor label_tensor = at::tensor(labels, at::TensorOptions().dtype(at::kLong));
  if (communicator == nullptr || communicator->world_size() == 1) {
    at::Tensor images = generate_images(model, setup, labels, generate, device);
    if (transform) images = transform(images, 0);
    return evaluate_images(images, label_tensor, extractor, reference, settings);
  }
  // Each process samples, transforms and featurizes its share; the first gathers and scores them.
  at::Tensor images = generate_share(model, setup, labels, generate, device, *communicator);
  if (transform && images.size(0) > 0) {
    const std::int64_t first =
        shard_range(num, communicator->rank(), communicator->world_size(), generate.batch_size)
            .first;
    images = transform(images, first);
  }
  ExtractedFeatures features;
  if (images.size(0) > 0) {
    features = extractor.extract(images, settings.batch_size);
  } else {
    features.features = at::empty({0, extractor.feature_dim()}, at::kFloat);
    features.probabilities = at::empty({0, 0}, at::kDouble);
  }
  communicator->arrive_together("sampling their share of the evaluation images",
                                kSharedSamplingPatienceSeconds);
  ExtractedFeatures all;
  all.features = communicator->gather_rows(features.features, "gathering evaluation features");
  // Extractors without classes give [N, 0]; the gather needs one width on every process.
  const int classes =
      communicator->max(static_cast<int>(features.probabilities.size(1)), "the class count");
  if (features.probabilities.size(1) != classes) {
    features.probabilities = at::zeros({features.probabilities.size(0), classes}, at::kDouble);
  }
  all.probabilities =
      communicator->gather_rows(features.probabilities, "gathering evaluation class probabilities");
  const at::Tensor all_images = communicator->gather_rows(images, "gathering evaluation images");
  nlohmann::ordered_json scores = nlohmann::ordered_json::object();
  if (communicator->first()) {
    scores = score_features(all, all_images, label_tensor, extractor, reference, settings);
  }
  communicator->follow_first("scoring the evaluation", kScoringPatienceSeconds);
  return scores;
}

std::vector<std::int64_t> evaluation_labels(std::int64_t n, int num_classes,
                                            bool class_conditional) {
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n), num_classes);
  if (class_conditional) {
    for (std::int64_t i = 0; i < n; ++i) labels[static_cast<std::size_t>(i)] = i % num_classes;
  }
  return labels;
}

}  // namespace noisesched
