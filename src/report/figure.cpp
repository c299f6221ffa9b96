// Figures rendered by matplotlib (see figure.h).
#include "noisesched/report/figure.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/process.h"
#include "render_script.h"

namespace noisesched {
namespace {

nlohmann::json numbers(const std::vector<double>& values) {
  auto out = nlohmann::json::array();
  for (double v : values) {
    if (std::isfinite(v)) {
      out.push_back(v);
    } else {
      out.push_back(nullptr);
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

std::string plotting_python() {
  if (const char* chosen = std::getenv("NOISESCHED_PYTHON"); chosen != nullptr && *chosen) {
    return chosen;
  }
  if (program_exists("/usr/bin/python3")) return "/usr/bin/python3";
  return "python3";
}

std::string figure_to_json(const Figure& figure) {
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
    p["series"] = nlohmann::json::array();
    for (const auto& series : panel.series) {
      if (series.x.size() != series.y.size()) {
        throw Error("figure '" + figure.title + "': series '" + series.label + "' has " +
                    std::to_string(series.x.size()) + " x values but " +
                    std::to_string(series.y.size()) + " y values");
      }
      p["series"].push_back({{"label", series.label},
                             {"style", series.style},
                             {"x", numbers(series.x)},
                             {"y", numbers(series.y)}});
    }
    doc["panels"].push_back(std::move(p));
  }
  return doc.dump();
}

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

  const std::string python = plotting_python();
  const std::string temporary = temporary_path_for(path);
  const int status = run_process({python, script, spec, temporary});
  if (status != 0) {
    std::remove(temporary.c_str());
    if (status == 3) {
      throw Error(
          "cannot draw '" + path + "': " + python +
          " has no matplotlib; install Debian's python3-matplotlib "
          "(scripts/install-deps.sh does) or set NOISESCHED_PYTHON to a Python that has it");
    }
    throw Error("cannot draw '" + path + "': " + python + " exited with status " +
                std::to_string(status) + " (its message is above)");
  }
  commit_file(temporary, path);
}

}  // namespace noisesched
