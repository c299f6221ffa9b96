// `noisesched train`: train a diffusion model from a TOML configuration.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/launch.h"
#include "noisesched/config/run_spec.h"
#include "noisesched/core/communicator.h"
#include "noisesched/train/engine.h"
#include "noisesched/train/trainer.h"
#include "processes.h"

namespace noisesched::cli {
namespace {

struct TrainCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string device;
  bool resume = false;
  std::int64_t stop_after = 0;
  std::string progress = "auto";
  int nproc = 0;
};

int run(const TrainCommandOptions& options) {
  Config config = load_config(options.config_path);
  for (const auto& assignment : options.overrides) apply_override(config, assignment);
  if (!options.device.empty()) config.train.device = options.device;
  TrainRequest request;
  request.spec = resolve(config);  // before the processes start: one error, not one per process
  if (const auto status = launch_if_several(options.nproc, config.train.dist_timeout)) {
    return *status;
  }
  RunProcess process = join_run(config.train.device, request.spec);
  request.spec.config.train.device = process.device;
  const std::unique_ptr<Communicator> communicator = std::move(process.communicator);
  request.communicator = communicator.get();
  request.resume = options.resume;
  if (options.stop_after > 0) request.stop_after = options.stop_after;
  request.progress_bar = options.progress == "bar" || (options.progress == "auto" && ::isatty(2));
  const TrainResult result = train(request, std::cerr);
  if (!communicator->first()) return result.signal != 0 ? 128 + result.signal : 0;
  std::cout << "trained to step " << result.last_step << " of " << config.train.steps;
  // A run resumed at its end trains nothing: there is no loss of this sitting to report.
  if (result.last_step > result.first_step) std::cout << "; last loss " << result.last_loss;
  std::cout << "; checkpoint " << result.checkpoint << "\n";
  if (!result.report.empty()) std::cout << "report: " << result.report << "\n";
  if (result.signal != 0) return 128 + result.signal;
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* cmd = app.add_subcommand(
      "train",
      "Train a class-conditional pixel diffusion model (Chen 2023, Algorithm 2).\n"
      "Writes train.out_dir: config.toml, metrics.jsonl, samples/*.png, checkpoints/.\n"
      "SIGINT/SIGTERM finish the current step, save a checkpoint and exit (130/143).");
  cmd->add_option("--config", options->config_path, "TOML configuration (see configs/)")
      ->required();
  cmd->add_option("--set", options->overrides,
                  "Override a key: section.key=value (repeatable), e.g. --set train.steps=100");
  cmd->add_option("--device", options->device, "cpu, cuda or cuda:N (overrides train.device)");
  cmd->add_flag("--resume", options->resume,
                "Continue from the latest checkpoint in train.out_dir");
  cmd->add_option("--stop-after", options->stop_after,
                  "Stop after this many steps of this run, with a checkpoint (0: run to the end)");
  cmd->add_option("--nproc", options->nproc,
                  "Train with this many processes on this machine, each with its share of every "
                  "batch (docs/distributed.md); under torchrun or srun leave it out")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--progress", options->progress,
                  "auto (a bar on a terminal, lines otherwise), bar or lines")
      ->check(CLI::IsMember({"auto", "bar", "lines"}));
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
