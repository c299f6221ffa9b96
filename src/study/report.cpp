// The study's generated report (see report.h).
#include "noisesched/study/report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/report/figure.h"
#include "noisesched/study/advisor.h"
#include "noisesched/study/conclusion.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

// The first line of the report's table of cells (read back by read_report_cells).
constexpr const char* kCellsHeader =
    "| cell | resolution | steps | seed | status | training minutes | FID | class accuracy | run "
    "report |";
constexpr const char* kCellStatus[] = {"not started", "partial", "done"};  // by CellResult::Status
// The report's first paragraph, and where it names the feature extractors.
constexpr const char* kReportIntro = "Each cell trains one model for a fixed number of steps";
constexpr const char* kFeaturesOf = "features of `";

Panel line_panel(const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  Panel panel;
  panel.title = title;
  panel.xlabel = xlabel;
  panel.ylabel = ylabel;
  return panel;
}

std::string axis_label(StudyAxis axis) { return axis == StudyAxis::kInputScale ? "b" : "schedule"; }

// A markdown table of FID (and class accuracy) by row x resolution; the lowest mean FID of each
// column in bold.
std::string table(const std::vector<StudyRow>& rows, const std::vector<int>& sizes,
                  const StudySummary& fid, const StudySummary& cacc, const std::string& first) {
  std::ostringstream out;
  out << "| " << first;
  for (int size : sizes) out << " | " << size << " px";
  out << " |\n| ---";
  for (std::size_t i = 0; i < sizes.size(); ++i) out << " | ---";
  out << " |\n";
  for (const auto& row : rows) {
    out << "| " << row.label;
    for (int size : sizes) {
      const auto key = std::make_tuple(static_cast<int>(row.axis), row.value, size);
      const auto it = fid.find(key);
      if (it == fid.end()) {
        out << " | not run";
        continue;
      }
      double best = std::numeric_limits<double>::infinity();
      for (const auto& other : rows) {
        const auto o = fid.find(std::make_tuple(static_cast<int>(other.axis), other.value, size));
        if (o != fid.end()) best = std::min(best, o->second.mean);
      }
      const std::string text = summary_text(it->second);
      out << " | " << (it->second.mean == best ? "**" + text + "**" : text);
      const auto a = cacc.find(key);
      if (a != cacc.end()) out << " (" << format_fixed(100 * a->second.mean, 0) << "%)";
    }
    out << " |\n";
  }
  return out.str();
}

// The advisor's b (noisesched advise) for every resolution against the smallest: computed where
// the report shows it (a b axis and two resolutions or more); `error` says why it could not run.
std::vector<ResolutionAdvice> study_advice(const StudyPlan& plan, std::size_t images,
                                           std::string* error) {
  if (resolutions_of(plan).size() < 2 || plan.input_scales.empty()) return {};
  try {
    return advise_study(plan, images);
  } catch (const Error& e) {
    *error = e.what();
    return {};
  }
}

// The advisor's b beside the measured best b.
std::string advisor_section(const StudyPlan& plan, const StudySummary& fid,
                            const std::vector<ResolutionAdvice>& advice, const std::string& error,
                            std::size_t images) {
  const std::vector<int> sizes = resolutions_of(plan);
  if (advice.empty() && error.empty()) return "";
  std::ostringstream md;
  md << "## The advisor's b beside the measured best b\n\n"
     << "`noisesched advise` predicts b from the data alone (the logSNR shift that moves each "
        "resolution's linear-denoiser difficulty curve onto the "
     << sizes.front() << " px curve at b = 1, from the power spectrum of " << images
     << " training images; docs/studies.md). The measured best b is the lowest mean FID over the "
        "b column of the table above.\n\n"
     << "| resolution | predicted b | logSNR shift | measured best b | rule " << sizes.front()
     << " / resolution |\n| --- | --- | --- | --- | --- |\n";
  for (const ResolutionAdvice& a : advice) {
    const auto ranked = ranked_b(plan, fid, a.resolution);
    md << "| " << a.resolution << " px | " << format_fixed(a.advice.b, 3) << " | "
       << format_fixed(a.advice.shift, 2) << " | "
       << (ranked.empty() ? std::string("not measured yet") : format_exact(ranked[0].first))
       << " | " << format_fixed(static_cast<double>(sizes.front()) / a.resolution, 3) << " |\n";
  }
  if (!error.empty()) md << "\nThe advisor could not run: " << error << "\n";
  return md.str() + "\n";
}

// The report about to be rewritten may hold the only copy of cells whose run folders are gone (a
// fresh clone, another machine): a cell of this plan finished there but not found finished now
// is an error, and the report stays as it is. A report that is not a study report's form is
// rewritten.
void refuse_to_lose_cells(const std::string& report, const std::vector<CellResult>& results,
                          const std::string& out_dir) {
  if (!fs::exists(report)) return;
  std::vector<CellResult> before;
  try {
    before = read_report_cells(report);
  } catch (const Error&) {
    return;
  }
  std::map<std::string, CellResult::Status> now;
  for (const CellResult& r : results) now[r.cell.id] = r.status;
  std::vector<std::string> lost;
  for (const CellResult& b : before) {
    const auto it = now.find(b.cell.id);
    if (b.status == CellResult::Status::kDone && it != now.end() &&
        it->second != CellResult::Status::kDone) {
      lost.push_back(b.cell.id);
    }
  }
  if (lost.empty()) return;
  throw Error(report + ": " + std::to_string(lost.size()) + " of its cells (" + lost.front() +
              (lost.size() > 1 ? ", ..." : "") + ") are finished there but not here (no finished " +
              "run folder under " + out_dir +
              "/cells/): not rewritten, so that their numbers are not lost; move the report "
              "away, or bring the run folders back, to write it again");
}

}  // namespace

std::vector<std::string> write_study_report(const StudyPlan& plan,
                                            const std::vector<CellResult>& results,
                                            const std::string& command) {
  std::vector<std::string> warnings;
  const fs::path report(plan.report);
  refuse_to_lose_cells(report.string(), results, plan.out_dir);  // before any figure is redrawn
  // Beside the report, in a folder named after it: docs/study.md -> docs/figures/study/.
  const fs::path figures = report.parent_path() / "figures" / report.stem();
  create_directories(figures.string());
  const std::vector<int> sizes = resolutions_of(plan);
  const StudySummary fid = summarize_fid(results);
  const StudySummary cacc = summarize_accuracy(results);
  std::vector<std::string> written;  // the figures' markdown

  const auto relative = [&](const fs::path& path) {
    return fs::relative(path, report.parent_path().empty() ? fs::path(".") : report.parent_path())
        .string();
  };
  // A figure's markdown: the image, or why it was not drawn (the report is written regardless;
  // the numbers are in its tables, and warnings are returned to the command).
  const auto draw = [&](const Figure& figure, const fs::path& path, const std::string& alt) {
    const std::string reason = render_png_or_reason(figure, path.string());
    if (reason.empty()) return "![" + alt + "](" + relative(path) + ")\n\n";
    warnings.push_back("figure not drawn: " + reason);
    return "*(" + alt + ": figure not drawn: " + reason + ")*\n\n";
  };

  // FID against b per resolution, with the seeds' range; the best b against resolution.
  if (!plan.input_scales.empty() && !fid.empty()) {
    Figure figure;
    figure.title = "FID against the input scale b (gamma = 1 - t)";
    figure.columns = 2;
    figure.legend = LegendPlacement::kPanel;
    Panel by_b = line_panel("FID against b (mean; dotted: lowest and highest seed)", "b", "FID");
    Panel best = line_panel("best b against resolution", "resolution (px)", "best b");
    Series best_series{"best b", {}, {}, "o-"};
    for (std::size_t index = 0; index < sizes.size(); ++index) {
      const int size = sizes[index];
      const std::string colour = "C" + std::to_string(index % 10);
      Series mean{std::to_string(size) + " px", {}, {}, colour + "o-"};
      Series low{"", {}, {}, colour + ":"}, high{"", {}, {}, colour + ":"};
      double best_b = 0, best_fid = std::numeric_limits<double>::infinity();
      for (double b : plan.input_scales) {
        const auto it = fid.find({static_cast<int>(StudyAxis::kInputScale), format_exact(b), size});
        if (it == fid.end()) continue;
        mean.x.push_back(b);
        mean.y.push_back(it->second.mean);
        low.x.push_back(b);
        low.y.push_back(it->second.low);
        high.x.push_back(b);
        high.y.push_back(it->second.high);
        if (it->second.mean < best_fid) {
          best_fid = it->second.mean;
          best_b = b;
        }
      }
      if (mean.x.empty()) continue;
      by_b.series.push_back(mean);
      by_b.series.push_back(low);
      by_b.series.push_back(high);
      best_series.x.push_back(size);
      best_series.y.push_back(best_b);
    }
    best.series.push_back(best_series);
    figure.panels = {by_b, best};
    if (!by_b.series.empty()) {
      written.push_back(draw(figure, figures / "fid_by_b.png", "FID by b"));
    }
  }

  // Per resolution: the sample grid of every cell (first seed) and the loss by logSNR band.
  std::ostringstream per_resolution;
  for (int size : sizes) {
    Figure samples;
    samples.title = std::to_string(size) + " px, first seed";
    samples.columns = 4;
    samples.legend = LegendPlacement::kNone;
    samples.panel_size = {3.2, 4.0};
    Figure losses;
    losses.title =
        std::to_string(size) + " px: training loss by logSNR band (last quarter of each run)";
    losses.columns = 2;
    losses.legend = LegendPlacement::kPanel;
    Panel b_panel = line_panel("input scale b (gamma = 1 - t)", "logSNR band (centre)", "loss");
    Panel s_panel = line_panel("schedule functions (b = 1)", "logSNR band (centre)", "loss");
    for (const auto& r : results) {
      if (r.cell.resolution != size || r.cell.seed != plan.seeds.front()) continue;
      if (r.status == CellResult::Status::kDone && !r.grid.empty()) {
        Panel p;
        p.title = r.cell.id + "\nFID " + format_fixed(r.fid, 1) +
                  (r.cacc >= 0 ? ", cacc " + format_fixed(100 * r.cacc, 0) + "%" : "");
        p.image = fs::absolute(r.grid).string();
        samples.panels.push_back(p);
      }
      if (!r.loss_by_band.empty()) {
        Series s{
            axis_label(r.cell.axis) == "b" ? "b = " + r.cell.value : r.cell.value, {}, {}, "o-"};
        for (const auto& [band, loss] : r.loss_by_band) {
          s.x.push_back(logsnr_band_centre(band));
          s.y.push_back(loss);
        }
        (r.cell.axis == StudyAxis::kInputScale ? b_panel : s_panel).series.push_back(s);
        if (r.cell.axis == StudyAxis::kInputScale && r.cell.value == "1") {
          s.label = "simple_linear (b = 1)";
          s_panel.series.push_back(s);
        }
      }
    }
    if (!samples.panels.empty()) {
      const fs::path path = figures / ("samples_r" + std::to_string(size) + ".png");
      per_resolution << draw(samples, path, std::to_string(size) + " px samples");
    }
    for (Panel* p : {&b_panel, &s_panel}) {
      if (!p->series.empty()) losses.panels.push_back(*p);
    }
    if (!losses.panels.empty()) {
      const fs::path path = figures / ("loss_bands_r" + std::to_string(size) + ".png");
      per_resolution << draw(losses, path, std::to_string(size) + " px loss by band");
    }
  }

  std::set<std::string> extractors;
  for (const auto& r : results) {
    if (!r.extractor.empty()) extractors.insert(r.extractor);
  }
  std::string features;
  for (const auto& e : extractors) {
    features += (features.empty() ? kFeaturesOf : ", `") + e + "`";
  }
  if (features.empty()) features = "(none finished yet)";
  std::ostringstream md;
  md << "# The schedule study: Chen (2023)'s findings in miniature\n\n"
     << "Generated by `" << command << "` from `" << plan.source
     << "`; do not edit by hand (the command rewrites it).\n\n"
     << kReportIntro << " and evaluates its EMA weights once at the end: " << plan.eval_num
     << " class-conditional samples, `" << plan.eval_recipe << "`, "
     << (extractors.empty() ? "features of " : "") << features
     << (extractors.size() > 1 ? " (several extractors: the FIDs do not compare)" : "")
     << ". Tables give the mean FID over seeds "
        "± half the range between seeds (class accuracy in brackets); the lowest mean of each "
        "column is in bold. Where the seeds' ranges of two settings overlap, the conclusion "
        "compares them seed by seed: the cells of one seed share the network's initialisation, "
        "the data order and the noise draws, and the standard error of a mean difference comes "
        "from fitting FID = setting's mean + seed's shift to every setting of the resolution "
        "(p by Student's t). The pairs are chosen from the data, so p is not calibrated: too "
        "large for the best against the next (the closest of all), too small for the best "
        "against 1 - t.\n\n";
  constexpr std::size_t kAdvisorImages = 1000;
  std::string advice_error;
  const std::vector<ResolutionAdvice> advice = study_advice(plan, kAdvisorImages, &advice_error);
  ConclusionContext context;
  for (const ResolutionAdvice& a : advice)
    context.predicted_b.emplace_back(a.resolution, a.advice.b);
  std::string comparison_error;
  if (!plan.compare.empty()) {
    try {
      const StudyPlan earlier = load_study(plan.compare);
      context.earlier = read_report_cells(earlier.report);
      context.earlier_name = "`" + plan.compare + "` (" + earlier.report + ")";
      std::vector<std::string> differences;
      const std::string then_extractor =
          context.earlier.empty() ? "" : context.earlier.front().extractor;
      if (!then_extractor.empty() && extractors.size() == 1 &&
          *extractors.begin() != then_extractor) {
        differences.push_back("features of `" + then_extractor + "` then, `" + *extractors.begin() +
                              "` now");
      }
      if (earlier.eval_recipe != plan.eval_recipe) {
        differences.push_back("`" + earlier.eval_recipe + "` then, `" + plan.eval_recipe + "` now");
      }
      if (earlier.eval_num != plan.eval_num) {
        differences.push_back(std::to_string(earlier.eval_num) + " samples then, " +
                              std::to_string(plan.eval_num) + " now");
      }
      for (const std::string& d : differences) {
        context.earlier_caveat += (context.earlier_caveat.empty() ? "" : "; ") + d;
      }
    } catch (const Error& e) {
      comparison_error = e.what();
      warnings.push_back("study.compare: no comparison with " + plan.compare + ": " + e.what());
    }
  }
  md << "## Conclusion\n\n" << study_conclusion(plan, results, context);
  if (!comparison_error.empty()) {
    md << "- The comparison with the earlier study `" << plan.compare
       << "` (study.compare) could not be made: " << comparison_error << "\n";
  }
  md << "\n";
  if (!plan.input_scales.empty()) {
    md << "## FID by input scale b (gamma = 1 - t) and resolution\n\n"
       << table(b_rows(plan), sizes, fid, cacc, "b") << "\n";
  }
  md << advisor_section(plan, fid, advice, advice_error, kAdvisorImages);
  if (!plan.schedules.empty()) {
    md << "## FID by schedule function (b = 1) and resolution\n\n"
       << table(schedule_rows(plan), sizes, fid, cacc, "schedule") << "\n";
  }
  for (const auto& figure_markdown : written) md << figure_markdown;
  md << per_resolution.str();
  md << "## Cells\n\nEach cell is a run folder, `" << plan.out_dir
     << "/cells/<cell>/` (configuration, checkpoints, metrics.jsonl, samples, report.html) on "
        "the machine that ran the study; a cell folder kept without its report (it is large), "
        "as a repository may keep them, gets it back with `noisesched report <folder>`.\n\n"
     << kCellsHeader << "\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& r : results) {
    const char* status = kCellStatus[static_cast<int>(r.status)];
    md << "| " << r.cell.id << " | " << r.cell.resolution << " | " << r.step << "/"
       << r.cell.config.train.steps << " | " << r.cell.seed << " | " << status << " | "
       << format_fixed(r.train_seconds / 60, 1) << " | "
       << (r.status == CellResult::Status::kDone && std::isfinite(r.fid) ? format_fixed(r.fid, 1)
                                                                         : "")
       << " | "
       << (r.status == CellResult::Status::kDone && r.cacc >= 0
               ? format_fixed(100 * r.cacc, 1) + "%"
               : "")
       << " | ";
    const fs::path cell_report = fs::path(r.cell.config.train.out_dir) / "report.html";
    if (fs::exists(cell_report)) md << "[report](" << relative(fs::absolute(cell_report)) << ")";
    md << " |\n";
  }
  if (!report.parent_path().empty()) create_directories(report.parent_path().string());
  write_file_atomically(report.string(), md.str());
  return warnings;
}

std::vector<CellResult> read_report_cells(const std::string& report_path) {
  std::istringstream text(read_file(report_path, "study report"));
  std::string line;
  int number = 0;
  std::string extractor;  // the one feature extractor the report names, if one
  while (std::getline(text, line) && line != kCellsHeader) {
    ++number;
    const auto features = line.find(kFeaturesOf);
    if (line.rfind(kReportIntro, 0) == 0 && features != std::string::npos) {
      const auto open = features + std::strlen(kFeaturesOf);
      const auto close = line.find('`', open);
      const bool several = close != std::string::npos && line.compare(close + 1, 3, ", `") == 0;
      if (close != std::string::npos && !several) extractor = line.substr(open, close - open);
    }
  }
  if (!text) {
    throw Error(report_path + ": no table of cells (a line '" + std::string(kCellsHeader) +
                "'); is it a report that `noisesched study` wrote?");
  }
  std::getline(text, line);
  number += 2;
  if (line.rfind("| ---", 0) != 0) {
    throw Error(report_path + ":" + std::to_string(number) +
                ": the table of cells has no separator line under its header");
  }
  std::vector<CellResult> cells;
  while (std::getline(text, line) && line.rfind("| ", 0) == 0) {
    ++number;
    const std::string where = report_path + ":" + std::to_string(number) + ": ";
    std::vector<std::string> columns;
    std::size_t start = 1;
    for (std::size_t bar = line.find('|', start); bar != std::string::npos;
         bar = line.find('|', start)) {
      columns.emplace_back(trim(std::string_view(line).substr(start, bar - start)));
      start = bar + 1;
    }
    if (columns.size() != 9) {
      throw Error(where + "a row of the table of cells has " + std::to_string(columns.size()) +
                  " columns, not 9: " + line);
    }
    try {
      CellResult r;
      r.cell.id = columns[0];
      r.cell.resolution = static_cast<int>(parse_integer(columns[1], "resolution", 1, 1 << 20));
      const auto slash = columns[2].find('/');
      if (slash == std::string::npos) throw Error("steps '" + columns[2] + "' is not done/planned");
      r.step = parse_integer(columns[2].substr(0, slash), "steps done", 0, INT64_MAX);
      r.cell.config.train.steps =
          parse_integer(columns[2].substr(slash + 1), "steps planned", 0, INT32_MAX);
      r.cell.seed = parse_integer(columns[3], "seed", INT64_MIN, INT64_MAX);
      const auto status = std::find(std::begin(kCellStatus), std::end(kCellStatus), columns[4]);
      if (status == std::end(kCellStatus)) throw Error("status '" + columns[4] + "' is unknown");
      r.status = static_cast<CellResult::Status>(status - std::begin(kCellStatus));
      r.train_seconds = 60 * parse_double(columns[5], "training minutes");
      // Empty: not finished, or finished without a finite FID.
      r.fid = columns[6].empty() ? std::nan("") : parse_double(columns[6], "FID");
      r.extractor = extractor;
      if (!columns[7].empty()) {
        if (columns[7].back() != '%') throw Error("class accuracy '" + columns[7] + "' has no %");
        r.cacc = parse_double(columns[7].substr(0, columns[7].size() - 1), "class accuracy") / 100;
      }
      cells.push_back(std::move(r));
    } catch (const Error& e) {
      throw Error(where + e.what());
    }
  }
  return cells;
}

}  // namespace noisesched
