// The progress display (see progress.h).
#include "noisesched/common/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "noisesched/common/error.h"

namespace noisesched {

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof(text), "%ldh%02ldm", s / 3600, (s / 60) % 60);
  } else {
    std::snprintf(text, sizeof(text), "%ldm%02lds", s / 60, s % 60);
  }
  return text;
}

int terminal_width(int fd) {
  struct winsize size {};
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const int value = std::atoi(columns);
    if (value > 0) return value;
  }
  return 80;
}

std::string progress_line(const std::string& label, std::int64_t done, std::int64_t total,
                          const std::vector<ProgressField>& fields, int width) {
  const std::size_t room = static_cast<std::size_t>(std::max(width - 1, 1));
  const std::string head = label + " " + std::to_string(done) + "/" + std::to_string(total);
  if (head.size() >= room) return head.substr(0, room);
  // Fields by priority (stable: equal priorities keep their order) while they fit.
  std::vector<std::size_t> order(fields.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return fields[a].priority < fields[b].priority;
  });
  std::vector<bool> kept(fields.size(), false);
  std::size_t length = head.size();
  for (std::size_t i : order) {
    const std::size_t extra = 2 + fields[i].text.size();
    if (length + extra > room) break;  // strictly by priority: what is shown is what matters most
    kept[i] = true;
    length += extra;
  }
  std::string tail;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (kept[i]) tail += "  " + fields[i].text;
  }
  // A bar "[####......] " of 10 to 20 cells before done/total, when there is room for it.
  const std::size_t spare = room - length;
  std::string bar;
  if (spare >= 13 && total > 0) {
    const std::size_t cells = std::min<std::size_t>(20, spare - 3);
    const auto filled = static_cast<std::size_t>(
        static_cast<double>(cells) * std::clamp(static_cast<double>(done) / total, 0.0, 1.0));
    bar = "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "] ";
  }
  return label + " " + bar + std::to_string(done) + "/" + std::to_string(total) + tail;
}

Progress::Progress(std::string label, std::int64_t total, Mode mode, std::ostream& out,
                   std::function<int()> width)
    : label_(std::move(label)),
      total_(total),
      mode_(mode),
      out_(out),
      width_(std::move(width)),
      start_(std::chrono::steady_clock::now()) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double Progress::seconds_left(std::int64_t done) const {
  if (done <= 0) return std::nan("");
  return elapsed() / static_cast<double>(done) * static_cast<double>(total_ - done);
}

void Progress::update(std::int64_t done, const std::vector<ProgressField>& fields, bool log_line) {
  if (mode_ == Mode::kRedraw) {
    out_ << "\r\033[K" << progress_line(label_, done, total_, fields, width_());
    drawn_ = done < total_;
    if (!drawn_) out_ << "\n";
    out_ << std::flush;
    return;
  }
  if (!log_line) return;
  out_ << label_ << " " << done << "/" << total_;
  for (const auto& field : fields) out_ << "  " << field.text;
  out_ << "\n" << std::flush;
}

std::ostream& Progress::interrupt() {
  if (drawn_) out_ << "\r\033[K";
  drawn_ = false;
  return out_;
}

void Progress::end_line() {
  if (drawn_) out_ << "\n" << std::flush;
  drawn_ = false;
}

Progress::Mode progress_mode(const std::string& option) {
  if (option == "bar") return Progress::Mode::kRedraw;
  if (option == "lines") return Progress::Mode::kLines;
  if (option == "auto") return ::isatty(2) ? Progress::Mode::kRedraw : Progress::Mode::kLines;
  throw Error("--progress '" + option + "': expected auto, bar or lines");
}

}  // namespace noisesched
