// `noisesched schedule`: print, export and plot noise schedules.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"
#include "noisesched/report/schedule_report.h"
#include "noisesched/schedule/input_scale.h"

namespace noisesched::cli {
namespace {

struct ScheduleCommandOptions {
  std::vector<std::string> specs;
  std::vector<std::string> scales{"1"};
  double resolution = 0;  // 0: not given
  int points = 11;
  bool csv = false;
  std::string plot;
  std::string title = "noise schedules";
  bool list = false;
  SamplerFlags sampler;  // with --table
  bool table = false;
};

void print_families(std::ostream& out) {
  out << "schedule families (spec forms: NAME, NAME@v1,v2,..., NAME:key=value,...; every family\n"
         "also takes clip_min, default "
      << format_exact(kDefaultClipMin) << "):\n";
  for (const auto& family : schedule_families()) {
    std::string params;
    for (const auto& p : family.params) {
      params += (params.empty() ? "" : ",") + p.name + "=" + format_exact(p.default_value);
    }
    out << "  " << family.name << (params.empty() ? "" : ":" + params) << "\n      "
        << family.summary << "\n";
  }
}

int run(const ScheduleCommandOptions& options) {
  if (options.list) {
    print_families(std::cout);
    return 0;
  }
  if (options.specs.empty()) {
    throw Error(
        "give at least one schedule spec, e.g. `noisesched schedule cosine` "
        "(--list shows the families)");
  }
  if (options.table) {
    if (options.specs.size() != 1) {
      throw Error("--table audits one inference schedule; got " +
                  std::to_string(options.specs.size()));
    }
    InferenceRecipe recipe = options.sampler.resolve();
    recipe.schedule = Schedule::parse(options.specs.front());
    write_sampler_table(std::cout, recipe, options.csv);
    return 0;
  }
  const std::optional<double> resolution =
      options.resolution > 0 ? std::optional<double>(options.resolution) : std::nullopt;
  std::vector<ScheduleCurve> curves;
  for (const auto& spec : options.specs) {
    const Schedule schedule = Schedule::parse(spec);
    for (const auto& scale_text : options.scales) {
      curves.push_back({schedule, InputScale::parse(scale_text).resolve(resolution), ""});
    }
  }
  if (options.csv && curves.size() != 1) {
    throw Error("--csv prints one schedule at one scale; got " + std::to_string(curves.size()) +
                " (" + std::to_string(options.specs.size()) + " specs x " +
                std::to_string(options.scales.size()) + " scales): run once per curve");
  }
  if (!options.plot.empty()) {
    render_png(schedule_figure(curves, options.title), options.plot);
  }
  if (options.csv) {
    write_schedule_csv(std::cout, curves.front(), options.points);
  } else if (options.plot.empty()) {
    for (std::size_t i = 0; i < curves.size(); ++i) {
      if (i > 0) std::cout << '\n';
      write_schedule_table(std::cout, curves[i], options.points);
    }
  } else {
    std::cout << "wrote " << options.plot << " (" << curves.size() << " curve"
              << (curves.size() == 1 ? "" : "s") << ")\n";
  }
  return 0;
}

}  // namespace

void add_schedule_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<ScheduleCommandOptions>();
  auto* cmd = app.add_subcommand(
      "schedule",
      "Print, export (--csv) or plot (--plot) noise schedules gamma(t) and their logSNR.\n"
      "SPEC is a schedule: simple_linear, cosine@0.2,1,1, sigmoid:start=-3,end=3,tau=0.9, ...\n"
      "(--list shows every family with its parameters and defaults). Rows are taken at\n"
      "t = i/(points-1); logSNR = ln(b^2 gamma/(1-gamma)) includes the input scale b.");
  cmd->add_option("SPEC", options->specs, "Schedules to show (several: one curve each)");
  cmd->add_option("--scale", options->scales,
                  "Input scale(s) b: a number > 0, or auto:REF for b = REF/resolution; several "
                  "values draw one curve each");
  cmd->add_option("--resolution", options->resolution,
                  "Image resolution for --scale auto:REF (0: not given)");
  cmd->add_option("--points", options->points, "Rows in the table or CSV (t = i/(points-1))");
  cmd->add_flag("--csv", options->csv,
                "Print CSV: header t,gamma,logsnr then one row per point, exact numbers, inf "
                "where gamma = 1");
  cmd->add_option("--plot", options->plot,
                  "Draw gamma(t), logSNR(t) and the logSNR density of every curve to this PNG");
  cmd->add_option("--title", options->title, "Title of the --plot figure");
  cmd->add_flag("--list", options->list, "List the schedule families and exit");
  add_sampler_flags(cmd, options->sampler,
                    {/*schedule=*/false, /*guidance=*/false,
                     /*clip=*/false});
  cmd->add_flag("--table", options->table,
                "List each step of --sampler (--steps, --td, --eta) on SPEC as the inference "
                "schedule, with every coefficient it applies: z' = c_z z + c_x0 x0 + c_eps eps + "
                "c_x0_prev x0_prev + noise_std n, Heun's c_correct, the order and the "
                "degenerate-step rule used (--csv: CSV)");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
