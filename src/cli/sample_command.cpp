// `noisesched sample`: images from a trained checkpoint, one PNG each plus a labelled grid.
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/io/checkpoint.h"
#include "noisesched/report/figure.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/sampling/trained_model.h"
#include "noisesched/train/engine.h"

namespace noisesched::cli {
namespace {

namespace fs = std::filesystem;

struct SampleCommandOptions {
  std::string checkpoint;
  std::string weights = "ema";
  SamplerFlags sampler;
  std::string classes = "all";
  int num = 8;
  std::uint64_t seed = 0;
  int batch_size = 64;
  std::string out = "samples";
  bool force = false;
  std::string device = "cpu";
  std::string progress = "auto";
};

std::string safe_name(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// "all", or a comma-separated list of class indices in [0, K).
std::vector<int> parse_classes(const std::string& text, int num_classes,
                               const std::vector<std::string>& names) {
  std::vector<int> classes;
  if (text == "all") {
    for (int k = 0; k < num_classes; ++k) classes.push_back(k);
    return classes;
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const auto value = parse_integer(rest.substr(0, comma), "--classes", -1000000, 1000000);
    if (value < 0 || value >= num_classes) {
      std::string valid;
      for (int k = 0; k < num_classes; ++k) {
        valid += (k ? ", " : "") + std::to_string(k) +
                 (k < static_cast<int>(names.size()) ? " " + names[k] : "");
      }
      throw Error("--classes: class " + std::to_string(value) + " is outside [0, " +
                  std::to_string(num_classes) + "); classes: " + valid);
    }
    classes.push_back(static_cast<int>(value));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return classes;
}

int run(const SampleCommandOptions& o) {
  const InferenceRecipe recipe = o.sampler.resolve();
  if (o.num < 1) throw Error("--num must be >= 1 (got " + std::to_string(o.num) + ")");
  if (fs::exists(o.out) && !o.force) {
    throw Error("--out '" + o.out +
                "' exists; choose another folder or pass --force to replace it");
  }
  const c10::Device device = parse_device(o.device);
  // The model's b, normalisation, target and training schedule come from the checkpoint only.
  const TrainedModel trained = load_trained_model(o.checkpoint, o.weights, device);
  const Config& config = trained.spec.config;
  const int num_classes = trained.num_classes;
  const auto& names = trained.class_names;
  const DiffusionSetup& setup = trained.spec.diffusion;
  const Denoiser& model = trained.model;

  std::vector<int> classes;
  if (config.model.class_conditional) {
    classes = parse_classes(o.classes, num_classes, names);
  } else {
    if (o.classes != "all") throw Error("--classes: the model is unconditional (no classes)");
    if (recipe.guidance != 0.0) {
      throw Error("--guidance " + format_exact(recipe.guidance) +
                  ": classifier-free guidance needs a class-conditional model");
    }
    classes = {num_classes};  // the null class
  }
  std::vector<std::int64_t> labels;
  for (int c : classes) labels.insert(labels.end(), o.num, c);

  GenerateOptions options;
  options.recipe = recipe;
  options.seed = o.seed;
  options.batch_size = o.batch_size;
  options.cuda_graphs = trained.spec.cuda_graphs;
  options.progress = sampling_progress(o.progress, static_cast<std::int64_t>(labels.size()));
  std::cerr << "sampling " << labels.size() << " images from " << trained.path << " (step "
            << trained.step << ", " << o.weights << " weights) with " << recipe.to_string() << "\n";
  const at::Tensor images = generate_images(model, setup, labels, options, device);

  // Everything goes into a temporary folder that replaces --out only when complete.
  const std::string temporary = temporary_path_for(fs::absolute(o.out).string());
  create_directories(temporary);
  std::string grid_not_drawn;  // why the labelled grid is missing, if it is
  try {
    Figure grid;
    // The recipe on two lines (the schedule spec is long), so the title fits the figure.
    std::string recipe_text = recipe.to_string();
    recipe_text.replace(recipe_text.find(" schedule="), 1, "\n");
    grid.title = "samples at step " + std::to_string(trained.step) + ": " + recipe_text;
    grid.columns = 1;
    grid.legend = LegendPlacement::kNone;
    grid.panel_size = {std::max(4.0, 0.9 * o.num), 1.4};
    for (std::size_t row = 0; row < classes.size(); ++row) {
      const int c = classes[row];
      const std::string label =
          c == num_classes
              ? "unconditional"
              : std::to_string(c) + (c < static_cast<int>(names.size()) ? " " + names[c] : "");
      const fs::path folder = fs::path(temporary) / safe_name(label);
      create_directories(folder.string());
      const at::Tensor row_images = images.slice(0, row * o.num, (row + 1) * o.num);
      for (int i = 0; i < o.num; ++i) {
        char name[32];
        std::snprintf(name, sizeof(name), "%04d.png", i);
        write_png((folder / name).string(), tensor_image(row_images[i]));
      }
      const std::string row_path =
          (fs::path(temporary) / (".row" + std::to_string(row) + ".png")).string();
      write_png(row_path, tensor_grid(row_images, o.num));
      Panel panel;
      panel.image = row_path;
      panel.title = label;
      grid.panels.push_back(panel);
    }
    // The labelled grid is a convenience beside the images: without matplotlib, a warning.
    grid_not_drawn = render_png_or_reason(grid, (fs::path(temporary) / "grid.png").string());
    if (!grid_not_drawn.empty()) {
      std::cerr << "warning: labelled grid not drawn: " << grid_not_drawn << "\n";
    }
    for (std::size_t row = 0; row < classes.size(); ++row) {
      fs::remove(fs::path(temporary) / (".row" + std::to_string(row) + ".png"));
    }
    nlohmann::ordered_json meta = {
        {"checkpoint", trained.path}, {"step", trained.step}, {"weights", o.weights}};
    meta.update(recipe_json(recipe));
    meta.update(nlohmann::ordered_json{{"classes", classes},
                                       {"num_per_class", o.num},
                                       {"seed", o.seed},
                                       {"batch_size", o.batch_size},
                                       {"train_schedule", setup.train_schedule.to_string()},
                                       {"input_scale", setup.scale},
                                       {"self_conditioning", setup.self_condition}});
    write_file_atomically((fs::path(temporary) / "samples.json").string(), meta.dump(2) + "\n");
    if (fs::exists(o.out)) {
      const std::string old = temporary_path_for(fs::absolute(o.out).string() + ".old");
      fs::rename(o.out, old);
      fs::rename(temporary, o.out);
      fs::remove_all(old);
    } else {
      if (fs::path(o.out).has_parent_path())
        create_directories(fs::path(o.out).parent_path().string());
      fs::rename(temporary, o.out);
    }
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(temporary, ignored);
    throw;
  }
  std::cout << "wrote " << labels.size() << " images"
            << (grid_not_drawn.empty() ? " and " + (fs::path(o.out) / "grid.png").string()
                                       : " to " + o.out)
            << "\n";
  return 0;
}

}  // namespace

void add_sample_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<SampleCommandOptions>();
  auto* cmd = app.add_subcommand(
      "sample",
      "Sample images from a checkpoint. The model's b, normalisation, target and training\n"
      "schedule come from the checkpoint; the inference schedule and sampler are free.\n"
      "Writes OUT/<class>/NNNN.png, OUT/grid.png (one labelled row per class) and\n"
      "OUT/samples.json; the same seed and batch size give the same images.");
  cmd->add_option("--checkpoint", options->checkpoint,
                  "Run folder (its latest checkpoint) or a checkpoint folder")
      ->required();
  cmd->add_option("--weights", options->weights, "ema or model");
  add_sampler_flags(cmd, options->sampler);
  cmd->add_option("--classes", options->classes, "all, or class indices like 0,3,7");
  cmd->add_option("--num", options->num, "Images per class");
  cmd->add_option("--seed", options->seed, "Seed of the starting and step noise");
  cmd->add_option("--batch-size", options->batch_size, "Images per network batch");
  cmd->add_option("--out", options->out, "Output folder (must not exist unless --force)");
  cmd->add_flag("--force", options->force, "Replace --out if it exists");
  cmd->add_option("--device", options->device, "cpu, cuda or cuda:N");
  cmd->add_option("--progress", options->progress, "auto, bar or lines")
      ->check(CLI::IsMember({"auto", "bar", "lines"}));
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
