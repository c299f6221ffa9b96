// noisesched command-line program: one registration function per command.
//
// Each command parses its options into a config struct (defaults live in the struct and the help
// prints them) and returns the function that runs it. Commands throw noisesched::Error; only
// main() catches, prints "error: ..." and exits non-zero.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "noisesched/schedule/inference_recipe.h"

namespace noisesched::cli {

using CommandRunner = std::function<int()>;

// The inference-recipe options shared by `sample`, `eval`, `check-sampler` and
// `schedule --table`: --recipe gives a whole recipe, and --sampler, --eta, --steps, --td,
// --schedule, --guidance and --no-clip override its parts. Defaults come from InferenceRecipe.
struct SamplerFlags {
  std::string recipe;
  std::string sampler, schedule;
  double eta = 0, td = 0, guidance = 0;
  int steps = 0;
  bool no_clip = false;
  // The options as added, to tell given flags from defaults.
  CLI::Option *recipe_opt = nullptr, *sampler_opt = nullptr, *schedule_opt = nullptr,
              *eta_opt = nullptr, *td_opt = nullptr, *guidance_opt = nullptr, *steps_opt = nullptr;

  // The recipe the flags describe; throws naming the flag and what is allowed.
  InferenceRecipe resolve() const;
};

// Which of the recipe's parts a command offers as flags.
struct SamplerFlagSet {
  bool schedule = true;
  bool guidance = true;
  bool clip = true;
};

void add_sampler_flags(CLI::App* cmd, SamplerFlags& flags, SamplerFlagSet set = {});

// The progress of generating images (`sample`, `eval`) for a --progress option (auto, bar or
// lines): "sampling" with network evaluations done/total, images per second and the time left,
// redrawn on a terminal; a log line at every tenth otherwise.
std::function<void(std::int64_t, std::int64_t)> sampling_progress(const std::string& option,
                                                                  std::int64_t images);
// The same display for any counted work ("reference features 30000/60000  left 0m12s").
std::function<void(std::int64_t, std::int64_t)> counting_progress(const std::string& label,
                                                                  const std::string& option);

// Each add_* creates the subcommand on `app` and sets `runner` to run it when selected.
void add_schedule_command(CLI::App& app, CommandRunner& runner);
void add_info_command(CLI::App& app, CommandRunner& runner);
void add_train_command(CLI::App& app, CommandRunner& runner);
void add_bench_command(CLI::App& app, CommandRunner& runner);
void add_noised_strip_command(CLI::App& app, CommandRunner& runner);
void add_config_command(CLI::App& app, CommandRunner& runner);
void add_check_sampler_command(CLI::App& app, CommandRunner& runner);
void add_sample_command(CLI::App& app, CommandRunner& runner);
void add_eval_command(CLI::App& app, CommandRunner& runner);
void add_featurizer_command(CLI::App& app, CommandRunner& runner);
void add_plot_command(CLI::App& app, CommandRunner& runner);
void add_study_command(CLI::App& app, CommandRunner& runner);
void add_report_command(CLI::App& app, CommandRunner& runner);
void add_advise_command(CLI::App& app, CommandRunner& runner);

}  // namespace noisesched::cli
