// `noisesched bench train`: training-step throughput against the machine's sgemm throughput.
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "noisesched/config/config.h"
#include "noisesched/train/bench.h"

namespace noisesched::cli {
namespace {

struct BenchCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string device;
  TrainBenchOptions bench;
  bool json = false;
};

int run(const BenchCommandOptions& options) {
  Config config = load_config(options.config_path);
  for (const auto& assignment : options.overrides) apply_override(config, assignment);
  if (!options.device.empty()) config.train.device = options.device;
  validate_config(config);
  const TrainBenchResult r = bench_train(config, options.bench);
  if (options.json) {
    std::cout << r.to_json().dump(2) << "\n";
    return 0;
  }
  char text[512];
  std::snprintf(text, sizeof(text),
                "%s\n"
                "device %s, %d threads, batch %d, median of %d steps\n"
                "  step            %.3f s   (%.1f GFLOP: %.1f MFLOP forward per image)\n"
                "  throughput      %.1f images/s\n"
                "  achieved        %.1f GFLOP/s\n"
                "  sgemm (%dx%d)  %.1f GFLOP/s\n"
                "  ratio           %.0f%% of sgemm\n",
                r.model.c_str(), r.device.c_str(), r.threads, r.batch_size, r.steps, r.step_seconds,
                r.flops_per_step / 1e9, r.forward_flops_per_example / 1e6, r.images_per_s,
                r.achieved_gflops, options.bench.sgemm_size, options.bench.sgemm_size,
                r.sgemm_gflops, 100 * r.sgemm_fraction);
  std::cout << text;
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<BenchCommandOptions>();
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  auto* cmd = bench->add_subcommand(
      "train",
      "Time the training step of a configuration: images/s and achieved GFLOP/s (from the\n"
      "model's FLOP count) beside the measured sgemm GFLOP/s of this machine.");
  cmd->add_option("--config", options->config_path, "TOML configuration")->required();
  cmd->add_option("--set", options->overrides, "Override a key: section.key=value (repeatable)");
  cmd->add_option("--device", options->device, "cpu, cuda or cuda:N (overrides train.device)");
  cmd->add_option("--steps", options->bench.steps, "Timed steps (the median is reported)");
  cmd->add_option("--warmup", options->bench.warmup_steps, "Untimed steps first");
  cmd->add_option("--sgemm-size", options->bench.sgemm_size, "n of the n x n x n sgemm reference");
  cmd->add_flag("--json", options->json, "Print one JSON object");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
