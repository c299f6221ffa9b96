// noisesched: train, sample and evaluate pixel diffusion models with a chosen noise schedule.
// Thin entry point: parses the command line, sets the thread count, runs one command, and turns
// any error into "error: ..." on stderr with exit status 1 (2 for command-line mistakes).
#include <exception>
#include <iostream>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/core/runtime.h"

namespace {

struct GlobalOptions {
  int threads = 0;  // 0: all cores
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "noisesched: pixel-space diffusion models with the noise schedule as a measurable choice\n"
      "(T. Chen, \"On the Importance of Noise Scheduling for Diffusion Models\", 2023).",
      "noisesched"};
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1, 1);
  app.fallthrough();
  app.set_version_flag("--version", NOISESCHED_VERSION);

  GlobalOptions global;
  app.add_option("--threads", global.threads, "CPU threads for LibTorch (0: all cores)");

  // One slot per command: the selected command's callback fills its slot.
  std::vector<noisesched::cli::CommandRunner> runners(11);
  noisesched::cli::add_schedule_command(app, runners[0]);
  noisesched::cli::add_train_command(app, runners[1]);
  noisesched::cli::add_sample_command(app, runners[2]);
  noisesched::cli::add_check_sampler_command(app, runners[3]);
  noisesched::cli::add_config_command(app, runners[4]);
  noisesched::cli::add_noised_strip_command(app, runners[5]);
  noisesched::cli::add_bench_command(app, runners[6]);
  noisesched::cli::add_info_command(app, runners[7]);
  noisesched::cli::add_eval_command(app, runners[8]);
  noisesched::cli::add_featurizer_command(app, runners[9]);
  noisesched::cli::add_plot_command(app, runners[10]);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Compute-heavy commands get the CPU settings that must precede OpenMP's start (re-exec).
  for (const auto* sub : app.get_subcommands()) {
    const std::string name = sub->get_name();
    if (name == "train" || name == "bench" || name == "sample" || name == "eval" ||
        name == "featurizer") {
      noisesched::ensure_fast_cpu_environment(argv);
    }
  }
  try {
    noisesched::configure_allocator();
    noisesched::configure_threads(global.threads);
    for (const auto& run : runners) {
      if (run) return run();
    }
    std::cerr << "error: no command selected\n";
    return 2;
  } catch (const noisesched::Error& e) {
    std::cerr << "error: " << e.what() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "error: unexpected failure: " << e.what() << '\n';
  }
  return 1;
}
