// Figures rendered to PNG by matplotlib (see figure.h).
#include "noisesched/report/figure.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/process.h"
#include "render_script.h"

namespace noisesched {
namespace {

// NOISESCHED_PYTHON when it is set and not empty (the one Python figures are drawn with), else
// null.
const char* chosen_python() {
  const char* chosen = std::getenv("NOISESCHED_PYTHON");
  return chosen != nullptr && *chosen != '\0' ? chosen : nullptr;
}

// Non-finite values become null (a gap). With `digits` > 0 each value that is not a whole number
// is first rounded to that many significant digits, so its shortest printed form is at most that
// long; whole numbers (steps) stay exact, however large.
nlohmann::json numbers(const std::vector<double>& values, int digits) {
  auto out = nlohmann::json::array();
  for (double v : values) {
    if (!std::isfinite(v)) {
      out.push_back(nullptr);
    } else if (digits > 0 && v != std::floor(v)) {
      char text[40];
      std::snprintf(text, sizeof(text), "%.*g", digits, v);
      out.push_back(std::strtod(text, nullptr));
    } else {
      out.push_back(v);
    }
  }
  return out;
}

// A private folder for the renderer's input files, removed when it goes out of scope.
class ScratchFolder {
 public:
  ScratchFolder() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "noisesched-plot-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw Error("cannot create a temporary folder for plotting under " +
                  std::filesystem::temp_directory_path().string());
    }
    path_ = pattern;
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::vector<std::string> plotting_pythons() {
  if (const char* chosen = chosen_python()) return {chosen};
  std::vector<std::string> out = executables_on_path("python3");
  if (std::find(out.begin(), out.end(), "/usr/bin/python3") == out.end()) {
    out.push_back("/usr/bin/python3");
  }
  return out;
}

std::string figure_to_json(const Figure& figure, int significant_digits) {
  nlohmann::json doc;
  doc["title"] = figure.title;
  doc["columns"] = figure.columns;
  doc["panel_size"] = {figure.panel_size.first, figure.panel_size.second};
  doc["legend"] = figure.legend == LegendPlacement::kFigure  ? "figure"
                  : figure.legend == LegendPlacement::kPanel ? "panel"
                                                             : "none";
  doc["panels"] = nlohmann::json::array();
  for (const auto& panel : figure.panels) {
    nlohmann::json p;
    p["title"] = panel.title;
    p["xlabel"] = panel.xlabel;
    p["ylabel"] = panel.ylabel;
    p["log_y"] = panel.log_y;
    if (!panel.image.empty()) p["image"] = panel.image;
    if (panel.xlim) p["xlim"] = {panel.xlim->first, panel.xlim->second};
    if (panel.ylim) p["ylim"] = {panel.ylim->first, panel.ylim->second};
    // x values every series of the panel shares are written once, as the panel's "x".
    const bool shared_x =
        panel.series.size() > 1 &&
        std::all_of(panel.series.begin(), panel.series.end(),
                    [&](const Series& s) { return s.x == panel.series.front().x; });
    if (shared_x) p["x"] = numbers(panel.series.front().x, significant_digits);
    p["series"] = nlohmann::json::array();
    for (const auto& series : panel.series) {
      if (series.x.size() != series.y.size()) {
        throw Error("figure '" + figure.title + "': series '" + series.label + "' has " +
                    std::to_string(series.x.size()) + " x values but " +
                    std::to_string(series.y.size()) + " y values");
      }
      nlohmann::json s = {{"label", series.label}, {"style", series.style}};
      if (!shared_x) s["x"] = numbers(series.x, significant_digits);
      s["y"] = numbers(series.y, significant_digits);
      p["series"].push_back(std::move(s));
    }
    doc["panels"].push_back(std::move(p));
  }
  return doc.dump();
}

namespace {

// Thrown by render_png when the figure is fine but no Python drew it (none found, none with
// matplotlib, or it failed); render_png_or_reason turns it into a reason.
class DrawingFailed : public Error {
 public:
  using Error::Error;
};

}  // namespace

void render_png(const Figure& figure, const std::string& path) {
  if (figure.panels.empty()) throw Error("figure '" + figure.title + "' has no panels");
  for (const auto& panel : figure.panels) {
    if (!panel.image.empty() && !std::filesystem::is_regular_file(panel.image)) {
      throw Error("figure '" + figure.title + "': image '" + panel.image + "' does not exist");
    }
  }
  const std::string json = figure_to_json(figure);
  const auto folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) create_directories(folder.string());

  ScratchFolder scratch;
  const std::string script = scratch.path() + "/render_figure.py";
  const std::string spec = scratch.path() + "/figure.json";
  write_file_atomically(script, detail::kRenderFigureScript);
  write_file_atomically(spec, json);

  // The first Python that has matplotlib draws (the script exits 3 without it, before drawing).
  const bool chosen = chosen_python() != nullptr;
  const std::string temporary = temporary_path_for(path);
  std::string tried;
  bool drawn = false;
  for (const std::string& python : plotting_pythons()) {
    std::string outcome;
    int status = -1;
    if (::access(python.c_str(), X_OK) != 0 && python.find('/') != std::string::npos) {
      outcome = "not found";
    } else {
      try {
        status = run_process({python, script, spec, temporary});
      } catch (const Error& e) {
        outcome = "cannot be run: " + std::string(e.what());
      }
    }
    if (status == 0) {
      drawn = true;
      break;
    }
    std::remove(temporary.c_str());
    if (status == 3) outcome = "no matplotlib";
    if (outcome.empty()) {  // it has matplotlib and failed drawing: no other Python would do better
      throw DrawingFailed("cannot draw '" + path + "': " + python + " exited with status " +
                          std::to_string(status) + " (its message is above)");
    }
    tried += (tried.empty() ? "" : ", ") + python + " (" + outcome + ")";
  }
  if (!drawn) {
    throw DrawingFailed(
        "cannot draw '" + path + "': " +
        (chosen ? "NOISESCHED_PYTHON=" + tried +
                      ". Set NOISESCHED_PYTHON to a Python that has matplotlib (Debian's "
                      "python3-matplotlib gives /usr/bin/python3 one), or unset it to use the "
                      "first python3 on PATH that has it, then /usr/bin/python3"
                : "no Python with matplotlib; tried " + tried +
                      ". Install Debian's python3-matplotlib (scripts/install-deps.sh does), or "
                      "set NOISESCHED_PYTHON to a Python that has it"));
  }
  commit_file(temporary, path);
}

std::string render_png_or_reason(const Figure& figure, const std::string& path) {
  try {
    render_png(figure, path);
    return "";
  } catch (const DrawingFailed& e) {
    return e.what();
  }
}

}  // namespace noisesched
