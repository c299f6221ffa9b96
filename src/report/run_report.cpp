// The HTML run report (see run_report.h).
#include "noisesched/report/run_report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/progress.h"
#include "noisesched/config/run_spec.h"
#include "noisesched/io/metrics_lines.h"
#include "noisesched/report/figure.h"
#include "noisesched/report/html_figure.h"
#include "noisesched/report/run_curves.h"
#include "noisesched/report/schedule_report.h"

namespace noisesched {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& path) { return read_file(path.string(), "report input"); }

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string png_tag(const std::string& png_bytes, const std::string& alt) {
  return "<img alt=\"" + html_escape(alt) + "\" src=\"data:image/png;base64," + base64(png_bytes) +
         "\">";
}

std::string number(double value, int digits = 4) {
  return std::isfinite(value) ? format_significant(value, digits) : "n/a";
}

Panel line_panel(const std::string& title, const std::string& ylabel, bool log_y = false) {
  Panel panel;
  panel.title = title;
  panel.xlabel = "step";
  panel.ylabel = ylabel;
  panel.log_y = log_y;
  return panel;
}

}  // namespace

std::string base64(const std::string& bytes) {
  static const char* const kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const auto n = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string write_run_report(const std::string& run_dir, const std::string& out_path) {
  const fs::path run(run_dir);
  const fs::path config_path = run / "config.toml";
  const fs::path metrics_path = run / "metrics.jsonl";
  if (!fs::exists(config_path)) {
    throw Error("report: '" + run_dir + "' is not a run folder (no config.toml)");
  }
  const std::string config_text = read_bytes(config_path);
  const RunSpec spec = resolve(parse_config(config_text, config_path.string()));
  const Config& config = spec.config;
  const fs::path out = out_path.empty() ? run / "report.html" : fs::path(out_path);

  // Training log lines and evaluations.
  MetricsLines lines;
  if (fs::exists(metrics_path)) lines = read_metrics(metrics_path.string(), "report");
  const std::vector<TrainingLine>& logs = lines.training;
  const std::vector<EvaluationLine>& evals = lines.evaluations;

  std::ostringstream html;
  const std::string name = fs::absolute(run).lexically_normal().filename().string();
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
       << html_escape(name) << ": noisesched run report</title>\n<style>\n"
       << "body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}\n"
       << "h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.5em}\n"
       << "img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
       << "padding:2px 8px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}\n"
       << "pre{background:#f7f7f7;padding:.5em;overflow:auto}figure{display:inline-block;margin:."
          "5em}"
       << "\nfigure img{width:260px;image-rendering:pixelated}"
       << "\nfigcaption{text-align:center;font-size:.9em}\n</style>\n"
       << html_chart_head() << "</head>\n<body>\n";
  html << "<h1>Run " << html_escape(name) << "</h1>\n";

  // Summary.
  const double last_step = logs.empty() ? 0 : logs.back().step;
  const double train_s = logs.empty() ? 0 : logs.back().train_s;
  html << "<table>\n<tr><th>steps</th><td>" << number(last_step, 12) << " of " << config.train.steps
       << "</td></tr>\n<tr><th>training time</th><td>" << duration_text(train_s)
       << " (in training steps)</td></tr>\n<tr><th>last loss</th><td>"
       << (logs.empty() ? "n/a" : number(logs.back().loss)) << "</td></tr>\n";
  if (!evals.empty()) {
    const EvaluationLine& e = evals.back();
    html << "<tr><th>last evaluation (step " << e.step << ")</th><td>";
    std::string parts;  // a metric that came out NaN shows as n/a
    if (e.has("fid")) parts += "FID " + number(e.number("fid"));
    if (e.has("cacc")) {
      parts += (parts.empty() ? "" : ", ") + std::string("class accuracy ") +
               number(100 * e.number("cacc", "accuracy"), 3) + "%";
    }
    if (e.has("is")) {
      parts += (parts.empty() ? "" : ", ") + std::string("IS ") + number(e.number("is", "mean"));
    }
    const double images = e.number("num_images");
    html << html_escape(parts) << " (" << (std::isfinite(images) ? number(images, 12) : "0")
         << " images, " << html_escape(e.text("recipe")) << ")</td></tr>\n";
  }
  html << "<tr><th>model</th><td>" << html_escape(config.model.arch) << ", target "
       << html_escape(config.diffusion.target) << ", schedule "
       << html_escape(config.diffusion.schedule) << ", b "
       << html_escape(config.diffusion.input_scale) << "</td></tr>\n</table>\n";

  // The training schedule.
  ScheduleCurve curve{spec.diffusion.train_schedule, spec.diffusion.scale, ""};
  html << "<h2>Training schedule</h2>\n"
       << html_figure(schedule_figure({curve}, "training schedule: " + curve_label(curve)));

  // Training curves.
  if (!logs.empty()) {
    Figure training;
    training.title = "training";
    training.columns = 3;
    training.legend = LegendPlacement::kPanel;
    Panel loss = line_panel("loss (" + config.diffusion.target + " target)", "loss", true);
    Panel bands = line_panel("loss by logSNR band", "loss", true);
    Panel lr = line_panel("learning rate", "lr");
    Panel grad = line_panel("gradient norm (before clipping)", "norm");
    Panel speed = line_panel("throughput (training steps only)", "images/s");
    // One series per panel, unlabelled (the panel's title names it); the bands are labelled.
    Series s_loss{"", {}, {}, "-"}, s_lr{"", {}, {}, "-"}, s_grad{"", {}, {}, "-"},
        s_speed{"", {}, {}, "-"};
    std::vector<Series> band_series;
    for (const auto& l : logs) {
      const auto step = static_cast<double>(l.step);
      s_loss.x.push_back(step);
      s_loss.y.push_back(l.loss);
      s_lr.x.push_back(step);
      s_lr.y.push_back(l.lr);
      s_grad.x.push_back(step);
      s_grad.y.push_back(l.grad_norm);
      s_speed.x.push_back(step);
      s_speed.y.push_back(l.images_per_s);
      for (const auto& [band, value] : l.loss_by_logsnr) {
        auto it = std::find_if(band_series.begin(), band_series.end(),
                               [&](const Series& s) { return s.label == "logSNR " + band; });
        if (it == band_series.end()) {
          band_series.push_back({"logSNR " + band, {}, {}, "-"});
          it = band_series.end() - 1;
        }
        it->x.push_back(step);
        it->y.push_back(value);
      }
    }
    // In logSNR order; bands never trained on (all gaps) are left out.
    const auto lower = [](const Series& s) {
      const std::string low =
          s.label.substr(s.label.find('[') + 1, s.label.find(',') - s.label.find('[') - 1);
      return low == "-inf" ? -INFINITY : std::atof(low.c_str());
    };
    std::stable_sort(band_series.begin(), band_series.end(),
                     [&](const Series& a, const Series& b) { return lower(a) < lower(b); });
    for (auto& s : band_series) {
      if (std::any_of(s.y.begin(), s.y.end(), [](double v) { return std::isfinite(v); })) {
        bands.series.push_back(s);
      }
    }
    loss.series = {s_loss};
    lr.series = {s_lr};
    grad.series = {s_grad};
    speed.series = {s_speed};
    training.panels = {loss, bands, lr, grad, speed};
    html << "<h2>Training</h2>\n" << html_figure(training);
  }

  // Evaluation over steps and over training minutes.
  if (!evals.empty()) {
    std::vector<std::string> metrics;
    for (const char* m : {"fid", "cacc", "bg", "is", "kid", "precision", "recall"}) {
      for (const auto& e : evals) {
        if (e.has(m)) {
          metrics.emplace_back(m);
          break;
        }
      }
    }
    html << "<h2>Evaluation</h2>\n";
    for (const char* x : {"steps", "minutes"}) {
      Figure figure = run_curves_figure({run_dir}, {name}, metrics, x,
                                        std::string("evaluation during training, by ") + x);
      figure.legend = LegendPlacement::kNone;
      html << html_figure(figure);
    }
  }

  // Sample grids over training.
  std::vector<fs::path> grids;
  if (fs::is_directory(run / "samples")) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(run / "samples", error)) {
      const std::string file = entry.path().filename().string();
      if (file.rfind("step_", 0) == 0 && entry.path().extension() == ".png") {
        grids.push_back(entry.path());
      }
    }
  }
  std::sort(grids.begin(), grids.end());
  if (!grids.empty()) {
    html << "<h2>Samples over training</h2>\n";
    for (const auto& g : grids) {
      const std::string stem = g.stem().string();
      const long long step = std::atoll(stem.c_str() + 5);
      html << "<figure>" << png_tag(read_bytes(g), stem) << "<figcaption>step " << step
           << "</figcaption></figure>\n";
    }
  }

  // Checkpoints.
  const fs::path checkpoints = run / "checkpoints";
  if (fs::is_directory(checkpoints)) {
    std::string latest;
    if (fs::exists(checkpoints / "latest"))
      latest = std::string(trim(read_bytes(checkpoints / "latest")));
    std::vector<std::pair<std::string, std::uintmax_t>> list;
    std::error_code list_error;
    for (const auto& entry : fs::directory_iterator(checkpoints, list_error)) {
      const std::string file = entry.path().filename().string();
      if (!entry.is_directory() || file.rfind("step_", 0) != 0 ||
          file.find('.') != std::string::npos) {
        continue;
      }
      std::uintmax_t size = 0;
      std::error_code error;
      for (const auto& f : fs::directory_iterator(entry.path(), error)) {
        std::error_code size_error;
        if (f.is_regular_file(size_error)) size += f.file_size(size_error);
      }
      list.emplace_back(file, size);
    }
    std::sort(list.begin(), list.end());
    html << "<h2>Checkpoints</h2>\n<table>\n<tr><th>checkpoint</th><th>size</th><th></th></tr>\n";
    for (const auto& [file, size] : list) {
      html << "<tr><td>" << html_escape((checkpoints / file).string()) << "</td><td>"
           << format_significant(static_cast<double>(size) / 1e6, 3) << " MB</td><td>"
           << (file == latest ? "latest" : "") << "</td></tr>\n";
    }
    html << "</table>\n";
  }

  html << "<h2>Configuration</h2>\n<pre>" << html_escape(config_text) << "</pre>\n"
       << "<p>Written by <code>noisesched report</code> from " << html_escape(run.string())
       << ".</p>\n</body>\n</html>\n";
  write_file_atomically(out.string(), html.str());
  return out.string();
}

}  // namespace noisesched
