// noisesched/config/lr_schedule.h: learning rate over training (torch-free).
//
// Linear warm-up from 0 to the peak over `warmup` steps, then one of
//   constant        the peak;
//   linear          down to 0 at the last step;
//   cosine          0.5 (1 + cos(pi p)) with p = (step - warmup) / (total - warmup);
//   cosine@F        the official code's form: the cosine decays over (total - warmup) / F steps,
//                   so with F < 1 the rate does not reach 0 (cosine = cosine@1).
#pragma once

#include <string>
#include <string_view>

namespace noisesched {

class LrSchedule {
 public:
  enum class Kind { kConstant, kLinear, kCosine };

  // Throws naming the text and the valid forms.
  static LrSchedule parse(std::string_view text);
  std::string to_string() const;

  // Multiplier of the peak rate for the optimizer step `step` (0-based) of `total` steps.
  // Warm-up gives (step + 1) / warmup, so the first step already moves the weights.
  double factor(long long step, long long warmup, long long total) const;

  Kind kind() const { return kind_; }
  double cosine_fraction() const { return fraction_; }

 private:
  Kind kind_ = Kind::kCosine;
  double fraction_ = 1.0;
};

}  // namespace noisesched
