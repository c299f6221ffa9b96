// noisesched/common/progress.h: one progress display for every long operation (torch-free).
//
// On a terminal, one line redrawn in place ("\r", clear to the end of line) that always fits the
// terminal's width: the width is queried at every redraw, so a resized window is followed. The
// line holds what a user needs first (the label, a bar when there is room, done/total, and the
// fields in their priority order: e.g. loss, time left, throughput) and drops the fields of
// lowest priority when narrow. Elsewhere (CI, a file, a pipe) plain log lines with every field,
// at the moments the caller chooses.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace noisesched {

// "4m05s" or "1h02m"; "?" for a negative or non-finite time.
std::string duration_text(double seconds);

// The column count of the terminal on `fd` (ioctl TIOCGWINSZ), else $COLUMNS, else 80.
int terminal_width(int fd);

struct ProgressField {
  std::string text;  // e.g. "loss 0.0812"
  int priority = 0;  // smaller: more important, kept longer when the line is narrow
};

// The redrawn line for `width` columns: at most width - 1 characters (a line that reaches the last
// column makes some terminals wrap). The label and done/total are always kept (cut only when the
// width cannot even hold them); then fields by priority, shown in the order given; then a bar of
// 10 to 20 cells in the room left.
std::string progress_line(const std::string& label, std::int64_t done, std::int64_t total,
                          const std::vector<ProgressField>& fields, int width);

class Progress {
 public:
  enum class Mode { kRedraw, kLines };

  // `width` is asked at every redraw (default: the terminal on stderr).
  Progress(
      std::string label, std::int64_t total, Mode mode, std::ostream& out,
      std::function<int()> width = [] { return terminal_width(2); });

  // Redraws the line (kRedraw) with `fields`; in kLines mode prints a full line only when
  // `log_line` is true. `done` == total ends the redrawn line with a newline.
  void update(std::int64_t done, const std::vector<ProgressField>& fields, bool log_line);

  // Seconds since construction, and the time left at the average rate so far (NaN before the
  // first unit of work).
  double elapsed() const;
  double seconds_left(std::int64_t done) const;

  // Clears the redrawn line so that a log line can be printed; the next update redraws it.
  std::ostream& interrupt();
  // Keeps the redrawn line on the screen and moves below it (an operation that stops early).
  void end_line();

  Mode mode() const { return mode_; }

 private:
  std::string label_;
  std::int64_t total_;
  Mode mode_;
  std::ostream& out_;
  std::function<int()> width_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

// The mode a --progress option (auto | bar | lines) selects; auto: redraw when stderr is a
// terminal.
Progress::Mode progress_mode(const std::string& option);

}  // namespace noisesched
