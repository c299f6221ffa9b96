// Training curves from metrics.jsonl (see run_curves.h).
#include "noisesched/report/run_curves.h"

#include <cmath>
#include <filesystem>
#include <optional>

#include "noisesched/common/error.h"
#include "noisesched/io/metrics_lines.h"

namespace noisesched {
namespace {

// The metrics a curve can show: where the number sits in an "eval" object (the metric itself, or
// one field of it) and the panel title.
struct CurveMetric {
  const char* name;
  const char* field;  // nullptr: the metric's value is the number
  const char* title;
};
constexpr CurveMetric kCurveMetrics[] = {
    {"fid", nullptr, "FID (lower is better)"},
    {"is", "mean", "Inception Score"},
    {"kid", "mean", "KID"},
    {"cacc", "accuracy", "class accuracy of conditional samples"},
    {"bg", "share", "share of grey backgrounds"},
    {"precision", nullptr, "precision"},
    {"recall", nullptr, "recall"}};

const CurveMetric& curve_metric(const std::string& name) {
  std::string names;
  for (const auto& m : kCurveMetrics) {
    if (name == m.name) return m;
    names += (names.empty() ? "" : ", ") + std::string(m.name);
  }
  throw Error("plot: metric '" + name + "' is not known; valid: " + names);
}

}  // namespace

namespace {

// The evaluation lines of <run>/metrics.jsonl, in file order (training lines are skipped unparsed).
std::vector<EvaluationLine> evaluation_lines(const std::string& run_dir) {
  const std::string path = (std::filesystem::path(run_dir) / "metrics.jsonl").string();
  if (!std::filesystem::exists(path)) {
    throw Error("plot: cannot read '" + path + "' (is '" + run_dir + "' a run folder?)");
  }
  return read_metrics(path, "plot", MetricsToRead::kEvaluations).evaluations;
}

std::vector<RunEvaluation> evaluations_of(const std::vector<EvaluationLine>& lines,
                                          const CurveMetric& curve) {
  std::vector<RunEvaluation> out;
  for (const EvaluationLine& line : lines) {
    const double value = line.number(curve.name, curve.field != nullptr ? curve.field : "");
    if (std::isnan(value)) continue;
    RunEvaluation point;
    point.step = line.step;
    point.train_minutes = line.train_s / 60.0;
    point.value = value;
    out.push_back(point);
  }
  return out;
}

}  // namespace

std::vector<RunEvaluation> read_run_evaluations(const std::string& run_dir,
                                                const std::string& metric) {
  const CurveMetric& curve = curve_metric(metric);
  return evaluations_of(evaluation_lines(run_dir), curve);
}

Figure run_curves_figure(const std::vector<std::string>& runs,
                         const std::vector<std::string>& labels,
                         const std::vector<std::string>& metrics, const std::string& x,
                         const std::string& title) {
  if (runs.empty()) throw Error("plot: no run folders given");
  if (metrics.empty()) throw Error("plot: no metric given");
  if (!labels.empty() && labels.size() != runs.size()) {
    throw Error("plot: " + std::to_string(labels.size()) + " labels for " +
                std::to_string(runs.size()) + " runs");
  }
  if (x != "minutes" && x != "steps") {
    throw Error("plot: --x '" + x + "' is not known; valid: minutes, steps");
  }
  Figure figure;
  figure.title = title;
  figure.columns = static_cast<int>(std::min<std::size_t>(metrics.size(), 3));
  figure.legend = LegendPlacement::kFigure;
  std::vector<std::optional<std::vector<EvaluationLine>>> lines(runs.size());  // read once each
  for (const auto& metric : metrics) {
    Panel panel;
    panel.title = curve_metric(metric).title;
    panel.xlabel = x == "minutes" ? "training minutes" : "training steps";
    panel.ylabel = metric;
    panel.log_y = metric == "fid" || metric == "kid";
    std::size_t points = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (!lines[i]) lines[i] = evaluation_lines(runs[i]);
      Series series;
      series.label =
          labels.empty() ? std::filesystem::path(runs[i]).filename().string() : labels[i];
      if (series.label.empty()) series.label = runs[i];
      series.style = "o-";
      for (const auto& p : evaluations_of(*lines[i], curve_metric(metric))) {
        series.x.push_back(x == "minutes" ? p.train_minutes : static_cast<double>(p.step));
        series.y.push_back(p.value);
      }
      points += series.x.size();
      panel.series.push_back(std::move(series));
    }
    if (points == 0) {
      throw Error("plot: no evaluation of '" + metric +
                  "' in the runs' metrics.jsonl (set eval.every or eval.every_seconds and "
                  "eval.metrics when training)");
    }
    figure.panels.push_back(std::move(panel));
  }
  return figure;
}

}  // namespace noisesched
