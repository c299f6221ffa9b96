// The progress display of image generation, shared by `sample` and `eval`.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "commands.h"
#include "noisesched/common/progress.h"

namespace noisesched::cli {

namespace {

// A progress callback for `label`, created at its first call (when the total is known), so its
// clock starts after the first `done` units: rates and the time left are measured over the units
// done since (none at the first call: "?"). `extra` adds fields from (units per second, done,
// total); a log line at every tenth when not redrawing.
std::function<void(std::int64_t, std::int64_t)> progress_callback(
    const std::string& label, const std::string& option,
    std::function<std::vector<ProgressField>(double, std::int64_t, std::int64_t)> extra) {
  const Progress::Mode mode = progress_mode(option);
  auto progress = std::make_shared<std::optional<Progress>>();
  auto first_done = std::make_shared<std::int64_t>(0);
  auto last_tenth = std::make_shared<std::int64_t>(-1);
  return [=](std::int64_t done, std::int64_t total) {
    if (!*progress) {
      progress->emplace(label, total, mode, std::cerr);
      *first_done = done;
    }
    Progress& p = **progress;
    const std::int64_t tenth = total > 0 ? done * 10 / total : 10;
    const bool log_line = tenth != *last_tenth;
    *last_tenth = tenth;
    const double seconds = p.elapsed();
    const double per_second = done > *first_done && seconds > 0
                                  ? static_cast<double>(done - *first_done) / seconds
                                  : std::nan("");
    std::vector<ProgressField> fields =
        extra ? extra(per_second, done, total) : std::vector<ProgressField>{};
    fields.push_back({"left " + duration_text(static_cast<double>(total - done) / per_second), 1});
    p.update(done, fields, log_line);
  };
}

}  // namespace

std::function<void(std::int64_t, std::int64_t)> sampling_progress(const std::string& option,
                                                                  std::int64_t images) {
  // The rate in finished-image equivalents: evaluations per second x images / evaluations.
  return progress_callback(
      "sampling", option, [images](double per_second, std::int64_t, std::int64_t total) {
        const double rate = per_second * static_cast<double>(images) /
                            static_cast<double>(std::max<std::int64_t>(total, 1));
        char text[64] = "? img/s";
        if (std::isfinite(rate)) std::snprintf(text, sizeof(text), "%.1f img/s", rate);
        return std::vector<ProgressField>{{"network evaluations", 3}, {text, 2}};
      });
}

std::function<void(std::int64_t, std::int64_t)> counting_progress(const std::string& label,
                                                                  const std::string& option) {
  return progress_callback(label, option, nullptr);
}

}  // namespace noisesched::cli
