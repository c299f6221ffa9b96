// Sampler options shared by several commands (see commands.h).
#include "commands.h"
#include "noisesched/sampling/generate.h"

namespace noisesched::cli {

void SamplerFlags::apply_to(GenerateOptions& options) const {
  options.sampler = settings();
  options.steps = steps;
  options.time_difference = td;
  options.schedule = Schedule::parse(schedule);
}

void add_sampler_flags(CLI::App* cmd, SamplerFlags& flags, bool with_schedule) {
  cmd->add_option("--sampler", flags.sampler, "ddim, ddpm, ddpm_small, dpmpp_2m or heun");
  cmd->add_option("--eta", flags.eta, "DDIM's eta (0: deterministic, 1: ddpm_small)");
  cmd->add_option("--steps", flags.steps, "Sampler steps");
  cmd->add_option("--td", flags.td, "Time difference of the grid (SPEC section 6)");
  if (with_schedule) {
    cmd->add_option("--schedule", flags.schedule, "Inference schedule (any spec)");
  }
}

}  // namespace noisesched::cli
