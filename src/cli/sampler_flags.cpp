// Inference-recipe options shared by several commands (see commands.h).
#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched::cli {

InferenceRecipe SamplerFlags::resolve() const {
  InferenceRecipe r =
      recipe_opt && recipe_opt->count() ? InferenceRecipe::parse(recipe) : InferenceRecipe{};
  const auto given = [](const CLI::Option* option) { return option && option->count() > 0; };
  if (given(sampler_opt)) r.sampler = parse_sampler(sampler);
  if (given(schedule_opt)) r.schedule = Schedule::parse(schedule);
  if (given(eta_opt)) r.eta = eta;
  if (given(td_opt)) r.td = td;
  if (given(guidance_opt)) r.guidance = guidance;
  if (given(steps_opt)) r.steps = steps;
  if (no_clip) r.clip = false;
  r.validate();
  return r;
}

void add_sampler_flags(CLI::App* cmd, SamplerFlags& flags, SamplerFlagSet set) {
  const InferenceRecipe d;
  flags.recipe_opt = cmd->add_option("--recipe", flags.recipe,
                                     "Whole inference recipe, e.g. '" + d.to_string() +
                                         "'; the flags below override its parts. Keys:\n  " +
                                         inference_recipe_help());
  flags.sampler_opt = cmd->add_option(
      "--sampler", flags.sampler,
      sampler_names_table().joined(", ") + " (default " + to_string(d.sampler) + ")");
  flags.eta_opt = cmd->add_option("--eta", flags.eta,
                                  "DDIM's eta in [0, 1] (default " + format_exact(d.eta) + ")");
  flags.steps_opt = cmd->add_option("--steps", flags.steps,
                                    "Sampler steps (default " + std::to_string(d.steps) + ")");
  flags.td_opt = cmd->add_option(
      "--td", flags.td,
      "Time difference of the grid, SPEC section 6 (default " + format_exact(d.td) + ")");
  if (set.schedule) {
    flags.schedule_opt =
        cmd->add_option("--schedule", flags.schedule,
                        "Inference schedule, any spec (default " + d.schedule.to_string() + ")");
  }
  if (set.guidance) {
    flags.guidance_opt = cmd->add_option(
        "--guidance", flags.guidance,
        "Classifier-free guidance weight w (default " + format_exact(d.guidance) + ")");
  }
  if (set.clip) {
    cmd->add_flag("--no-clip", flags.no_clip, "Do not clip x0 estimates to [-b, b]");
  }
}

}  // namespace noisesched::cli
