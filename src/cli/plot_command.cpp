// `noisesched plot`: evaluation metrics of several runs against training minutes (time-to-FID).
#include <iostream>
#include <memory>

#include "commands.h"
#include "noisesched/report/run_curves.h"

namespace noisesched::cli {
namespace {

struct PlotCommandOptions {
  std::vector<std::string> runs;
  std::vector<std::string> labels;
  std::vector<std::string> metrics = {"fid"};
  std::string x = "minutes";
  std::string out = "curves.png";
  std::string title = "evaluation during training";
};

int run(const PlotCommandOptions& o) {
  render_png(run_curves_figure(o.runs, o.labels, o.metrics, o.x, o.title), o.out);
  std::cout << "wrote " << o.out << " (" << o.runs.size() << " run"
            << (o.runs.size() == 1 ? "" : "s") << ")\n";
  return 0;
}

}  // namespace

void add_plot_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<PlotCommandOptions>();
  auto* cmd = app.add_subcommand(
      "plot",
      "Draw the evaluations made during training (eval.every / eval.every_seconds) of one or\n"
      "more runs on one figure: each metric against minutes of training (time in training\n"
      "steps, over all sittings of a run) or steps.");
  cmd->add_option("RUN", options->runs, "Run folders (holding metrics.jsonl)")->required();
  cmd->add_option("--label", options->labels, "Legend label per run (default: folder names)");
  cmd->add_option("--metric", options->metrics,
                  "Metrics, one panel each: fid, is, kid, cacc, bg, precision, recall "
                  "(default: fid)");
  cmd->add_option("--x", options->x, "minutes or steps (default: minutes)");
  cmd->add_option("--out", options->out, "PNG to write (default: curves.png)");
  cmd->add_option("--title", options->title, "Figure title");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
