// noisesched/report/figure.h: line figures rendered to PNG by matplotlib.
//
// The C++ side computes every number and describes the figure (panels of labelled series);
// a small matplotlib script compiled into the program draws it. The Python used is
// $NOISESCHED_PYTHON, else /usr/bin/python3 (Debian's, where python3-matplotlib installs),
// else python3 from PATH. The PNG is written to a temporary file and renamed, so a failed plot
// never replaces an earlier figure.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace noisesched {

struct Series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;    // non-finite values are drawn as gaps
  std::string style = "-";  // matplotlib format string: "-", "--", ":", "o-", ...
};

struct Panel {
  std::string title;
  std::string xlabel;
  std::string ylabel;
  std::vector<Series> series;
  std::optional<std::pair<double, double>> xlim;
  std::optional<std::pair<double, double>> ylim;
  bool log_y = false;
  std::string image;  // a PNG file to show instead of series (axes hidden)
};

enum class LegendPlacement { kFigure, kPanel, kNone };

struct Figure {
  std::string title;
  std::vector<Panel> panels;
  int columns = 3;
  std::pair<double, double> panel_size{5.0, 3.8};     // inches
  LegendPlacement legend = LegendPlacement::kFigure;  // kFigure: one legend from the first panel
};

// The figure as the JSON document the renderer reads.
std::string figure_to_json(const Figure& figure);

// Draws `figure` into the PNG file `path`. Throws noisesched::Error naming the file, or the
// package to install when matplotlib is missing.
void render_png(const Figure& figure, const std::string& path);

// The Python interpreter render_png uses.
std::string plotting_python();

}  // namespace noisesched
