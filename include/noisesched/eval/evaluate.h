// noisesched/eval/evaluate.h: scoring a set of images against a data set's reference features.
//
// Reference statistics (features, their mean and covariance, class probabilities) are computed
// once per (data set content, split, resolution, limit, extractor file content) and cached as
// safetensors under <cache>/reference/. The cache key is a digest of all of these, so changing
// any of them (a retrained extractor, other data, another resolution) computes fresh statistics
// and never serves stale ones; the key is also stored inside the file and checked on load.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "noisesched/config/config.h"
#include "noisesched/config/metric_selection.h"
#include "noisesched/eval/extractor.h"
#include "noisesched/eval/metrics.h"
#include "noisesched/sampling/generate.h"

namespace noisesched {

class Communicator;

struct EvalSettings {
  MetricSelection metrics = MetricSelection::parse("fid,is,kid,pr");
  int is_splits = 10;
  int kid_subsets = 100;
  int kid_subset_size = 1000;
  int pr_k = 3;
  std::uint64_t seed = 0;  // KID subsets and the reference subset for precision/recall
  int batch_size = 100;    // images per extractor batch
};

// Where cached files live: $NOISESCHED_CACHE, else $XDG_CACHE_HOME/noisesched, else
// $HOME/.cache/noisesched.
std::string default_cache_dir();

// The extractor a data set uses by default: <cache>/extractors/<dataset>_cnn.safetensors for
// fashion_mnist and mnist (made by `noisesched featurizer train`), and
// <cache>/extractors/inception_v3_fid.safetensors for image folders (converted by the user).
std::string default_extractor_path(const std::string& dataset, const std::string& cache_dir);

struct ReferenceFeatures {
  FeatureStats stats;
  at::Tensor features;       // [N, D] float32
  at::Tensor probabilities;  // [N, K] float64
  std::string description;   // data set, split, resolution, count
  std::string key;           // the cache key (hex digest)
  std::string cache_path;
  bool from_cache = false;
};

// Features of every image of the data set `data` names (its split and resolution), from the
// cache when a file with the same key exists, otherwise computed and cached atomically.
// `log` gets one line about what happened.
// `progress` (optional) follows the feature extraction when the statistics are computed.
ReferenceFeatures reference_features(
    FeatureExtractor& extractor, const DataConfig& data, const std::string& cache_dir,
    const std::function<void(const std::string&)>& log,
    const std::function<void(std::int64_t, std::int64_t)>& progress = nullptr);

// Scores byte images [N, C, H, W] against `reference`: FID, IS (of the images), KID,
// precision/recall, class accuracy and grey-background share, as selected. Returns {"fid": ..,
// "is": {"mean", "spread", "splits"}, "kid": {"mean", "spread", "subsets", "subset_size"},
// "precision": .., "recall": .., "pr_k": .., "cacc": {"accuracy", "ceiling", "per_class",
// "num_labelled"}, "bg": {"share", "mean_corner"}} for the selected metrics, plus "num_images".
// `labels` [N] int64: the class each image was sampled for (needed by cacc; images labelled
// with the null class, K or more, do not count). cacc needs an extractor with a test accuracy
// (the data set's own classifier); throws otherwise, or when no image carries a class.
nlohmann::ordered_json evaluate_images(const at::Tensor& images, const at::Tensor& labels,
                                       FeatureExtractor& extractor,
                                       const ReferenceFeatures& reference,
                                       const EvalSettings& settings);

// evaluate_images on features already extracted from `images` (the CPU tensors `extract` gives).
nlohmann::ordered_json score_features(const ExtractedFeatures& generated, const at::Tensor& images,
                                      const at::Tensor& labels, FeatureExtractor& extractor,
                                      const ReferenceFeatures& reference,
                                      const EvalSettings& settings);

// Share of images [N, C, H, W] (bytes) whose four 3x3 corner patches average above
// `threshold` (0-255), and the mean corner value: {"share", "mean_corner", "threshold"}.
nlohmann::ordered_json background_brightness(const at::Tensor& images, double threshold = 40);

// What sample_and_evaluate does to the sampled images before scoring them (a corruption, for
// sanity checks): `images` are images [first, first + N) of the whole set.
using ImagesTransform = std::function<at::Tensor(const at::Tensor& images, std::int64_t first)>;

// Samples `num` images from `model` (labels from evaluation_labels) with `generate` and scores
// them as evaluate_images does, after `transform` when one is given; the training loop's
// evaluations and `noisesched eval --checkpoint` use it. With a `communicator` of several
// processes, each samples, transforms and featurizes its share of the images (the same images
// one process would sample), the first scores them all and returns the scores; the others return
// an empty object once it has (they need no reference features).
nlohmann::ordered_json sample_and_evaluate(
    const Denoiser& model, const DiffusionSetup& setup, int num_classes, bool class_conditional,
    const GenerateOptions& generate, std::int64_t num, FeatureExtractor& extractor,
    const ReferenceFeatures& reference, const EvalSettings& settings, const c10::Device& device,
    Communicator* communicator = nullptr, const ImagesTransform& transform = nullptr);

// How long the other processes wait for the first to score an evaluation (seconds).
constexpr double kScoringPatienceSeconds = 3600;

// Labels for `n` evaluation samples: the classes in turn (i mod K) for a class-conditional model,
// so every class is equally represented, the null class K otherwise.
std::vector<std::int64_t> evaluation_labels(std::int64_t n, int num_classes,
                                            bool class_conditional);

}  // namespace noisesched
