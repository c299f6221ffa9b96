// `noisesched noised-strip`: one image at several resolutions noised at the same gamma.
#include <iostream>
#include <memory>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/data/dataset.h"
#include "noisesched/data/image_io.h"
#include "noisesched/report/noised_strip.h"

namespace noisesched::cli {
namespace {

struct NoisedStripCommandOptions {
  std::string image;
  DataConfig data = [] {
    DataConfig d;
    d.split = "test";
    return d;
  }();
  int index = 0;
  NoisedStripOptions strip;
  std::string out = "noised_strip.png";
};

int run(const NoisedStripCommandOptions& options) {
  ImageCHW source;
  if (!options.image.empty()) {
    source = read_image(options.image, 3);
  } else {
    DataConfig data = options.data;
    data.resolution = 28;  // native size for IDX data; folders are resized to it too
    data.limit = 0;
    const auto dataset = open_dataset(data);
    if (options.index < 0 || static_cast<std::size_t>(options.index) >= dataset->size()) {
      throw Error("--index " + std::to_string(options.index) + " is outside [0, " +
                  std::to_string(dataset->size()) + ")");
    }
    source = {dataset->channels(), dataset->resolution(), dataset->resolution(),
              std::vector<std::uint8_t>(dataset->example_bytes())};
    dataset->load(static_cast<std::size_t>(options.index), source.pixels.data());
  }
  write_noised_strip(source, options.strip, options.out);
  std::cout << "wrote " << options.out << "\n";
  return 0;
}

}  // namespace

void add_noised_strip_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<NoisedStripCommandOptions>();
  auto* cmd = app.add_subcommand(
      "noised-strip",
      "Draw one image at several resolutions noised at the same gamma (Chen 2023, Figure 1):\n"
      "larger images stay recognisable at the same noise level, so they need noisier schedules.");
  cmd->add_option("--image", options->image, "A PNG or JPEG to use (default: a data-set image)");
  cmd->add_option("--dataset", options->data.dataset, "fashion_mnist, mnist or folder")
      ->check(CLI::IsMember({"fashion_mnist", "mnist", "folder"}));
  cmd->add_option("--data-path", options->data.path, "Data set folder");
  cmd->add_option("--split", options->data.split, "train or test")
      ->check(CLI::IsMember({"train", "test"}));
  cmd->add_option("--index", options->index, "Which image of the data set");
  cmd->add_option("--resolutions", options->strip.resolutions, "Columns: image sizes")
      ->delimiter(',');
  cmd->add_option("--gammas", options->strip.gammas, "Rows: signal variances gamma")
      ->delimiter(',');
  cmd->add_option("--seed", options->strip.seed, "Noise seed");
  cmd->add_option("--out", options->out, "Output PNG");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
