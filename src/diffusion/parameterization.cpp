// eps / x0 / v conversions (see parameterization.h).
#include "noisesched/diffusion/parameterization.h"

#include <ATen/ATen.h>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

template <class A>
Prediction convert(Target target, const at::Tensor& output, const at::Tensor& z, const A& a,
                   const A& s) {
  switch (target) {
    case Target::kEps:
      return {(z - s * output) / a, output};
    case Target::kX0:
      return {output, (z - a * output) / s};
    case Target::kV:
      return {a * z - s * output, s * z + a * output};
  }
  throw Error("unknown target");
}

}  // namespace

at::Tensor target_value(Target target, const at::Tensor& x0, const at::Tensor& eps,
                        const at::Tensor& a, const at::Tensor& s) {
  switch (target) {
    case Target::kEps:
      return eps;
    case Target::kX0:
      return x0;
    case Target::kV:
      return a * eps - s * x0;
  }
  throw Error("unknown target");
}

Prediction prediction_from_output(Target target, const at::Tensor& output, const at::Tensor& z,
                                  const at::Tensor& a, const at::Tensor& s) {
  return convert(target, output, z, a, s);
}

Prediction prediction_from_output(Target target, const at::Tensor& output, const at::Tensor& z,
                                  double a, double s) {
  return convert(target, output, z, a, s);
}

at::Tensor eps_from_x0(const at::Tensor& z, const at::Tensor& x0, double a, double s) {
  return (z - a * x0) / s;
}

}  // namespace noisesched
