// eps / x0 / v conversions (see parameterization.h).
#include "noisesched/diffusion/parameterization.h"

#include <ATen/ATen.h>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

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

Target parse_target(std::string_view text) {
  const std::string_view name = trim(text);
  if (name == "eps") return Target::kEps;
  if (name == "x0") return Target::kX0;
  if (name == "v") return Target::kV;
  throw Error("target '" + std::string(name) + "' is not known; valid: eps, x0, v");
}

std::string to_string(Target target) {
  switch (target) {
    case Target::kEps:
      return "eps";
    case Target::kX0:
      return "x0";
    case Target::kV:
      return "v";
  }
  return "eps";
}

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
