// noisesched/report/html_figure.h: figures drawn by the browser, for HTML pages (torch-free).
//
// The same Figure that render_png draws with matplotlib, drawn instead by the page that shows it:
// its numbers go into the page as JSON (figure_to_json), and uPlot 1.6.32 (third_party/uplot,
// MIT) with a small renderer (src/report/figures.js) draws one chart per panel, with the values
// under the cursor and zoom. Both scripts are compiled into the program and inlined, so a page
// stays one file that opens offline, and drawing needs no Python.
#pragma once

#include <string>

#include "noisesched/report/figure.h"

namespace noisesched {

// The version of the inlined uPlot.
inline constexpr const char* kUplotVersion = "1.6.32";

// What a page's <head> needs once before any html_figure: uPlot's stylesheet and the page's chart
// styles, uPlot (with its licence) and the renderer.
std::string html_chart_head();

// A placeholder <div> and the figure's numbers (rounded to `significant_digits`; 0 = exact).
// Throws naming the figure when a panel is an image (pages show images with <img>) or a series'
// x and y differ in length.
std::string html_figure(const Figure& figure, int significant_digits = 6);

}  // namespace noisesched
