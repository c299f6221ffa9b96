// noisesched command-line program: one registration function per command.
//
// Each command parses its options into a config struct (defaults live in the struct and the help
// prints them) and returns the function that runs it. Commands throw noisesched::Error; only
// main() catches, prints "error: ..." and exits non-zero.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "noisesched/schedule/sampler_step.h"

namespace noisesched {
struct GenerateOptions;
}

namespace noisesched::cli {

using CommandRunner = std::function<int()>;

// The sampler options shared by `sample`, `check-sampler` and `schedule --table`.
struct SamplerFlags {
  std::string sampler = "ddpm";
  double eta = 0.0;
  int steps = 100;
  double td = 0.0;
  std::string schedule = "cosine";

  SamplerSettings settings() const { return {parse_sampler(sampler), eta}; }
  // Sets the sampler, steps, time difference and inference schedule of `options`.
  void apply_to(GenerateOptions& options) const;
};

// Adds --sampler, --eta, --steps, --td and (with_schedule) --schedule to `cmd`.
void add_sampler_flags(CLI::App* cmd, SamplerFlags& flags, bool with_schedule);

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

}  // namespace noisesched::cli
