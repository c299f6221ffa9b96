// Loss weightings over noise levels (see loss_weight.h).
#include "noisesched/config/loss_weight.h"

#include <algorithm>
#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {

LossWeighting LossWeighting::parse(std::string_view text_in) {
  const std::string text(trim(text_in));
  LossWeighting weighting;
  if (text == "none") {
    weighting.kind_ = Kind::kNone;
  } else if (text == "min_snr") {
    weighting.kind_ = Kind::kMinSnr;
  } else if (text.rfind("min_snr@", 0) == 0) {
    weighting.kind_ = Kind::kMinSnr;
    weighting.gamma_ = parse_double(text.substr(8), "loss weighting '" + text + "'");
    if (!(weighting.gamma_ > 0) || !std::isfinite(weighting.gamma_)) {
      throw Error("loss weighting '" + text + "': G must be a finite number > 0");
    }
  } else {
    throw Error("loss weighting '" + text +
                "' is not known; valid: none, min_snr (= min_snr@5), min_snr@G (G > 0)");
  }
  return weighting;
}

std::string LossWeighting::to_string() const {
  switch (kind_) {
    case Kind::kNone:
      return "none";
    case Kind::kMinSnr:
      return "min_snr@" + format_exact(gamma_);
  }
  return "none";
}

double LossWeighting::weight(Target target, double logsnr, double scale) const {
  if (kind_ == Kind::kNone) return 1.0;
  // min(snr, G) / target_weight(snr), written to stay finite at logSNR = +-inf: with
  // ratio = min(snr, G) / snr = min(1, exp(log G - logSNR)).
  const double log_gamma = std::log(gamma_);
  const double ratio = logsnr >= log_gamma ? std::exp(log_gamma - logsnr) : 1.0;
  switch (target) {
    case Target::kEps:
      return ratio;
    case Target::kX0: {
      const double min_snr = logsnr >= log_gamma ? gamma_ : std::min(std::exp(logsnr), gamma_);
      return min_snr / (scale * scale);
    }
    case Target::kV: {
      // min(snr, G) / (snr + b^2) = ratio * snr / (snr + b^2) = ratio * sigmoid(logSNR - 2 ln b).
      const double u = logsnr - 2.0 * std::log(scale);
      return ratio * (u >= 0 ? 1.0 / (1.0 + std::exp(-u)) : std::exp(u) / (1.0 + std::exp(u)));
    }
  }
  return 1.0;
}

}  // namespace noisesched
