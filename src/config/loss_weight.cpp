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

double LossWeighting::weight(Target target, double logsnr) const {
  if (kind_ == Kind::kNone) return 1.0;
  // min(snr, G) / target_weight(snr), written to stay finite at logSNR = +-inf: with
  // r = min(snr, G) / snr = min(1, G / snr) = min(1, exp(log G - logSNR)).
  const double log_gamma = std::log(gamma_);
  const double ratio = logsnr >= log_gamma ? std::exp(log_gamma - logsnr) : 1.0;  // min(snr,G)/snr
  switch (target) {
    case Target::kEps:
      return ratio;
    case Target::kX0:
      return logsnr >= log_gamma ? gamma_ : std::min(std::exp(logsnr), gamma_);  // min(snr, G)
    case Target::kV:
      // min(snr, G) / (snr + 1) = ratio * snr / (snr + 1) = ratio * sigmoid(logSNR).
      return ratio * (logsnr >= 0 ? 1.0 / (1.0 + std::exp(-logsnr))
                                  : std::exp(logsnr) / (1.0 + std::exp(logsnr)));
  }
  return 1.0;
}

}  // namespace noisesched
