// noisesched: train, sample and evaluate pixel diffusion models with a chosen noise schedule.
// Thin entry point: parses the command line, sets the thread count, runs one command, and turns
// any error into "error: ..." on stderr with exit status 1 (2 for command-line mistakes).
#include <exception>
#include <iostream>
#include <string>
#include <thread>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/launch.h"
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
  std::vector<noisesched::cli::CommandRunner> runners(14);
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
  noisesched::cli::add_study_command(app, runners[11]);
  noisesched::cli::add_report_command(app, runners[12]);
  noisesched::cli::add_advise_command(app, runners[13]);

  // A first word that is not a command gets its own message (CLI11 would say only that a
  // subcommand is required). The only global option with a value is --threads.
  // Help, --version and options it does not know are left to CLI11.
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--threads") {
      ++i;
      continue;
    }
    if (word.rfind("--threads=", 0) == 0) continue;
    if (!word.empty() && word[0] == '-') break;
    const CLI::App& commands = app;
    bool known = false;
    std::string names;
    for (const CLI::App* sub : commands.get_subcommands([](const CLI::App*) { return true; })) {
      known = known || sub->get_name() == word;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::cerr << "error: unknown command '" << word << "'; commands: " << names
                << "\nRun with --help for more information.\n";
      return 2;
    }
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and --version exit 0; every command-line mistake exits 2, whatever CLI11's own code
    // for its kind (conversion 104, missing required 106, extras 109, ...).
    // Mistakes print like every other error (`error: ...`), which scripts and users look for.
    app.failure_message([](const CLI::App*, const CLI::Error& error) {
      return "error: " + std::string(error.what()) + "\nRun with --help for more information.\n";
    });
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    // Compute-heavy commands get the CPU settings that must precede OpenMP's start (re-exec).
    for (const auto* sub : app.get_subcommands()) {
      const std::string name = sub->get_name();
      if (name == "train" || name == "bench" || name == "sample" || name == "eval" ||
          name == "featurizer" || name == "study") {
        noisesched::ensure_fast_cpu_environment(argv);
      }
    }
    noisesched::configure_allocator();
    int threads = global.threads;
    if (threads == 0) {
      // Processes of a multi-process run share the machine's cores.
      try {
        const auto placement =
            noisesched::placement_from_environment(noisesched::process_environment());
        threads = noisesched::default_threads_per_process(
            static_cast<int>(std::thread::hardware_concurrency()), placement.local_world_size);
      } catch (const noisesched::Error&) {
        // A malformed placement is reported by the command that needs it.
      }
    }
    noisesched::configure_threads(threads);
    for (const auto& run : runners) {
      if (run) return run();
    }
    std::cerr << "error: no command selected\n";
    return 2;
  } catch (const noisesched::Error& e) {
    std::cerr << "error: " << e.what() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "error: unexpected failure: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "error: unexpected failure of an unknown kind\n";
  }
  return 1;
}
