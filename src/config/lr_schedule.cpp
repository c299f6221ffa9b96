// Learning-rate schedules (see lr_schedule.h).
#include "noisesched/config/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {

LrSchedule LrSchedule::parse(std::string_view text_in) {
  const std::string text(trim(text_in));
  LrSchedule schedule;
  if (text == "constant") {
    schedule.kind_ = Kind::kConstant;
  } else if (text == "linear") {
    schedule.kind_ = Kind::kLinear;
  } else if (text == "cosine") {
    schedule.kind_ = Kind::kCosine;
  } else if (text.rfind("cosine@", 0) == 0) {
    schedule.kind_ = Kind::kCosine;
    schedule.fraction_ = parse_double(text.substr(7), "learning-rate schedule '" + text + "'");
    if (!(schedule.fraction_ > 0)) {
      throw Error("learning-rate schedule '" + text + "': F must be > 0");
    }
  } else {
    throw Error("learning-rate schedule '" + text +
                "' is not known; valid: constant, linear, cosine, cosine@F (F > 0)");
  }
  return schedule;
}

std::string LrSchedule::to_string() const {
  switch (kind_) {
    case Kind::kConstant:
      return "constant";
    case Kind::kLinear:
      return "linear";
    case Kind::kCosine:
      return fraction_ == 1.0 ? "cosine" : "cosine@" + format_exact(fraction_);
  }
  return "cosine";
}

double LrSchedule::factor(long long step, long long warmup, long long total) const {
  if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double decay_steps = static_cast<double>(std::max(1LL, total - warmup));
  const double progress = static_cast<double>(step - warmup) / decay_steps;
  switch (kind_) {
    case Kind::kConstant:
      return 1.0;
    case Kind::kLinear:
      return std::max(0.0, 1.0 - progress);
    case Kind::kCosine: {
      const double p = std::min(1.0, progress * fraction_);
      return 0.5 * (1.0 + std::cos(3.14159265358979323846 * p));
    }
  }
  return 1.0;
}

}  // namespace noisesched
