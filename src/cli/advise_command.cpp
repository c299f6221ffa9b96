// `noisesched advise`: the input scale b for each resolution, predicted from the data alone.
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/data/dataset.h"
#include "noisesched/study/advisor.h"

namespace noisesched::cli {
namespace {

struct AdviseOptions {
  DataConfig data;
  std::vector<int> resolutions;
  int reference = 32;
  std::size_t images = 1000;
};

std::vector<double> eigenvalues_at(DataConfig data, int resolution, std::size_t images) {
  data.resolution = resolution;
  data.limit = 0;
  return spectrum_eigenvalues(*open_dataset(data), images);
}

int run(const AdviseOptions& options) {
  if (options.reference < 1) throw Error("--reference must be >= 1");
  if (options.images < 2) throw Error("--images must be >= 2");
  for (const int r : options.resolutions) {
    if (r < 1 || r > 1024) {
      throw Error("--resolution " + std::to_string(r) + " is outside [1, 1024]");
    }
  }
  const auto reference = eigenvalues_at(options.data, options.reference, options.images);
  std::cout << "Input scale b for gamma = 1 - t (simple_linear), matching each resolution's\n"
               "linear-denoiser difficulty curve to "
            << options.reference << " px at b = 1 (" << options.images << " images of "
            << options.data.dataset << "):\n\n";
  std::printf("%10s  %14s  %11s  %8s  %13s\n", "resolution", "logSNR shift", "predicted b",
              "misfit", "rule ref/res");
  std::vector<std::pair<int, ScaleAdvice>> advice;
  for (const int r : options.resolutions) {
    const ScaleAdvice a =
        advise_input_scale(eigenvalues_at(options.data, r, options.images), reference);
    std::printf("%10d  %14.3f  %11.3f  %8.4f  %13.3f\n", r, a.shift, a.b, a.misfit,
                static_cast<double>(options.reference) / r);
    advice.emplace_back(r, a);
  }
  std::cout << "\ntrain with:\n";
  for (const auto& [r, a] : advice) {
    char b[32];
    std::snprintf(b, sizeof(b), "%.3g", a.b);
    std::cout << "  " << r << " px: --set data.resolution=" << r
              << " --set diffusion.schedule=simple_linear --set diffusion.input_scale=" << b
              << "\n";
  }
  return 0;
}

}  // namespace

void add_advise_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<AdviseOptions>();
  auto* cmd = app.add_subcommand(
      "advise",
      "Predict the input scale b for each resolution from the data alone: the b whose logSNR\n"
      "shift moves the resolution's difficulty curve (the error left by the best linear\n"
      "denoiser, from the images' power spectrum) onto the reference resolution's at b = 1.\n"
      "Compare with the study's measured best b (docs/studies.md).");
  cmd->add_option("--dataset", options->data.dataset, "fashion_mnist, mnist or folder")
      ->check(CLI::IsMember({"fashion_mnist", "mnist", "folder"}));
  cmd->add_option("--data-path", options->data.path, "Data set folder");
  cmd->add_option("--resolution", options->resolutions, "Resolutions to advise on (repeatable)")
      ->required()
      ->delimiter(',');
  cmd->add_option("--reference", options->reference, "Reference resolution, trained at b = 1");
  cmd->add_option("--images", options->images, "Images used for the spectrum");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
