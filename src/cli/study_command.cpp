// `noisesched study`: the paper's findings in miniature, a grid of training runs that survives
// being stopped and continued, and its generated report.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/folder_lock.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/progress.h"
#include "noisesched/io/checkpoint.h"
#include "noisesched/schedule/inference_recipe.h"
#include "noisesched/schedule/sampler_step.h"
#include "noisesched/study/plan.h"
#include "noisesched/study/report.h"
#include "noisesched/train/bench.h"
#include "noisesched/train/trainer.h"

namespace noisesched::cli {
namespace {

namespace fs = std::filesystem;

struct StudyCommandOptions {
  std::string config;
  std::vector<std::string> cells;
  bool dry_run = false;
  bool report_only = false;
  std::string progress = "auto";
};

std::string command_text(const StudyCommandOptions& o) {
  std::string text = "noisesched study --config " + o.config;
  for (const auto& c : o.cells) text += " --cells '" + c + "'";
  return text;
}

// Network evaluations per image of a recipe: its sampler plan's, twice with guidance (a
// conditional and an unconditional pass).
double evaluations_per_image(const InferenceRecipe& recipe) {
  return model_evaluations(recipe.plan()) * (recipe.guidance > 0 ? 2.0 : 1.0);
}

int dry_run(const StudyPlan& plan, const std::vector<StudyCell>& cells) {
  // One measured step cost per resolution with cells left to run (its first such cell: b and the
  // schedule do not change the network's cost); finished cells cost nothing to estimate.
  std::vector<CellResult> results;
  for (const auto& cell : cells) results.push_back(read_cell_result(cell));
  std::map<int, TrainBenchResult> cost;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const StudyCell& cell = cells[i];
    if (results[i].status == CellResult::Status::kDone || cost.count(cell.resolution)) continue;
    TrainBenchOptions options;
    options.warmup_steps = 1;
    options.steps = 3;
    options.sgemm_size = 64;
    std::cerr << "measuring the step cost at " << cell.resolution << " px...\n";
    cost[cell.resolution] = bench_train(resolve(cell.config), options);
  }
  const double evals = evaluations_per_image(InferenceRecipe::parse(plan.eval_recipe));
  double total = 0;
  int to_run = 0;
  std::cout << "cell  status  steps  estimated minutes (training + final evaluation)\n";
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const StudyCell& cell = cells[i];
    const CellResult& r = results[i];
    double minutes = 0;
    if (r.status != CellResult::Status::kDone) {
      const TrainBenchResult& c = cost.at(cell.resolution);
      const double forward_per_image =
          c.step_seconds * c.forward_flops_per_example / std::max(c.flops_per_step, 1.0);
      minutes = ((cell.config.train.steps - r.step) * c.step_seconds +
                 plan.eval_num * evals * forward_per_image) /
                60;
      total += minutes;
      ++to_run;
    }
    const char* status = r.status == CellResult::Status::kDone      ? "done"
                         : r.status == CellResult::Status::kPartial ? "partial"
                                                                    : "to run";
    std::cout << cell.id << "  " << status << "  " << r.step << "/" << cell.config.train.steps
              << "  " << format_significant(minutes, 3) << "\n";
  }
  std::cout << cells.size() << " cells, " << to_run << " to run: about "
            << duration_text(total * 60) << " on this machine";
  if (!cost.empty()) {
    std::cout << " (step costs:";
    for (const auto& [size, c] : cost) {
      std::cout << " " << size << " px " << format_significant(c.step_seconds, 3) << " s";
    }
    std::cout << ")";
  }
  std::cout << "\n";
  return 0;
}

int run(const StudyCommandOptions& o) {
  const StudyPlan plan = load_study(o.config);
  const std::vector<StudyCell> all = plan.cells();
  const std::vector<StudyCell> selected = select_cells(all, o.cells);
  if (o.dry_run) return dry_run(plan, selected);

  int signal = 0;
  if (!o.report_only) {
    const FolderLock lock(plan.out_dir, "study folder");
    for (std::size_t i = 0; i < selected.size(); ++i) {
      const StudyCell& cell = selected[i];
      const std::string position =
          "cell " + std::to_string(i + 1) + "/" + std::to_string(selected.size()) + " " + cell.id;
      if (read_cell_result(cell).status == CellResult::Status::kDone) {
        std::cerr << position << ": done, kept\n";
        continue;
      }
      std::cerr << "== " << position << "\n";
      TrainRequest request;
      request.spec = resolve(cell.config);
      request.resume = latest_checkpoint(cell.config.train.out_dir).has_value();
      request.progress_bar = progress_mode(o.progress) == Progress::Mode::kRedraw;
      const TrainResult result = train(request, std::cerr);
      if (result.signal != 0) {
        signal = result.signal;
        std::cerr << "study stopped in " << cell.id << "; run the same command to continue\n";
        break;
      }
      const CellResult after = read_cell_result(cell);
      if (after.status != CellResult::Status::kDone) {
        throw Error("cell " + cell.id + " is trained to step " + std::to_string(result.last_step) +
                    " but " + cell.config.train.out_dir +
                    "/metrics.jsonl has no evaluation at its last step (was it trained with "
                    "another [eval] setting?); remove the folder to run the cell again");
      }
      std::cerr << position << ": FID " << format_significant(after.fid, 4) << "\n";
    }
  }
  std::vector<CellResult> results;
  for (const auto& cell : all) results.push_back(read_cell_result(cell));
  for (const std::string& warning : write_study_report(plan, results, command_text(o))) {
    std::cerr << "warning: " << warning << "\n";
  }
  std::cout << "wrote " << plan.report << "\n";
  return signal != 0 ? 128 + signal : 0;
}

}  // namespace

void add_study_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<StudyCommandOptions>();
  auto* cmd = app.add_subcommand(
      "study",
      "The schedule study of Chen (2023) in miniature: a grid of training runs (input scale b\n"
      "with gamma = 1 - t, and schedule functions at b = 1, at each resolution and seed), each\n"
      "evaluated at its end, and a generated report (tables, figures, conclusion). Finished cells\n"
      "are kept and skipped, an interrupted one resumes from its last checkpoint: run the same\n"
      "command again to continue. The study file's format is in docs/studies.md.");
  cmd->add_option("--config", options->config, "Study file (TOML), e.g. configs/studies/cpu.toml")
      ->required();
  cmd->add_option("--cells", options->cells,
                  "Run only the cells whose id matches this glob (* and ?; repeatable), e.g. "
                  "'r32_*'")
      ->take_all();
  cmd->add_flag("--dry-run", options->dry_run,
                "Print the grid, each cell's status and its estimated time from a measured step "
                "cost; train nothing");
  cmd->add_flag("--report-only", options->report_only,
                "Rewrite the report from the finished cells; train nothing");
  cmd->add_option("--progress", options->progress, "auto, bar or lines")
      ->check(CLI::IsMember({"auto", "bar", "lines"}));
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
