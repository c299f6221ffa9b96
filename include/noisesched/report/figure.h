// noisesched/report/figure.h: line figures rendered to PNG by matplotlib.
//
// The C++ side computes every number and describes the figure (panels of labelled series);
// a small matplotlib script compiled into the program draws it. The Python that runs it: when
// $NOISESCHED_PYTHON is set, that one and no other; otherwise the first python3 on PATH that has
// matplotlib, then /usr/bin/python3 (Debian's, where python3-matplotlib installs). When none
// has it, the error names each one tried and why it was passed over. The PNG is written to a
// temporary file and renamed, so a failed plot never replaces an earlier figure. (HTML pages
// draw the same Figure in the browser instead: html_figure.h.)
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

// The figure as the JSON document both renderers read (matplotlib's script for PNG files,
// figures.js in HTML reports): {"title", "columns", "panel_size", "legend", "panels": [{"title",
// "xlabel", "ylabel", "log_y", "xlim"?, "ylim"?, "image"?, "x"?, "series": [{"label", "style",
// "x"?, "y"}]}]}. Non-finite values are null (gaps). A panel whose series all have the same x
// values carries them once as its "x" (series then have none). `significant_digits` > 0 rounds
// every number to that many digits (smaller pages); 0 writes them exactly.
std::string figure_to_json(const Figure& figure, int significant_digits = 0);

// Draws `figure` into the PNG file `path`. Throws noisesched::Error naming the file, or, when no
// Python with matplotlib was found, every Python tried and the package to install.
void render_png(const Figure& figure, const std::string& path);

// For figures drawn on the side of a command's real work (the study's report, `sample`'s labelled
// grid): draws like render_png and returns "", or returns why it could not (the command goes on
// and warns). Errors in the figure itself (mismatched series) still throw.
std::string render_png_or_reason(const Figure& figure, const std::string& path);

// The Pythons render_png tries, in order: {$NOISESCHED_PYTHON} when it is set; otherwise every
// executable python3 in PATH's folders, then /usr/bin/python3 (once).
std::vector<std::string> plotting_pythons();

}  // namespace noisesched
