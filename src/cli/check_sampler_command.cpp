// `noisesched check-sampler`: a sampler and schedule against the exact denoiser of a known
// distribution, next to the two-sample noise floor.
#include <iostream>
#include <memory>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/sampling/check.h"

namespace noisesched::cli {
namespace {

struct CheckSamplerCommandOptions {
  SamplerFlags sampler;
  std::string train_schedule = "simple_linear";
  std::string scale = "1";
  std::string normalize = "empirical";
  std::string target = "eps";
  int samples = 4000;
  std::uint64_t seed = 0;
  bool json = false;
};

int run(const CheckSamplerCommandOptions& o) {
  CheckSamplerOptions options;
  options.recipe = o.sampler.resolve();
  options.setup.train_schedule = Schedule::parse(o.train_schedule);
  options.setup.scale = InputScale::parse(o.scale).resolve(4.0);
  options.setup.normalization = parse_normalization(o.normalize);
  options.setup.target = parse_target(o.target);
  options.samples = o.samples;
  options.seed = o.seed;
  const CheckSamplerResult result = check_sampler(options);
  if (o.json) {
    std::cout << result.to_json().dump(2) << "\n";
  } else {
    std::cout << result.to_text();
  }
  return 0;
}

}  // namespace

void add_check_sampler_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<CheckSamplerCommandOptions>();
  auto* cmd = app.add_subcommand(
      "check-sampler",
      "Run a sampler with the exact denoiser of a Gaussian mixture (closed-form posterior mean),\n"
      "through the same input scaling, normalisation and clipping as a trained network, and\n"
      "print how far its samples are from the truth next to the distance between two\n"
      "independent exact samples of the same size (the noise floor).");
  add_sampler_flags(cmd, options->sampler, {/*schedule=*/true, /*guidance=*/false, /*clip=*/true});
  cmd->add_option("--train-schedule", options->train_schedule,
                  "Schedule the exact denoiser reads noise levels through");
  cmd->add_option("--scale", options->scale, "Input scale b (auto:REF uses the 4-pixel images)");
  cmd->add_option("--normalize", options->normalize, "empirical, analytic or none");
  cmd->add_option("--target", options->target, "eps, x0 or v");
  cmd->add_option("--samples", options->samples, "Samples drawn (and in each exact sample)");
  cmd->add_option("--seed", options->seed, "Seed of the noise and of the exact samples");
  cmd->add_flag("--json", options->json, "Print one JSON object");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
