// Input scaling factor b (see input_scale.h).
#include "noisesched/schedule/input_scale.h"

#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {

InputScale InputScale::fixed(double b) {
  if (!(b > 0) || !std::isfinite(b)) {
    throw Error("input scale b must be a finite number > 0 (got " + format_exact(b) + ")");
  }
  InputScale scale;
  scale.value_ = b;
  return scale;
}

InputScale InputScale::automatic(double reference_resolution) {
  if (!(reference_resolution > 0) || !std::isfinite(reference_resolution)) {
    throw Error("input scale auto:REF needs REF > 0 (got " + format_exact(reference_resolution) +
                ")");
  }
  InputScale scale;
  scale.reference_ = reference_resolution;
  return scale;
}

InputScale InputScale::parse(std::string_view text_in) {
  const std::string_view text = trim(text_in);
  const std::string quoted = "input scale '" + std::string(text) + "'";
  try {
    if (text.substr(0, 5) == "auto:") {
      return automatic(parse_double(text.substr(5), "REF"));
    }
    if (text == "auto") throw Error("give the reference resolution, as in auto:64");
    return fixed(parse_double(text, "b"));
  } catch (const Error& e) {
    throw Error(quoted + ": " + e.what() +
                "; expected a number > 0 (b) or auto:REF (b = REF / resolution)");
  }
}

std::string InputScale::to_string() const {
  return reference_ ? "auto:" + format_exact(*reference_) : format_exact(value_);
}

double InputScale::resolve(std::optional<double> resolution) const {
  if (!reference_) return value_;
  if (!resolution) {
    throw Error("input scale " + to_string() +
                " needs the image resolution (b = " + format_exact(*reference_) + " / resolution)");
  }
  if (!(*resolution > 0)) {
    throw Error("resolution must be > 0 (got " + format_exact(*resolution) + ")");
  }
  return *reference_ / *resolution;
}

double logsnr_shift(double b) { return 2.0 * std::log(b); }

double scaled_logsnr(double logsnr, double b) { return logsnr + logsnr_shift(b); }

double analytic_normalizer(double gamma, double b) {
  return 1.0 / std::sqrt((b * b - 1.0) * gamma + 1.0);
}

const NameTable<Normalization>& normalization_names_table() {
  static const NameTable<Normalization> table(
      "normalization",
      {{Normalization::kEmpirical, "empirical", "divide x_t by its own standard deviation"},
       {Normalization::kAnalytic, "analytic", "multiply by 1 / sqrt((b^2 - 1) gamma + 1)"},
       {Normalization::kNone, "none", "feed x_t as it is"}});
  return table;
}

Normalization parse_normalization(std::string_view text) {
  return normalization_names_table().parse(trim(text));
}

std::string to_string(Normalization mode) { return normalization_names_table().name(mode); }

}  // namespace noisesched
