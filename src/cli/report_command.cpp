// `noisesched report`: one HTML page showing a training run at a glance.
#include <iostream>
#include <memory>

#include "commands.h"
#include "noisesched/report/run_report.h"

namespace noisesched::cli {
namespace {

struct ReportCommandOptions {
  std::string run;
  std::string out;
};

int run(const ReportCommandOptions& o) {
  // Written first: "wrote " must not reach the output when writing fails.
  const std::string path = write_run_report(o.run, o.out);
  std::cout << "wrote " << path << "\n";
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<ReportCommandOptions>();
  auto* cmd = app.add_subcommand(
      "report",
      "Write RUN_DIR/report.html: one self-contained page (readable offline, no script) with the\n"
      "run's summary, training schedule, loss (also by logSNR band), learning rate, gradient "
      "norm,\n"
      "throughput, evaluation metrics over steps and minutes, sample grids, checkpoints and\n"
      "configuration. `train` writes it too (train.report).");
  cmd->add_option("RUN_DIR", options->run, "Run folder (holding config.toml and metrics.jsonl)")
      ->required();
  cmd->add_option("--out", options->out, "Output file (default: RUN_DIR/report.html)");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
