// Study results and the generated report (see report.h).
#include "noisesched/study/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/data/dataset.h"
#include "noisesched/io/metrics_lines.h"
#include "noisesched/report/figure.h"
#include "noisesched/schedule/schedule.h"
#include "noisesched/study/advisor.h"
#include "noisesched/study/statistics.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

std::string grid_name(std::int64_t step) {
  char name[48];
  std::snprintf(name, sizeof(name), "step_%08lld.png", static_cast<long long>(step));
  return name;
}

// The middle of a band "[a,b)", with the open ends drawn 2 units beyond the finite one.
double band_centre(const std::string& band) {
  const auto comma = band.find(',');
  const std::string low = band.substr(1, comma - 1);
  const std::string high = band.substr(comma + 1, band.size() - comma - 2);
  if (low == "-inf") return std::stod(high) - 2;
  if (high == "inf") return std::stod(low) + 2;
  return 0.5 * (std::stod(low) + std::stod(high));
}

Panel line_panel(const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  Panel panel;
  panel.title = title;
  panel.xlabel = xlabel;
  panel.ylabel = ylabel;
  return panel;
}

std::string axis_label(StudyAxis axis) { return axis == StudyAxis::kInputScale ? "b" : "schedule"; }

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string summary_text(const SeedSummary& s) {
  if (s.count == 0) return "";
  std::string text = fixed(s.mean, 1);
  if (s.count > 1) text += " ± " + fixed(0.5 * (s.high - s.low), 1);
  return text;
}

std::vector<int> resolutions_of(const StudyPlan& plan) {
  std::vector<int> sizes;
  for (const auto& r : plan.resolutions) sizes.push_back(r.size);
  return sizes;
}

// The rows of one table: (axis, value, label).
struct Row {
  StudyAxis axis;
  std::string value, label;
};

std::vector<Row> b_rows(const StudyPlan& plan) {
  std::vector<Row> rows;
  for (double b : plan.input_scales) {
    rows.push_back({StudyAxis::kInputScale, format_exact(b), format_exact(b)});
  }
  return rows;
}

std::vector<Row> schedule_rows(const StudyPlan& plan) {
  std::vector<Row> rows;
  const bool has_b1 =
      std::find(plan.input_scales.begin(), plan.input_scales.end(), 1.0) != plan.input_scales.end();
  if (has_b1) rows.push_back({StudyAxis::kInputScale, "1", "simple_linear (1 - t)"});
  for (const auto& spec : plan.schedules) {
    if (has_b1 &&
        Schedule::parse(spec).to_string() == Schedule::parse("simple_linear").to_string()) {
      continue;
    }
    rows.push_back({StudyAxis::kSchedule, spec, spec});
  }
  return rows;
}

std::map<std::tuple<int, std::string, int>, SeedSummary> summarize(
    const std::vector<CellResult>& results, bool accuracy) {
  std::map<std::tuple<int, std::string, int>, SeedSummary> out;
  for (const auto& r : results) {
    if (r.status != CellResult::Status::kDone) continue;
    const double value = accuracy ? r.cacc : r.fid;
    if (!std::isfinite(value) || (accuracy && value < 0)) continue;  // not measured, or NaN
    auto& s = out[{static_cast<int>(r.cell.axis), r.cell.value, r.cell.resolution}];
    s.low = s.count == 0 ? value : std::min(s.low, value);
    s.high = s.count == 0 ? value : std::max(s.high, value);
    s.mean = (s.mean * s.count + value) / (s.count + 1);
    ++s.count;
  }
  return out;
}

// A markdown table of FID (and class accuracy) by row x resolution; the lowest mean FID of each
// column in bold.
std::string table(const std::vector<Row>& rows, const std::vector<int>& sizes,
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
      if (a != cacc.end()) out << " (" << fixed(100 * a->second.mean, 0) << "%)";
    }
    out << " |\n";
  }
  return out.str();
}

}  // namespace

CellResult read_cell_result(const StudyCell& cell) {
  CellResult result;
  result.cell = cell;
  const fs::path folder = cell.config.train.out_dir;
  const fs::path metrics = folder / "metrics.jsonl";
  if (!fs::exists(metrics)) return result;
  result.status = CellResult::Status::kPartial;
  const MetricsLines lines = read_metrics(metrics.string(), "study");
  for (const TrainingLine& line : lines.training) {
    result.step = std::max(result.step, line.step);
    if (std::isfinite(line.train_s))
      result.train_seconds = std::max(result.train_seconds, line.train_s);
  }
  for (const EvaluationLine& e : lines.evaluations) {
    result.step = std::max(result.step, e.step);
    if (std::isfinite(e.train_s)) result.train_seconds = std::max(result.train_seconds, e.train_s);
    if (e.step != cell.config.train.steps) continue;
    result.fid = e.number("fid");  // NaN: stored as null (or not computed)
    const double accuracy = e.number("cacc", "accuracy");
    if (!std::isnan(accuracy)) {
      result.cacc = accuracy;
      const double ceiling = e.number("cacc", "ceiling");
      if (!std::isnan(ceiling)) result.cacc_ceiling = ceiling;
    }
    if (!e.text("extractor").empty()) result.extractor = e.text("extractor");
    result.status = CellResult::Status::kDone;
  }
  const std::vector<TrainingLine>& logs = lines.training;
  // Loss by band over the last quarter of the log lines.
  const std::size_t first = logs.size() - logs.size() / 4 - (logs.size() % 4 != 0 ? 1 : 0);
  std::vector<std::pair<std::string, std::pair<double, int>>> sums;
  for (std::size_t i = std::min(first, logs.size()); i < logs.size(); ++i) {
    for (const auto& [band, value] : logs[i].loss_by_logsnr) {
      auto it =
          std::find_if(sums.begin(), sums.end(), [&](const auto& s) { return s.first == band; });
      if (it == sums.end()) {
        sums.push_back({band, {0.0, 0}});
        it = sums.end() - 1;
      }
      if (!std::isnan(value)) {
        it->second.first += value;
        ++it->second.second;
      }
    }
  }
  for (const auto& [band, sum] : sums) {
    if (sum.second > 0) result.loss_by_band.emplace_back(band, sum.first / sum.second);
  }
  // By logSNR: a parsed JSON object comes back with its keys in string order ("[-3,0)" before
  // "[-6,-3)").
  std::sort(
      result.loss_by_band.begin(), result.loss_by_band.end(),
      [](const auto& a, const auto& b) { return band_centre(a.first) < band_centre(b.first); });
  const fs::path grid = folder / "samples" / grid_name(cell.config.train.steps);
  if (fs::exists(grid)) result.grid = grid.string();
  return result;
}

StudySummary summarize_fid(const std::vector<CellResult>& results) {
  return summarize(results, false);
}

// The measured b of one resolution, best mean FID first (empty when fewer than two are finished).
std::vector<std::pair<double, SeedSummary>> ranked_b(const StudyPlan& plan, const StudySummary& fid,
                                                     int size) {
  std::vector<std::pair<double, SeedSummary>> found;
  for (double b : plan.input_scales) {
    const auto it = fid.find({static_cast<int>(StudyAxis::kInputScale), format_exact(b), size});
    if (it != fid.end()) found.emplace_back(b, it->second);
  }
  if (found.size() < 2) return {};
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.second.mean < b.second.mean; });
  return found;
}

// The advisor's b (noisesched advise) for every resolution against the smallest, beside the
// measured best b.
std::string advisor_section(const StudyPlan& plan, const StudySummary& fid, std::size_t images) {
  const std::vector<int> sizes = resolutions_of(plan);
  if (sizes.size() < 2 || plan.input_scales.empty()) return "";
  std::ostringstream md;
  md << "## The advisor's b beside the measured best b\n\n"
     << "`noisesched advise` predicts b from the data alone (the logSNR shift that moves each "
        "resolution's linear-denoiser difficulty curve onto the "
     << sizes.front() << " px curve at b = 1, from the power spectrum of " << images
     << " training images; docs/studies.md). The measured best b is the lowest mean FID over the "
        "b column of the table above.\n\n"
     << "| resolution | predicted b | logSNR shift | measured best b | rule " << sizes.front()
     << " / resolution |\n| --- | --- | --- | --- | --- |\n";
  try {
    const auto data_of = [&](int size) {
      for (const auto& cell : plan.cells()) {
        if (cell.resolution == size) return cell.config.data;
      }
      throw Error("no cell at " + std::to_string(size) + " px");
    };
    const auto reference = spectrum_eigenvalues(*open_dataset(data_of(sizes.front())), images);
    for (const int size : sizes) {
      const ScaleAdvice a =
          advise_input_scale(spectrum_eigenvalues(*open_dataset(data_of(size)), images), reference);
      const auto ranked = ranked_b(plan, fid, size);
      md << "| " << size << " px | " << fixed(a.b, 3) << " | " << fixed(a.shift, 2) << " | "
         << (ranked.empty() ? std::string("not measured yet") : format_exact(ranked[0].first))
         << " | " << fixed(static_cast<double>(sizes.front()) / size, 3) << " |\n";
    }
  } catch (const Error& e) {
    md << "\nThe advisor could not run: " << e.what() << "\n";
  }
  return md.str() + "\n";
}

namespace {

// What goes before item i of n in an English list: "a", "a and b", "a, b and c".
const char* list_separator(std::size_t i, std::size_t n) {
  return i == 0 ? "" : i + 1 == n ? " and " : ", ";
}

// FID of every seed of every setting: (axis, value, resolution) -> seed -> FID.
using SeedFids = std::map<std::tuple<int, std::string, int>, std::map<std::int64_t, double>>;
SeedFids fid_by_seed(const std::vector<CellResult>& results) {
  SeedFids out;
  for (const auto& r : results) {
    if (r.status != CellResult::Status::kDone || !std::isfinite(r.fid)) continue;
    out[{static_cast<int>(r.cell.axis), r.cell.value, r.cell.resolution}][r.cell.seed] = r.fid;
  }
  return out;
}

// The seed-block fit of every resolution, over the settings finished at every seed of the plan.
std::map<int, SeedBlockFit> fit_blocks(const StudyPlan& plan, const SeedFids& by_seed) {
  std::map<int, SeedBlockFit> out;
  if (plan.seeds.size() < 2) return out;
  for (const int size : resolutions_of(plan)) {
    std::vector<std::vector<double>> table;
    for (const auto& [key, fids] : by_seed) {
      if (std::get<2>(key) != size) continue;
      std::vector<double> row;
      for (const std::int64_t seed : plan.seeds) {
        const auto it = fids.find(seed);
        if (it == fids.end()) break;
        row.push_back(it->second);
      }
      if (row.size() == plan.seeds.size()) table.push_back(std::move(row));
    }
    if (table.size() >= 2) out[size] = fit_seed_blocks(table);
  }
  return out;
}

// The best setting against the runner-up, seed by seed. The cells of one seed share the network's
// initialisation, the data order and the noise draws, so their difference is the settings' alone;
// the seeds' ranges mix it with the shift a seed gives every setting. With the resolution's seed-
// block fit (`fit`, null when there is none), the mean difference is weighed against the fit's
// error with Student's t. Empty with fewer than two seeds in common.
std::string paired_by_seed(const std::map<std::int64_t, double>& best,
                           const std::map<std::int64_t, double>& next, const SeedBlockFit* fit,
                           const std::string& next_name = "the next") {
  std::vector<double> differences;  // runner-up minus best, by seed
  for (const auto& [seed, fid] : best) {
    const auto it = next.find(seed);
    if (it != next.end()) differences.push_back(it->second - fid);
  }
  const std::size_t n = differences.size();
  if (n < 2) return "";
  const auto lower =
      std::count_if(differences.begin(), differences.end(), [](double d) { return d > 0; });
  double mean = 0;
  for (const double d : differences) mean += d / static_cast<double>(n);
  std::ostringstream out;
  out << " Paired by seed, the best is lower at " << lower << " of " << n << " seeds (" << next_name
      << " minus the best: ";
  for (std::size_t i = 0; i < n; ++i) {
    out << list_separator(i, n) << (differences[i] >= 0 ? "+" : "") << fixed(differences[i], 1);
  }
  // Each difference has the error of two cells: variance 2 sigma^2, over n seeds 2 sigma^2 / n.
  if (fit != nullptr && fit->sigma > 0 && static_cast<int>(n) == fit->seeds) {
    const double error = fit->sigma * std::sqrt(2.0 / static_cast<double>(n));
    const double t = mean / error;
    out << "; mean " << fixed(mean, 1) << ", " << fixed(t, 2) << " standard errors of "
        << fixed(error, 1) << ": p = " << fixed(student_t_two_sided_p(t, fit->dof), 3)
        << ", Student's t with " << fit->dof << (fit->dof == 1 ? " degree" : " degrees")
        << " of freedom over " << fit->settings << " settings";
  }
  out << ").";
  return out.str();
}

// Why the b trend is not established, from the numbers: how far two seeds of one cell differ
// against how far apart the best two b are, and how recognisable the best models' samples are.
std::string why_not_established(const StudySummary& fid,
                                const std::vector<std::pair<int, double>>& gaps,
                                const std::vector<std::pair<int, double>>& accuracies,
                                double ceiling, const std::map<int, SeedBlockFit>& blocks) {
  double total = 0, widest = 0;
  int settings = 0;
  for (const auto& [key, s] : fid) {
    if (s.count < 2) continue;
    total += s.high - s.low;
    widest = std::max(widest, s.high - s.low);
    ++settings;
  }
  std::ostringstream out;
  if (settings > 0) {
    out << "- Why: the seeds of one setting span " << fixed(total / settings, 1)
        << " FID on average (highest minus lowest; at most " << fixed(widest, 1) << ", over "
        << settings << " settings run with two seeds or more), while the best two b lie ";
    for (std::size_t i = 0; i < gaps.size(); ++i) {
      out << list_separator(i, gaps.size()) << fixed(gaps[i].second, 1) << " apart at "
          << gaps[i].first << " px";
    }
    const auto below = std::count_if(gaps.begin(), gaps.end(),
                                     [&](const auto& g) { return g.second < total / settings; });
    out << ". At " << below << " of the " << gaps.size()
        << " sizes that gap is smaller than the seeds' average span"
        << (below > 0 ? ": there, the training run's randomness is as large as the effect of b."
                      : ".");
  }
  if (!blocks.empty()) {
    // How much of the seeds' span is a shift every setting of a seed shares (and whether the
    // F test tells it from the error), and the error that remains.
    out << (settings > 0 ? " " : "- Why: ")
        << "Some of that span can be a shift that a seed gives every setting of a size: the "
           "seeds' mean FIDs over the settings differ by ";
    std::size_t i = 0;
    for (const auto& [size, fit] : blocks) {
      const auto [low, high] = std::minmax_element(fit.seed_shifts.begin(), fit.seed_shifts.end());
      out << list_separator(i++, blocks.size()) << fixed(*high - *low, 1) << " at " << size
          << " px";
      if (std::isfinite(fit.seed_shift_p)) out << " (p = " << fixed(fit.seed_shift_p, 3) << ")";
    }
    const bool tested = std::any_of(blocks.begin(), blocks.end(), [](const auto& b) {
      return std::isfinite(b.second.seed_shift_p);
    });
    out << (tested ? ", where p is the chance of shifts this large from the error alone (F test)"
                   : "")
        << "; with the shifts removed, a cell strays from its setting's mean by ";
    i = 0;
    for (const auto& [size, fit] : blocks) {
      out << list_separator(i++, blocks.size()) << fixed(fit.sigma, 1) << " at " << size << " px";
    }
    out << " (standard deviation; the error the seed-by-seed comparisons are weighed against).";
  }
  if (!accuracies.empty()) {
    out << (settings > 0 ? " " : "- Why: ") << "The best b's samples are recognised as their class "
        << "by the classifier ";
    for (std::size_t i = 0; i < accuracies.size(); ++i) {
      out << list_separator(i, accuracies.size()) << fixed(100 * accuracies[i].second, 0)
          << "% of the time at " << accuracies[i].first << " px";
    }
    if (ceiling > 0) out << " (real test images: " << fixed(100 * ceiling, 0) << "%)";
    bool falling = accuracies.size() >= 2;
    for (std::size_t i = 1; i < accuracies.size(); ++i) {
      falling = falling && accuracies[i].second < accuracies[i - 1].second;
    }
    out << (falling ? ": the larger the images, the weaker the models this budget trains, while "
                      "the paper compares well-trained models"
                    : "")
        << ". Longer training (or the GPU preset, configs/studies/gpu.toml) is what would show "
           "whether the effect appears.";
  }
  if (!out.str().empty()) out << "\n";
  return out.str();
}

}  // namespace

std::string study_conclusion(const StudyPlan& plan, const std::vector<CellResult>& results) {
  const StudySummary fid = summarize_fid(results);
  std::ostringstream out;
  const auto done = std::count_if(results.begin(), results.end(), [](const CellResult& r) {
    return r.status == CellResult::Status::kDone;
  });
  if (done < static_cast<long>(results.size())) {
    out << "- " << done << " of " << results.size()
        << " cells are finished; the conclusions below use those only.\n";
  }
  // Best b per resolution, and whether the runner-up lies within the seed spread.
  std::vector<std::pair<int, double>> best_b;
  bool all_b_separated = true;
  // For the explanation when the finding is not established: the gap between the best two b and
  // the best b's class accuracy, per resolution.
  const StudySummary cacc = summarize(results, true);
  const SeedFids by_seed = fid_by_seed(results);
  const std::map<int, SeedBlockFit> blocks = fit_blocks(plan, by_seed);
  const auto block_of = [&](int size) {
    const auto it = blocks.find(size);
    return it == blocks.end() ? nullptr : &it->second;
  };
  // FID by seed of one setting (none when it has no finished cell).
  const std::map<std::int64_t, double> no_seeds;
  const auto seeds_of = [&](StudyAxis axis, const std::string& value, int size) -> const auto& {
    const auto it = by_seed.find({static_cast<int>(axis), value, size});
    return it == by_seed.end() ? no_seeds : it->second;
  };
  std::vector<std::pair<int, double>> gaps, accuracies;
  for (int size : resolutions_of(plan)) {
    const auto found = ranked_b(plan, fid, size);
    if (found.empty()) continue;
    best_b.emplace_back(size, found[0].first);
    gaps.emplace_back(size, found[1].second.mean - found[0].second.mean);
    const auto a =
        cacc.find({static_cast<int>(StudyAxis::kInputScale), format_exact(found[0].first), size});
    if (a != cacc.end()) accuracies.emplace_back(size, a->second.mean);
    // Separated: every seed of the runner-up is worse than every seed of the best (with at
    // least two seeds each; one seed has no spread to judge by).
    const bool seeds = found[0].second.count >= 2 && found[1].second.count >= 2;
    const bool separated = seeds && found[0].second.high < found[1].second.low;
    all_b_separated = all_b_separated && separated;
    // Which of the two has a single seed (no spread to judge by), when not both have several.
    std::string single;
    if (!seeds) {
      const bool best_single = found[0].second.count < 2, next_single = found[1].second.count < 2;
      single = best_single && next_single
                   ? "with one seed each"
                   : "with one seed for b = " +
                         format_exact(best_single ? found[0].first : found[1].first);
    }
    out << "- " << size << " px: the best b is " << format_exact(found[0].first) << " (FID "
        << fixed(found[0].second.mean, 1) << "); the next, b = " << format_exact(found[1].first)
        << " (FID " << fixed(found[1].second.mean, 1) << "), "
        << (separated ? "is worse for every seed."
            : seeds   ? "overlaps it within the spread over seeds, so the order of these two is "
                        "not established."
                      : single + ", so the order of these two is not established.");
    if (!separated) {
      const auto b_seeds = [&](double b) -> const auto& {
        return seeds_of(StudyAxis::kInputScale, format_exact(b), size);
      };
      out << paired_by_seed(b_seeds(found[0].first), b_seeds(found[1].first), block_of(size));
    }
    out << "\n";
  }
  std::sort(best_b.begin(), best_b.end());  // by resolution, whatever the file's order
  if (best_b.size() >= 2) {
    bool non_increasing = true, strictly_somewhere = false;
    for (std::size_t i = 1; i < best_b.size(); ++i) {
      non_increasing = non_increasing && best_b[i].second <= best_b[i - 1].second;
      strictly_somewhere = strictly_somewhere || best_b[i].second < best_b[i - 1].second;
    }
    std::string trend;
    for (const auto& [size, b] : best_b) {
      trend += (trend.empty() ? "" : ", ") + std::to_string(size) + " px: " + format_exact(b);
    }
    if (non_increasing && strictly_somewhere && all_b_separated) {
      out << "- **As in the paper, the best input scale shrinks as the resolution grows** ("
          << trend << ").\n";
    } else if (non_increasing && strictly_somewhere) {
      out << "- The best b shrinks as the resolution grows, as in the paper (" << trend
          << "), **but the spread over seeds does not establish it**: at least one best b above "
             "is not separated from the next.\n";
    } else {
      out << "- **The paper's finding that the best b shrinks with resolution does not show at "
             "this budget** (best b: "
          << trend
          << "). Where the spreads above overlap, more seeds or longer training are needed to "
             "tell the scales apart.\n";
    }
    if (!(non_increasing && strictly_somewhere && all_b_separated)) {
      std::sort(gaps.begin(), gaps.end());
      std::sort(accuracies.begin(), accuracies.end());
      double ceiling = -1;
      for (const auto& r : results) ceiling = std::max(ceiling, r.cacc_ceiling);
      out << why_not_established(fid, gaps, accuracies, ceiling, blocks);
    }
  }
  // Best schedule per resolution.
  const auto rows = schedule_rows(plan);
  std::vector<std::string> best_schedules;
  bool all_schedules_separated = true;
  for (int size : resolutions_of(plan)) {
    std::vector<std::pair<const Row*, SeedSummary>> found;
    for (const auto& row : rows) {
      const auto it = fid.find({static_cast<int>(row.axis), row.value, size});
      if (it != fid.end()) found.emplace_back(&row, it->second);
    }
    if (found.size() < 2) continue;
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.second.mean < b.second.mean; });
    const bool separated = found[0].second.count >= 2 && found[1].second.count >= 2 &&
                           found[0].second.high < found[1].second.low;
    all_schedules_separated = all_schedules_separated && separated;
    out << "- " << size << " px, schedule functions at b = 1: the best is " << found[0].first->label
        << " (FID " << fixed(found[0].second.mean, 1) << "); the next, " << found[1].first->label
        << " (FID " << fixed(found[1].second.mean, 1) << "), "
        << (separated ? "is worse for every seed."
                      : "is not separated from it by the spread over seeds.");
    const auto row_seeds = [&](const Row* row) -> const auto& {
      return seeds_of(row->axis, row->value, size);
    };
    if (!separated) {
      out << paired_by_seed(row_seeds(found[0].first), row_seeds(found[1].first), block_of(size));
    }
    // The paper's comparison: the best function against 1 - t, the schedule b rescales.
    const auto linear = std::find_if(found.begin() + 2, found.end(), [](const auto& f) {
      return f.first->axis == StudyAxis::kInputScale;
    });
    if (found[0].first->axis != StudyAxis::kInputScale && linear != found.end()) {
      const bool apart = found[0].second.count >= 2 && linear->second.count >= 2 &&
                         found[0].second.high < linear->second.low;
      out << " Against " << linear->first->label << " (FID " << fixed(linear->second.mean, 1)
          << "), " << (apart ? "worse for every seed." : "not separated by the spread over seeds.");
      if (!apart) {
        out << paired_by_seed(row_seeds(found[0].first), row_seeds(linear->first), block_of(size),
                              "1 - t");
      }
    }
    out << "\n";
    best_schedules.push_back(found[0].first->label);
  }
  if (best_schedules.size() >= 2) {
    const bool same = std::all_of(best_schedules.begin(), best_schedules.end(),
                                  [&](const std::string& s) { return s == best_schedules[0]; });
    out << (same ? "- The same schedule function is best at every resolution measured.\n"
            : all_schedules_separated
                ? "- The best schedule function differs between resolutions, as the paper finds.\n"
                : "- The best schedule function differs between resolutions, but the spread over "
                  "seeds does not establish the differences.\n");
  }
  if (out.str().empty()) out << "- Not enough finished cells to compare yet.\n";
  return out.str();
}

std::vector<std::string> write_study_report(const StudyPlan& plan,
                                            const std::vector<CellResult>& results,
                                            const std::string& command) {
  std::vector<std::string> warnings;
  const fs::path report(plan.report);
  // Beside the report, in a folder named after it: docs/study.md -> docs/figures/study/.
  const fs::path figures = report.parent_path() / "figures" / report.stem();
  create_directories(figures.string());
  const std::vector<int> sizes = resolutions_of(plan);
  const StudySummary fid = summarize(results, false);
  const StudySummary cacc = summarize(results, true);
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
        p.title = r.cell.id + "\nFID " + fixed(r.fid, 1) +
                  (r.cacc >= 0 ? ", cacc " + fixed(100 * r.cacc, 0) + "%" : "");
        p.image = fs::absolute(r.grid).string();
        samples.panels.push_back(p);
      }
      if (!r.loss_by_band.empty()) {
        Series s{
            axis_label(r.cell.axis) == "b" ? "b = " + r.cell.value : r.cell.value, {}, {}, "o-"};
        for (const auto& [band, loss] : r.loss_by_band) {
          s.x.push_back(band_centre(band));
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
  for (const auto& e : extractors) features += (features.empty() ? "`" : ", `") + e + "`";
  if (features.empty()) features = "(none finished yet)";
  std::ostringstream md;
  md << "# The schedule study: Chen (2023)'s findings in miniature\n\n"
     << "Generated by `" << command << "` from `" << plan.source
     << "`; do not edit by hand (the command rewrites it).\n\n"
     << "Each cell trains one model for a fixed number of steps and evaluates its EMA weights "
        "once at the end: "
     << plan.eval_num << " class-conditional samples, `" << plan.eval_recipe << "`, features of "
     << features << (extractors.size() > 1 ? " (several extractors: the FIDs do not compare)" : "")
     << ". Tables give the mean FID over seeds "
        "± half the range between seeds (class accuracy in brackets); the lowest mean of each "
        "column is in bold. Where the seeds' ranges of two settings overlap, the conclusion "
        "compares them seed by seed: the cells of one seed share the network's initialisation, "
        "the data order and the noise draws, and the standard error of a mean difference comes "
        "from fitting FID = setting's mean + seed's shift to every setting of the resolution "
        "(p by Student's t). The pairs are chosen from the data, so p is not calibrated: too "
        "large for the best against the next (the closest of all), too small for the best "
        "against 1 - t.\n\n";
  md << "## Conclusion\n\n" << study_conclusion(plan, results) << "\n";
  if (!plan.input_scales.empty()) {
    md << "## FID by input scale b (gamma = 1 - t) and resolution\n\n"
       << table(b_rows(plan), sizes, fid, cacc, "b") << "\n";
  }
  md << advisor_section(plan, fid, 1000);
  if (!plan.schedules.empty()) {
    md << "## FID by schedule function (b = 1) and resolution\n\n"
       << table(schedule_rows(plan), sizes, fid, cacc, "schedule") << "\n";
  }
  for (const auto& figure_markdown : written) md << figure_markdown;
  md << per_resolution.str();
  md << "## Cells\n\nEach cell is a run folder, `" << plan.out_dir
     << "/cells/<cell>/` (configuration, checkpoints, metrics.jsonl, samples, report.html), on "
        "the machine that ran the study; run folders are not part of the repository.\n\n| cell | "
        "resolution | steps | seed | status | training minutes | FID | class "
        "accuracy | run report |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& r : results) {
    const char* status = r.status == CellResult::Status::kDone      ? "done"
                         : r.status == CellResult::Status::kPartial ? "partial"
                                                                    : "not started";
    md << "| " << r.cell.id << " | " << r.cell.resolution << " | " << r.step << "/"
       << r.cell.config.train.steps << " | " << r.cell.seed << " | " << status << " | "
       << fixed(r.train_seconds / 60, 1) << " | "
       << (r.status == CellResult::Status::kDone ? fixed(r.fid, 1) : "") << " | "
       << (r.status == CellResult::Status::kDone && r.cacc >= 0 ? fixed(100 * r.cacc, 1) + "%" : "")
       << " | ";
    const fs::path cell_report = fs::path(r.cell.config.train.out_dir) / "report.html";
    if (fs::exists(cell_report)) md << "[report](" << relative(fs::absolute(cell_report)) << ")";
    md << " |\n";
  }
  if (!report.parent_path().empty()) create_directories(report.parent_path().string());
  write_file_atomically(report.string(), md.str());
  return warnings;
}

}  // namespace noisesched
