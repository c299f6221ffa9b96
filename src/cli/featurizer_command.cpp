// `noisesched featurizer train`: the Fashion-MNIST / MNIST feature classifier for FID and IS.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/progress.h"
#include "noisesched/eval/classifier.h"
#include "noisesched/eval/evaluate.h"
#include "noisesched/train/engine.h"

namespace noisesched::cli {
namespace {

struct FeaturizerTrainOptions {
  ClassifierTrainOptions train;
  std::string out = "auto";
  bool force = false;
  std::string device = "cpu";
  double min_accuracy = 0.0;
  std::string progress = "auto";
};

int run(const FeaturizerTrainOptions& o) {
  const std::string out =
      o.out == "auto" ? default_extractor_path(o.train.dataset, default_cache_dir()) : o.out;
  if (std::filesystem::exists(out) && !o.force) {
    throw Error("--out '" + out +
                "' exists; pass --force to replace it (reference statistics cached for the old "
                "file are keyed by its content and will not be reused)");
  }
  const auto parent = std::filesystem::path(out).parent_path();
  if (!parent.empty()) create_directories(parent.string());
  std::cerr << "training the " << o.train.dataset << " feature classifier (" << o.train.epochs
            << " epochs, batch " << o.train.batch_size << ")\n";
  // Trained into a side file first: an existing extractor is replaced only by one that passed
  // --min-accuracy, so a bad run never costs the good file.
  const std::string trained = out + ".new";
  ClassifierTrainOptions train = o.train;
  std::optional<Progress> progress;
  train.progress = [&](std::int64_t done, std::int64_t total, int epoch, double loss) {
    if (!progress) progress.emplace("classifier step", total, progress_mode(o.progress), std::cerr);
    char loss_text[64];
    std::snprintf(loss_text, sizeof(loss_text), "loss %.4f", loss);
    // Log lines come from the epoch summaries below; the redrawn line shows every step.
    progress->update(done,
                     {{"epoch " + std::to_string(epoch) + "/" + std::to_string(o.train.epochs), 1},
                      {loss_text, 2},
                      {"left " + duration_text(progress->seconds_left(done)), 1}},
                     false);
  };
  const ClassifierTrainResult result =
      train_classifier(train, trained, parse_device(o.device), [&](const std::string& line) {
        (progress ? progress->interrupt() : std::cerr) << line << "\n";
      });
  if (result.test_accuracy < o.min_accuracy) {
    throw Error("test accuracy " + format_significant(result.test_accuracy, 4) +
                " is below --min-accuracy " + format_exact(o.min_accuracy) +
                "; left the weights in '" + trained + "' for inspection" +
                (std::filesystem::exists(out) ? " and kept '" + out + "'" : std::string()));
  }
  commit_file(trained, out);
  std::cout << "test accuracy " << format_significant(result.test_accuracy, 4) << " after "
            << static_cast<long long>(result.train_seconds) << " s; wrote " << out << "\n";
  return 0;
}

}  // namespace

void add_featurizer_command(CLI::App& app, CommandRunner& runner) {
  auto* cmd = app.add_subcommand("featurizer",
                                 "Feature extractors for evaluation (see docs/evaluation.md).");
  cmd->require_subcommand(1, 1);
  auto options = std::make_shared<FeaturizerTrainOptions>();
  auto* train = cmd->add_subcommand(
      "train",
      "Train the small Fashion-MNIST/MNIST classifier whose penultimate features serve FID,\n"
      "KID and precision/recall and whose class probabilities serve the Inception Score.\n"
      "Trains on the training split, reports test-split accuracy, saves safetensors.");
  train->add_option("--dataset", options->train.dataset, "fashion_mnist or mnist")
      ->check(CLI::IsMember({"fashion_mnist", "mnist"}));
  train->add_option("--data-path", options->train.data_path, "Folder with the IDX files");
  train->add_option("--epochs", options->train.epochs, "Passes over the training split");
  train->add_option("--batch-size", options->train.batch_size, "Images per step");
  train->add_option("--lr", options->train.lr, "AdamW peak learning rate (cosine decay to 0)");
  train->add_option("--weight-decay", options->train.weight_decay, "AdamW weight decay");
  train->add_option("--seed", options->train.seed, "Initialisation, order and flips");
  train->add_option("--limit", options->train.limit,
                    "Train on the first N training images only (0: all)");
  train->add_option("--out", options->out,
                    "Output file (auto: <cache>/extractors/<dataset>_cnn.safetensors, the "
                    "default `noisesched eval` uses; cache: $NOISESCHED_CACHE, else "
                    "~/.cache/noisesched)");
  train->add_flag("--force", options->force, "Replace --out if it exists");
  train->add_option("--device", options->device, "cpu, cuda or cuda:N");
  train->add_option("--min-accuracy", options->min_accuracy,
                    "Exit with an error when the test accuracy ends below this");
  train
      ->add_option("--progress", options->progress,
                   "auto (a redrawn line on a terminal, else one line per epoch), bar or lines")
      ->check(CLI::IsMember({"auto", "bar", "lines"}));
  train->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
