// noisesched/config/loss_weight.h: per-example loss weights over noise levels (torch-free).
//
// The training loss is the mean squared error on the network's target. Written as a weight on
// the error of the data ||x0_hat - x0||^2 (x0 before the input scale b; the network sees b x0),
// each target already weighs noise levels differently (snr = exp(logSNR), the effective logSNR
// with b):
//   eps: snr        x0: b^2        v: snr + b^2
// A loss weighting multiplies the per-example target error by w(snr), so that the x0-error
// weight becomes the weighting's:
//   none        w = 1 (the target's own weighting);
//   min_snr@G   x0-error weight min(snr, G): w = min(snr, G) / snr for eps, min(snr, G) / b^2
//               for x0, min(snr, G) / (snr + b^2) for v (b = 1 in T. Hang et al., "Efficient
//               Diffusion Training via Min-SNR Weighting Strategy", 2023, section 3.4; min_snr =
//               min_snr@5, the paper's default). It lowers the weight of the nearly clean levels,
//               which the target's own weighting makes dominate for eps and v.
#pragma once

#include <string>
#include <string_view>

#include "noisesched/config/enums.h"

namespace noisesched {

class LossWeighting {
 public:
  enum class Kind { kNone, kMinSnr };

  // Throws naming the text and the valid forms.
  static LossWeighting parse(std::string_view text);
  std::string to_string() const;

  // The multiplier of the per-example target error at effective logSNR `logsnr` (finite or
  // +-inf) with input scale `scale` (b > 0): finite and >= 0 everywhere.
  double weight(Target target, double logsnr, double scale = 1.0) const;

  Kind kind() const { return kind_; }
  double gamma() const { return gamma_; }

 private:
  Kind kind_ = Kind::kNone;
  double gamma_ = 5.0;
};

}  // namespace noisesched
