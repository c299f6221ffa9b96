// The study's cells and their summaries (see cells.h).
#include "noisesched/study/cells.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "noisesched/common/numbers.h"
#include "noisesched/io/metrics_lines.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

std::string grid_name(std::int64_t step) {
  char name[48];
  std::snprintf(name, sizeof(name), "step_%08lld.png", static_cast<long long>(step));
  return name;
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

}  // namespace

double logsnr_band_centre(const std::string& band) {
  const auto comma = band.find(',');
  const std::string low = band.substr(1, comma - 1);
  const std::string high = band.substr(comma + 1, band.size() - comma - 2);
  if (low == "-inf") return std::stod(high) - 2;
  if (high == "inf") return std::stod(low) + 2;
  return 0.5 * (std::stod(low) + std::stod(high));
}

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
  std::sort(result.loss_by_band.begin(), result.loss_by_band.end(),
            [](const auto& a, const auto& b) {
              return logsnr_band_centre(a.first) < logsnr_band_centre(b.first);
            });
  const fs::path grid = folder / "samples" / grid_name(cell.config.train.steps);
  if (fs::exists(grid)) result.grid = grid.string();
  return result;
}

StudySummary summarize_fid(const std::vector<CellResult>& results) {
  return summarize(results, false);
}

StudySummary summarize_accuracy(const std::vector<CellResult>& results) {
  return summarize(results, true);
}

std::string summary_text(const SeedSummary& s) {
  if (s.count == 0) return "";
  std::string text = format_fixed(s.mean, 1);
  if (s.count > 1) text += " ± " + format_fixed(0.5 * (s.high - s.low), 1);
  return text;
}

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

std::vector<int> resolutions_of(const StudyPlan& plan) {
  std::vector<int> sizes;
  for (const auto& r : plan.resolutions) sizes.push_back(r.size);
  return sizes;
}

std::vector<StudyRow> b_rows(const StudyPlan& plan) {
  std::vector<StudyRow> rows;
  for (double b : plan.input_scales) {
    rows.push_back({StudyAxis::kInputScale, format_exact(b), format_exact(b)});
  }
  return rows;
}

std::vector<StudyRow> schedule_rows(const StudyPlan& plan) {
  std::vector<StudyRow> rows;
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

}  // namespace noisesched
