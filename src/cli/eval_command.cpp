// `noisesched eval`: FID, Inception Score, KID and precision/recall of a checkpoint's samples or
// of a folder of images, against a data set's reference features.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/launch.h"
#include "noisesched/common/numbers.h"
#include "noisesched/core/communicator.h"
#include "noisesched/eval/evaluate.h"
#include "noisesched/eval/image_set.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/sampling/trained_model.h"
#include "noisesched/train/engine.h"
#include "processes.h"

namespace noisesched::cli {
namespace {

struct EvalCommandOptions {
  std::string checkpoint;
  std::string images;
  std::string weights = "ema";
  SamplerFlags sampler;
  int num = 1000;
  int limit = 0;
  std::uint64_t seed = 0;
  int batch_size = 64;
  std::string dataset = "fashion_mnist";
  std::string data_path;
  int resolution = 0;
  std::string reference_split = "train";
  std::string corrupt = "none";
  std::string extractor = "auto";
  std::string cache = "auto";
  std::string metrics = "fid,is,kid,pr";
  EvalSettings settings;
  std::string json;
  std::string device = "cpu";
  std::string progress = "auto";
  int nproc = 0;
};

// Only the first process of a multi-process evaluation logs.
bool g_quiet = false;

void log_line(const std::string& line) {
  if (!g_quiet) std::cerr << line << "\n";
}

int run(const EvalCommandOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.checkpoint.empty() == o.images.empty()) {
    throw Error(
        "give exactly one of --checkpoint (sample and score a model) and --images "
        "(score a folder, or the data set's train or test split)");
  }
  const ProcessPlacement placement = placement_from_environment(process_environment());
  if ((o.nproc > 1 || placement.distributed()) && o.checkpoint.empty()) {
    throw Error("several processes share the sampling of --checkpoint; --images is scored by one");
  }
  // A misspelt --corrupt or metric is refused before anything starts, loads or samples (once,
  // not once per process).
  check_corruption(o.corrupt);
  EvalSettings settings = o.settings;
  settings.metrics = MetricSelection::parse(o.metrics);
  // The processes' own timeout is the checkpoint's train.dist_timeout; the launcher's grace
  // after a failure uses the default.
  if (const auto status = launch_if_several(o.nproc, TrainConfig{}.dist_timeout)) return *status;
  settings.seed = o.seed;
  const c10::Device device = parse_device(device_of_process(o.device, placement));
  std::unique_ptr<Communicator> communicator = single_process();
  g_quiet = placement.rank != 0;
  const std::string cache = o.cache == "auto" ? default_cache_dir() : o.cache;

  nlohmann::ordered_json result;
  DataConfig reference_data;
  at::Tensor images, labels;
  std::unique_ptr<TrainedModel> trained;
  InferenceRecipe recipe;
  if (!o.checkpoint.empty()) {
    if (o.num < 2) throw Error("--num must be >= 2 (got " + std::to_string(o.num) + ")");
    recipe = o.sampler.resolve();
    trained = std::make_unique<TrainedModel>(load_trained_model(o.checkpoint, o.weights, device));
    if (recipe.guidance != 0.0 && !trained->spec.config.model.class_conditional) {
      throw Error("--guidance " + format_exact(recipe.guidance) +
                  ": classifier-free guidance needs a class-conditional model");
    }
    reference_data = trained->spec.config.data;
    communicator = join_run(o.device, trained->spec).communicator;
    if (o.resolution != 0 && o.resolution != reference_data.resolution) {
      throw Error("--resolution " + std::to_string(o.resolution) + " disagrees with the model's " +
                  std::to_string(reference_data.resolution) + " (leave it out)");
    }
  } else {
    reference_data.dataset = o.dataset;
    reference_data.path = o.data_path.empty() ? DataConfig{}.path : o.data_path;
    reference_data.resolution = o.resolution;
  }
  if (!o.data_path.empty()) reference_data.path = o.data_path;
  reference_data.split = o.reference_split;
  reference_data.limit = 0;
  reference_data.random_flip = false;

  // The extractor first: a missing one is the commonest mistake and should cost nothing.
  const std::string extractor_path =
      o.extractor == "auto" ? default_extractor_path(reference_data.dataset, cache) : o.extractor;
  const std::unique_ptr<FeatureExtractor> extractor = load_extractor(extractor_path, device);
  log_line("extractor: " + extractor->describe());

  if (!o.images.empty()) {
    if (o.images == "train" || o.images == "test") {
      if (reference_data.dataset == "folder") {
        throw Error("--images " + o.images +
                    ": image folders have no splits; give the folder to score instead");
      }
      if (reference_data.resolution == 0) reference_data.resolution = 28;
      DataConfig source = reference_data;
      source.split = o.images;
      const ImageSet set = load_image_set(*open_dataset(source));
      images = set.images;
      labels = set.labels;
      result["source"] = source.dataset + " " + o.images + " split";
    } else {
      const int channels = reference_data.dataset == "folder" ? 3 : 1;
      // A `noisesched sample` folder: the per-class images, not the labelled grid.
      std::vector<std::string> exclude;
      if (std::filesystem::exists(std::filesystem::path(o.images) / "samples.json")) {
        exclude.push_back((std::filesystem::path(o.images) / "grid.png").string());
        log_line("--images: a `noisesched sample` folder; scoring its images, not grid.png");
      }
      const ImageSet set = load_image_folder_flat(o.images, channels, exclude);
      images = set.images;
      labels = set.labels;
      if (reference_data.resolution == 0) reference_data.resolution = images.size(2);
      result["source"] = o.images;
    }
    if (o.limit < 0) throw Error("--limit must be >= 0 (got " + std::to_string(o.limit) + ")");
    if (o.limit > 0 && o.limit < images.size(0)) {
      images = images.slice(0, 0, o.limit);
      if (labels.defined()) labels = labels.slice(0, 0, o.limit);
    }
  }
  // The first process prepares the reference (the others do not score); they wait for it.
  ReferenceFeatures reference;
  if (communicator->first()) {
    reference = reference_features(*extractor, reference_data, cache, log_line,
                                   counting_progress("reference features", o.progress));
  }
  communicator->follow_first("the reference features", 24 * 3600);

  nlohmann::ordered_json metrics;
  if (trained) {
    GenerateOptions options;
    options.recipe = recipe;
    options.seed = o.seed;
    options.batch_size = o.batch_size;
    options.cuda_graphs = trained->spec.cuda_graphs;
    options.progress = sampling_progress(o.progress, o.num);
    log_line("sampling " + std::to_string(o.num) + " images from " + trained->path + " (step " +
             std::to_string(trained->step) + ", " + o.weights + " weights) with " +
             recipe.to_string() +
             (communicator->world_size() > 1 ? "; shared among " + communicator->describe() : ""));
    // Each process samples, corrupts and featurizes its share; the first scores them all.
    metrics = sample_and_evaluate(trained->model, trained->spec.diffusion, trained->num_classes,
                                  trained->spec.config.model.class_conditional, options, o.num,
                                  *extractor, reference, settings, device, communicator.get(),
                                  [&](const at::Tensor& share, std::int64_t first) {
                                    return corrupt_images(share, o.corrupt, o.seed, first);
                                  });
    communicator->leave_first_last("the evaluation", kScoringPatienceSeconds);
    if (!communicator->first()) return 0;
    result["source"] = "checkpoint";
    result["checkpoint"] = trained->path;
    result["step"] = trained->step;
    result["weights"] = o.weights;
    result.update(recipe_json(recipe));
  } else {
    metrics = evaluate_images(corrupt_images(images, o.corrupt, o.seed), labels, *extractor,
                              reference, settings);
  }
  result["seed"] = o.seed;
  result["corrupt"] = o.corrupt;
  result["extractor"] = extractor->describe();
  result["extractor_kind"] = extractor->kind();
  result["extractor_fingerprint"] = extractor->fingerprint();
  result["reference"] = {{"description", reference.description},
                         {"num_images", reference.stats.count},
                         {"key", reference.key}};
  result["metrics"] = std::move(metrics);
  result["seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const auto& m = result["metrics"];
  std::cout << "images " << m["num_images"].get<std::int64_t>() << " vs " << reference.description
            << ", extractor " << extractor->kind() << "\n";
  if (m.contains("fid")) std::cout << "FID        " << format_significant(m["fid"], 5) << "\n";
  if (m.contains("is")) {
    std::cout << "IS         " << format_significant(m["is"]["mean"], 5) << " +- "
              << format_significant(m["is"]["spread"], 3) << " (" << settings.is_splits
              << " splits)\n";
  }
  if (m.contains("kid")) {
    std::cout << "KID        " << format_significant(m["kid"]["mean"], 4) << " +- "
              << format_significant(m["kid"]["spread"], 3) << "\n";
  }
  if (m.contains("precision")) {
    std::cout << "precision  " << format_significant(m["precision"], 4) << "\nrecall     "
              << format_significant(m["recall"], 4) << " (k = " << settings.pr_k << ")\n";
  }
  if (m.contains("cacc")) {
    std::cout << "class acc  " << format_significant(m["cacc"]["accuracy"], 4)
              << " (the classifier on the test split: "
              << format_significant(m["cacc"]["ceiling"], 4) << ")\n";
  }
  if (m.contains("bg")) {
    std::cout << "grey bg    " << format_significant(m["bg"]["share"], 4)
              << " of images have corners brighter than 40/255 (mean corner "
              << format_significant(m["bg"]["mean_corner"], 4) << ")\n";
  }
  if (!o.json.empty()) {
    write_file_atomically(o.json, result.dump(2) + "\n");
    std::cout << "wrote " << o.json << "\n";
  }
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<EvalCommandOptions>();
  auto* cmd = app.add_subcommand(
      "eval",
      "Score images with FID, Inception Score, KID and precision/recall (SPEC section 8).\n"
      "--checkpoint samples a trained model (classes in turn) and scores the samples;\n"
      "--images scores a folder of PNG/JPEG images, or the data set's train or test split.\n"
      "Reference: features of the data set's --reference-split, cached under the cache folder\n"
      "($NOISESCHED_CACHE, else ~/.cache/noisesched). Numbers compare only with the same\n"
      "extractor and the same number of images: both are printed and recorded.");
  cmd->add_option("--checkpoint", options->checkpoint,
                  "Run folder or checkpoint folder to sample from");
  cmd->add_option("--images", options->images,
                  "Folder of images to score, or 'train'/'test' for a split of the data set");
  cmd->add_option("--weights", options->weights, "ema or model");
  add_sampler_flags(cmd, options->sampler);
  cmd->add_option("--num", options->num, "Images to sample (--checkpoint)");
  cmd->add_option("--limit", options->limit, "Score only the first N images (--images; 0: all)");
  cmd->add_option("--seed", options->seed,
                  "Seed of sampling, KID subsets, the precision/recall reference subset and "
                  "--corrupt uniform");
  cmd->add_option("--batch-size", options->batch_size, "Images per network batch when sampling");
  cmd->add_option("--dataset", options->dataset,
                  "With --images: the reference data set (fashion_mnist, mnist or folder); "
                  "with --checkpoint the model's")
      ->check(CLI::IsMember({"fashion_mnist", "mnist", "folder"}));
  cmd->add_option("--data-path", options->data_path,
                  "Reference data location (empty: the model's, or Debian's Fashion-MNIST)");
  cmd->add_option("--resolution", options->resolution,
                  "Reference resolution (0: the model's, the images' size, or 28 for IDX "
                  "splits)");
  cmd->add_option("--reference-split", options->reference_split, "train or test")
      ->check(CLI::IsMember({"train", "test"}));
  cmd->add_option("--corrupt", options->corrupt,
                  "Corrupt the scored images first (sanity checks): none, uniform, blur:SIGMA");
  cmd->add_option("--extractor", options->extractor,
                  "Extractor weights (auto: <cache>/extractors/<dataset>_cnn.safetensors, or "
                  "inception_v3_fid.safetensors for image folders)");
  cmd->add_option("--cache", options->cache, "Cache folder (auto: see above)");
  cmd->add_option("--metrics", options->metrics,
                  "Comma-separated: " + MetricSelection::names() +
                      " (cacc: class accuracy of class-conditional samples; bg: share of grey "
                      "backgrounds)");
  cmd->add_option("--is-splits", options->settings.is_splits, "Inception Score splits");
  cmd->add_option("--kid-subsets", options->settings.kid_subsets, "KID subsets");
  cmd->add_option("--kid-subset-size", options->settings.kid_subset_size,
                  "KID subset size (capped at the smaller set)");
  cmd->add_option("--pr-k", options->settings.pr_k, "k of the precision/recall manifolds");
  cmd->add_option("--json", options->json, "Also write the full result as JSON to this file");
  cmd->add_option("--device", options->device, "cpu, cuda or cuda:N");
  cmd->add_option("--nproc", options->nproc,
                  "Share the sampling of --checkpoint among this many processes on this machine "
                  "(docs/distributed.md); under torchrun or srun leave it out")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--progress", options->progress,
                  "auto (redrawn line on a terminal, else log lines), bar or lines")
      ->check(CLI::IsMember({"auto", "bar", "lines"}));
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
