// noisesched/diffusion/parameterization.h: the eps / x0 / v conversions, in one place.
//
// With a = sqrt(gamma), s = sqrt(1 - gamma) and z = a x0 + s eps (x0 already scaled by b):
//   eps target: x0_hat = (z - s eps_hat) / a
//   x0 target:  eps_hat = (z - a x0_hat) / s
//   v target:   v = a eps - s x0;  x0_hat = a z - s v_hat;  eps_hat = s z + a v_hat
// (SPEC section 5; Salimans & Ho 2022 for v). a and s broadcast against z: per-example
// [B, 1, 1, 1] tensors in training, plain numbers in sampling.
#pragma once

#include <ATen/core/Tensor.h>

#include "noisesched/config/enums.h"

namespace noisesched {

struct Prediction {
  at::Tensor x0;
  at::Tensor eps;
};

// What the network must output for this target.
at::Tensor target_value(Target target, const at::Tensor& x0, const at::Tensor& eps,
                        const at::Tensor& a, const at::Tensor& s);

// x0 and eps estimates from the network output.
Prediction prediction_from_output(Target target, const at::Tensor& output, const at::Tensor& z,
                                  const at::Tensor& a, const at::Tensor& s);
Prediction prediction_from_output(Target target, const at::Tensor& output, const at::Tensor& z,
                                  double a, double s);

// eps consistent with z and a given x0: (z - a x0) / s.
at::Tensor eps_from_x0(const at::Tensor& z, const at::Tensor& x0, double a, double s);

}  // namespace noisesched
