// noisesched/report/run_report.h: one HTML page that shows a training run at a glance (torch-free).
//
// `noisesched report RUN_DIR` writes RUN_DIR/report.html; `train` writes it at its end and
// refreshes it at checkpoints (train.report). The page is one self-contained file, readable
// offline, and writing it runs no other program (no Python): its charts are drawn by the browser
// from the run's numbers embedded in the page (report/html_figure.h: uPlot, inlined, with values
// on hover and zoom), the sample grids are PNGs embedded as data URIs. Sections: a summary (steps,
// training time, last loss, last evaluation); the training schedule (gamma(t), logSNR(t) with b,
// and the density of the noise levels trained on); loss, loss by logSNR band, learning rate,
// gradient norm and images/s over steps; every evaluation metric over steps and over training
// minutes; the sample grids over training; the checkpoints; the configuration.
#pragma once

#include <string>

namespace noisesched {

// Writes <run_dir>/report.html (or `out`), atomically; returns its path. Throws naming the file
// when the run folder has no config.toml, or a file in it cannot be read.
std::string write_run_report(const std::string& run_dir, const std::string& out = "");

// RFC 4648 base64 of `bytes` (for data URIs).
std::string base64(const std::string& bytes);

}  // namespace noisesched
