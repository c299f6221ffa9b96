// noisesched/schedule/input_scale.h: the input scaling factor b and variance normalisation.
//
// x_t = sqrt(gamma) b x0 + sqrt(1 - gamma) eps (Chen 2023, Algorithm 2). Scaling the data by b
// shifts the effective logSNR by 2 ln b at every t without changing the curve's shape. The
// resolution rule b = ref / res matches simple diffusion's shift 2 ln(ref / res).
#pragma once

#include "noisesched/common/names.h"

#include <optional>
#include <string>
#include <string_view>

namespace noisesched {

// A fixed b ("0.5") or the resolution rule ("auto:64" means b = 64 / resolution).
class InputScale {
 public:
  InputScale() = default;
  static InputScale fixed(double b);
  static InputScale automatic(double reference_resolution);

  // "B" (a number > 0) or "auto:REF" (REF > 0); throws naming the text and what is allowed.
  static InputScale parse(std::string_view text);
  // The canonical text: "0.5" or "auto:64"; parse(to_string()) round-trips.
  std::string to_string() const;

  bool is_automatic() const { return reference_.has_value(); }
  // b for images of `resolution` pixels on a side; resolution is needed only by "auto".
  double resolve(std::optional<double> resolution = std::nullopt) const;

  friend bool operator==(const InputScale& a, const InputScale& b) {
    return a.value_ == b.value_ && a.reference_ == b.reference_;
  }

 private:
  double value_ = 1.0;
  std::optional<double> reference_;
};

// The effective logSNR shift of input scale b: 2 ln b.
double logsnr_shift(double b);

// Effective logSNR ln(b^2 gamma / (1 - gamma)) = logsnr + 2 ln b.
double scaled_logsnr(double logsnr, double b);

// The analytic variance normaliser 1 / sqrt((b^2 - 1) gamma + 1): the standard deviation of x_t
// is sqrt(b^2 gamma + 1 - gamma) when x0 has unit variance.
double analytic_normalizer(double gamma, double b);

// How the noisy input is normalised before the network (and identically at sampling).
enum class Normalization {
  kEmpirical,  // divide x_t by its own standard deviation over (C, H, W) (the paper's default)
  kAnalytic,   // multiply by analytic_normalizer(gamma, b)
  kNone,
};

const NameTable<Normalization>& normalization_names_table();
Normalization parse_normalization(std::string_view text);
std::string to_string(Normalization mode);

}  // namespace noisesched
