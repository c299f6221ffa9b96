// The Python module's compiled half, `noisesched._core` (python/noisesched/__init__.py is the
// public API over it; docs/python.md). Everything here is a thin call into the libraries the
// program uses: the schedules and the forward process, the sampler plans and the one sampler loop,
// trained checkpoints, and the advisor. torch tensors cross as at::Tensor without copies (torch's
// own pybind11 casters); noisesched::Error is raised as noisesched.Error (a ValueError).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/utils/pybind.h>
#include <torch/torch.h>

#include <cmath>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"
#include "noisesched/config/config.h"
#include "noisesched/config/enums.h"
#include "noisesched/core/generators.h"
#include "noisesched/data/dataset.h"
#include "noisesched/diffusion/parameterization.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/report/schedule_report.h"
#include "noisesched/sampling/generate.h"
#include "noisesched/sampling/sampler.h"
#include "noisesched/sampling/trained_model.h"
#include "noisesched/schedule/inference_recipe.h"
#include "noisesched/schedule/input_scale.h"
#include "noisesched/schedule/schedule.h"
#include "noisesched/study/advisor.h"
#include "noisesched/train/engine.h"

namespace py = pybind11;

namespace noisesched {
namespace {

// The part of a diffusion setup a Python Schedule carries: the schedule, b (as written and
// resolved) and the normalisation. Target and self-conditioning belong to a model.
struct PySetup {
  DiffusionSetup setup;
  InputScale input_scale;
  std::optional<double> resolution;  // what "auto:REF" was resolved for, when given
};

PySetup make_setup(const std::string& spec, const py::object& scale,
                   const std::string& normalization, const py::object& resolution) {
  PySetup out;
  out.setup.train_schedule = Schedule::parse(spec);
  if (py::isinstance<py::str>(scale)) {
    out.input_scale = InputScale::parse(scale.cast<std::string>());
  } else {
    if (py::isinstance<py::bool_>(scale) ||
        !(py::isinstance<py::int_>(scale) || py::isinstance<py::float_>(scale))) {
      throw Error("scale must be a number > 0 or \"auto:REF\" (got " +
                  py::repr(scale).cast<std::string>() + ")");
    }
    const double b = scale.cast<double>();
    if (!(b > 0) || !std::isfinite(b)) {
      throw Error("scale must be a finite number > 0 or \"auto:REF\" (got " +
                  py::repr(scale).cast<std::string>() + ")");
    }
    out.input_scale = InputScale::fixed(b);
  }
  if (out.input_scale.is_automatic() && resolution.is_none()) {
    throw Error("scale \"" + out.input_scale.to_string() +
                "\" is b = REF / resolution: pass resolution=");
  }
  if (!resolution.is_none()) {
    if (py::isinstance<py::bool_>(resolution) || !py::isinstance<py::int_>(resolution) ||
        resolution.cast<long long>() < 1) {
      throw Error("resolution must be a whole number of pixels >= 1 (got " +
                  py::repr(resolution).cast<std::string>() + ")");
    }
    out.resolution = resolution.cast<double>();
  }
  out.setup.scale = out.input_scale.resolve(out.resolution);
  out.setup.normalization = parse_normalization(normalization);
  return out;
}

std::vector<Variances> variances_at(const Schedule& schedule, const std::vector<double>& t) {
  std::vector<Variances> v;
  v.reserve(t.size());
  for (double ti : t) v.push_back(schedule.variances(ti));
  return v;
}

// sqrt(gamma) and sqrt(1 - gamma) of each example as [B, 1, 1, 1] tensors like `like`.
std::pair<at::Tensor, at::Tensor> scales_of(const std::vector<Variances>& v,
                                            const at::Tensor& like) {
  std::vector<double> a, s;
  for (const Variances& vi : v) {
    a.push_back(std::sqrt(vi.gamma));
    s.push_back(std::sqrt(vi.one_minus));
  }
  return {per_example(a, like), per_example(s, like)};
}

void check_batch(const at::Tensor& x, std::size_t count, const char* what) {
  if (x.dim() < 1 || static_cast<std::size_t>(x.size(0)) != count) {
    throw Error(std::string(what) + ": " + std::to_string(count) +
                " noise levels for a tensor of shape " + c10::str(x.sizes()) +
                " (one per example along the first dimension)");
  }
}

void check_same_shape(const at::Tensor& a, const char* a_name, const at::Tensor& b,
                      const char* b_name, const char* what) {
  if (a.sizes() != b.sizes()) {
    throw Error(std::string(what) + ": " + a_name + " of shape " + c10::str(a.sizes()) + " for " +
                b_name + " of shape " + c10::str(b.sizes()) + " (they must match)");
  }
}

// Estimates from a network output, with eps = 0 where 1 - gamma = 0 (t = 0: z is x0 itself, and
// eps is not determined by it), as predict() does at sampling.
Prediction estimates_of(Target target, const at::Tensor& output, const at::Tensor& z,
                        const at::Tensor& a, const at::Tensor& s) {
  Prediction p = prediction_from_output(target, output, z, a, s);
  p.eps = at::where(s > 0, p.eps, at::zeros_like(p.eps));
  return p;
}

// A Python callable model(x, noise_level, labels[, self_cond]) -> target, as a Denoiser, so that
// predict() (normalisation, guidance, conversions, clipping, self-conditioning) and the sampler
// loop treat it exactly like a trained network. Its self-conditioning signal is the previous x0
// estimate (as the U-Net's).
class PythonDenoiser final : public DenoiserImpl {
 public:
  PythonDenoiser(py::object fn, int channels, int resolution, int num_classes, bool self_condition)
      : DenoiserImpl(channels, resolution, num_classes),
        fn_(std::move(fn)),
        self_condition_(self_condition) {}

  DenoiserOutput forward(const DenoiserInput& input) override {
    py::gil_scoped_acquire gil;
    py::object out;
    if (self_condition_) {
      const at::Tensor previous =
          input.self_cond.defined() ? input.self_cond : at::zeros_like(input.x);
      out = fn_(input.x, input.noise_level, input.labels, previous);
    } else {
      out = fn_(input.x, input.noise_level, input.labels);
    }
    if (!THPVariable_Check(out.ptr())) {
      throw Error("the model returned " + py::str(py::type::of(out)).cast<std::string>() +
                  "; it must return a torch.Tensor shaped like its input " +
                  c10::str(input.x.sizes()));
    }
    at::Tensor prediction = THPVariable_Unpack(out.ptr());
    if (prediction.sizes() != input.x.sizes()) {
      throw Error("the model returned a tensor of shape " + c10::str(prediction.sizes()) +
                  " for an input of shape " + c10::str(input.x.sizes()) +
                  "; it must return the trained target, shaped like its input");
    }
    return {prediction.to(input.x.scalar_type()), {}};
  }
  at::Tensor self_condition_signal(const DenoiserOutput&, const at::Tensor& x0) const override {
    return x0;
  }
  double forward_flops_per_example() const override { return 0; }
  std::string describe() const override { return "a Python callable"; }

 private:
  py::object fn_;
  bool self_condition_;
};

// f applied to every element of a float64 array of any shape (0-d included), in the same shape.
template <typename F>
py::array_t<double> map_array(
    const py::array_t<double, py::array::c_style | py::array::forcecast>& in, F f) {
  py::array_t<double> out(std::vector<py::ssize_t>(in.shape(), in.shape() + in.ndim()));
  const double* src = in.data();
  double* dst = out.mutable_data();
  for (py::ssize_t i = 0; i < in.size(); ++i) dst[i] = f(src[i]);
  return out;
}
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

struct PyModel {
  TrainedModel trained;
};

// The sampler: x0 / b of every image, [N, C, H, W] float on `device`. With a seed, the starting
// noise and step noise are the CLI's (`noisesched sample --seed`); else z_start is the starting
// noise and step_seed seeds the step noise.
at::Tensor sample(const Denoiser& model, const DiffusionSetup& setup, bool class_conditional,
                  const std::string& recipe_text, const std::vector<std::int64_t>& labels,
                  const py::object& z_start, std::uint64_t step_seed, const py::object& seed,
                  int batch_size, const std::string& device_name) {
  const InferenceRecipe recipe = InferenceRecipe::parse(recipe_text);
  const c10::Device device = parse_device(device_name);
  for (const std::int64_t label : labels) {
    if (label < 0 || label > model->num_classes()) {
      throw Error("class " + std::to_string(label) + " is outside [0, " +
                  std::to_string(model->num_classes()) + "] (" +
                  std::to_string(model->num_classes()) + " means no class)");
    }
  }
  if (recipe.guidance != 0.0 && !class_conditional) {
    throw Error("guidance " + format_exact(recipe.guidance) +
                ": classifier-free guidance needs a class-conditional model");
  }
  std::vector<at::Tensor> chunks;
  if (!seed.is_none()) {
    GenerateOptions options;
    options.recipe = recipe;
    options.seed = seed.cast<std::uint64_t>();
    options.batch_size = batch_size;
    // Other Python threads run meanwhile; a Python model takes the lock back for its calls.
    py::gil_scoped_release release;
    generate_x0(model, setup, labels, options, device,
                [&](const at::Tensor& x0) { chunks.push_back(x0 / setup.scale); });
    return at::cat(chunks);
  }
  torch::NoGradGuard no_grad;
  const at::Tensor z = z_start.cast<at::Tensor>().to(device, at::kFloat);
  if (z.dim() != 4 || static_cast<std::size_t>(z.size(0)) != labels.size()) {
    throw Error("starting noise of shape " + c10::str(z.sizes()) + " for " +
                std::to_string(labels.size()) + " labels; it must be [N, C, H, W]");
  }
  const at::Tensor label_tensor =
      at::tensor(labels, at::TensorOptions().dtype(at::kLong)).to(device);
  at::Generator step_noise = seeded_generator(device, step_seed);
  py::gil_scoped_release release;
  const at::Tensor x0 = run_sampler(
      recipe.plan(), model_denoise_fn(model, setup, label_tensor, recipe), z, step_noise);
  return x0 / setup.scale;
}

}  // namespace
}  // namespace noisesched

using namespace noisesched;

PYBIND11_MODULE(_core, m) {
  m.doc() = "noisesched's compiled core; use the `noisesched` package, not this module.";
  py::register_exception<Error>(m, "Error", PyExc_ValueError);

  py::class_<PySetup>(m, "Setup")
      .def(py::init(&make_setup), py::arg("spec"), py::arg("scale"), py::arg("normalization"),
           py::arg("resolution"))
      .def_property_readonly("spec",
                             [](const PySetup& s) { return s.setup.train_schedule.to_string(); })
      .def_property_readonly("scale", [](const PySetup& s) { return s.setup.scale; })
      .def_property_readonly("resolution",
                             [](const PySetup& s) -> py::object {
                               if (!s.resolution) return py::none();
                               return py::int_(static_cast<long long>(*s.resolution));
                             })
      .def_property_readonly("scale_text",
                             [](const PySetup& s) { return s.input_scale.to_string(); })
      .def_property_readonly("normalization",
                             [](const PySetup& s) { return to_string(s.setup.normalization); })
      .def_property_readonly("clip_min",
                             [](const PySetup& s) { return s.setup.train_schedule.clip_min(); })
      .def("gamma",
           [](const PySetup& s, const DoubleArray& values) {
             return map_array(values,
                              [&](double t) { return s.setup.train_schedule.variances(t).gamma; });
           })
      .def("one_minus_gamma",
           [](const PySetup& s, const DoubleArray& values) {
             return map_array(
                 values, [&](double t) { return s.setup.train_schedule.variances(t).one_minus; });
           })
      .def("logsnr",
           [](const PySetup& s, const DoubleArray& values) {
             return map_array(values, [&](double t) { return s.setup.train_schedule.logsnr(t); });
           })
      .def("effective_logsnr",
           [](const PySetup& s, const DoubleArray& values) {
             return map_array(values, [&](double t) {
               return scaled_logsnr(s.setup.train_schedule.logsnr(t), s.setup.scale);
             });
           })
      .def("noise_level",
           [](const PySetup& s, const DoubleArray& values) {
             return map_array(values, [&](double t) {
               return noise_level(s.setup.train_schedule.variances(t), s.setup.scale);
             });
           })
      .def("t_of_logsnr",
           [](const PySetup& s, const DoubleArray& values) {
             return map_array(values, [&](double logsnr) {
               return s.setup.train_schedule.t_from_logsnr(logsnr);
             });
           })
      .def("logsnr_density",
           [](const PySetup& s, const DoubleArray& values) {
             return map_array(values, [&](double logsnr) {
               return s.setup.train_schedule.logsnr_density(logsnr);
             });
           })
      // (x_in, z): z = sqrt(gamma) b x0 + sqrt(1 - gamma) eps and x_in = normalise(z), per
      // example, as training noises a batch.
      .def("noise",
           [](const PySetup& s, const at::Tensor& x0, const std::vector<double>& t,
              const at::Tensor& eps) {
             check_batch(x0, t.size(), "noise");
             check_same_shape(eps, "eps", x0, "x0", "noise");
             const NoisedBatch noised = add_noise(s.setup, x0 * s.setup.scale, t, eps);
             std::vector<double> gamma;
             for (const Variances& v : noised.v) gamma.push_back(v.gamma);
             const at::Tensor x_in =
                 normalize_input(noised.z, gamma, s.setup.scale, s.setup.normalization);
             return py::make_tuple(x_in, noised.z);
           })
      .def("target",
           [](const PySetup& s, const std::string& target, const at::Tensor& x0,
              const at::Tensor& eps, const std::vector<double>& t) {
             check_batch(x0, t.size(), "target");
             check_same_shape(eps, "eps", x0, "x0", "target");
             const auto [a, sigma] = scales_of(variances_at(s.setup.train_schedule, t), x0);
             return target_value(parse_target(target), x0 * s.setup.scale, eps, a, sigma);
           })
      .def("estimates", [](const PySetup& s, const std::string& target, const at::Tensor& output,
                           const at::Tensor& z, const std::vector<double>& t) {
        check_batch(z, t.size(), "estimates");
        check_same_shape(output, "output", z, "z", "estimates");
        const auto [a, sigma] = scales_of(variances_at(s.setup.train_schedule, t), z);
        const Prediction p = estimates_of(parse_target(target), output, z, a, sigma);
        return py::make_tuple(p.x0 / s.setup.scale, p.eps);
      });

  m.def("schedule_families", [] {
    py::list out;
    for (const ScheduleFamilyInfo& f : schedule_families()) {
      py::dict params;
      for (const ScheduleParamInfo& p : f.params) params[py::str(p.name)] = p.default_value;
      out.append(py::make_tuple(f.name, params, f.summary));
    }
    return out;
  });

  // output of one parameterisation -> another, with gamma per example (or one for all).
  m.def("convert",
        [](const at::Tensor& output, const at::Tensor& z, const std::vector<double>& gamma,
           const std::string& source, const std::string& dest) {
          std::vector<Variances> v;
          for (double g : gamma) {
            if (!(g > 0.0 && g <= 1.0)) {
              throw Error("convert: gamma must lie in (0, 1] (got " + format_exact(g) + ")");
            }
            v.push_back({g, 1.0 - g});
          }
          if (v.size() == 1 && z.dim() >= 1 && z.size(0) != 1) v.resize(z.size(0), v[0]);
          check_batch(z, v.size(), "convert");
          check_same_shape(output, "output", z, "z", "convert");
          const auto [a, s] = scales_of(v, z);
          const Prediction p = estimates_of(parse_target(source), output, z, a, s);
          return target_value(parse_target(dest), p.x0, p.eps, a, s);
        });

  m.def("plan", [](const std::string& text) {
    const InferenceRecipe recipe = InferenceRecipe::parse(text);
    py::list rows;
    const std::vector<SamplerStep> plan = recipe.plan();
    for (const SamplerStep& s : plan) {
      rows.append(py::make_tuple(s.index, s.t_eval, s.t_next, s.eval.gamma, s.next.gamma, s.c_z,
                                 s.c_x0, s.c_eps, s.c_x0_prev, s.noise_std, s.c_correct, s.order,
                                 std::string(s.last ? "result" : s.rule)));
    }
    std::ostringstream table, csv;
    write_sampler_table(table, recipe, false);
    write_sampler_table(csv, recipe, true);
    return py::make_tuple(recipe.to_string(), model_evaluations(plan), rows, table.str(),
                          csv.str());
  });

  py::class_<DenoiserImpl, std::shared_ptr<DenoiserImpl>>(m, "Denoiser")
      .def_property_readonly("num_classes", &DenoiserImpl::num_classes)
      .def_property_readonly("channels", &DenoiserImpl::channels)
      .def_property_readonly("resolution", &DenoiserImpl::resolution)
      .def("describe", &DenoiserImpl::describe);
  m.def(
      "python_denoiser",
      [](py::object fn, int channels, int resolution, int num_classes, bool self_condition) {
        return std::static_pointer_cast<DenoiserImpl>(std::make_shared<PythonDenoiser>(
            std::move(fn), channels, resolution, num_classes, self_condition));
      },
      py::arg("fn"), py::arg("channels"), py::arg("resolution"), py::arg("num_classes"),
      py::arg("self_condition"));
  m.def(
      "sample",
      [](const std::shared_ptr<DenoiserImpl>& model, const PySetup& setup,
         const std::string& target, bool self_condition, bool class_conditional,
         const std::string& recipe, const std::vector<std::int64_t>& labels,
         const py::object& z_start, std::uint64_t step_seed, const py::object& seed, int batch_size,
         const std::string& device) {
        DiffusionSetup full = setup.setup;
        full.target = parse_target(target);
        full.self_condition = self_condition;
        return sample(model, full, class_conditional, recipe, labels, z_start, step_seed, seed,
                      batch_size, device);
      },
      py::arg("model"), py::arg("setup"), py::arg("target"), py::arg("self_condition"),
      py::arg("class_conditional"), py::arg("recipe"), py::arg("labels"), py::arg("z_start"),
      py::arg("step_seed"), py::arg("seed"), py::arg("batch_size"), py::arg("device"));

  py::class_<PyModel>(m, "Model")
      .def(py::init(
               [](const std::string& path, const std::string& weights, const std::string& device) {
                 return PyModel{load_trained_model(path, weights, parse_device(device))};
               }),
           py::arg("path"), py::arg("weights"), py::arg("device"))
      .def_property_readonly("denoiser", [](const PyModel& self) { return self.trained.model; })
      .def_property_readonly("path", [](const PyModel& self) { return self.trained.path; })
      .def_property_readonly("step", [](const PyModel& self) { return self.trained.step; })
      .def_property_readonly("weights", [](const PyModel& self) { return self.trained.weights; })
      .def_property_readonly("class_names",
                             [](const PyModel& self) { return self.trained.class_names; })
      .def_property_readonly("num_classes",
                             [](const PyModel& self) { return self.trained.num_classes; })
      .def_property_readonly(
          "class_conditional",
          [](const PyModel& self) { return self.trained.spec.config.model.class_conditional; })
      .def_property_readonly("channels", [](const PyModel& self) { return self.trained.channels; })
      .def_property_readonly("resolution",
                             [](const PyModel& self) { return self.trained.model->resolution(); })
      .def_property_readonly("architecture",
                             [](const PyModel& self) { return to_string(self.trained.spec.arch); })
      .def_property_readonly("description",
                             [](const PyModel& self) { return self.trained.model->describe(); })
      .def_property_readonly(
          "target",
          [](const PyModel& self) { return to_string(self.trained.spec.diffusion.target); })
      .def_property_readonly(
          "self_condition",
          [](const PyModel& self) { return self.trained.spec.diffusion.self_condition; })
      .def_property_readonly(
          "config", [](const PyModel& self) { return config_to_toml(self.trained.spec.config); })
      .def_property_readonly("device",
                             [](const PyModel& self) {
                               return self.trained.model->parameters().empty()
                                          ? std::string("cpu")
                                          : self.trained.model->parameters().front().device().str();
                             })
      .def_property_readonly("setup",
                             [](const PyModel& self) {
                               return PySetup{
                                   self.trained.spec.diffusion, self.trained.spec.input_scale,
                                   static_cast<double>(self.trained.spec.config.data.resolution)};
                             })
      .def("forward",
           [](PyModel& self, const at::Tensor& x, const at::Tensor& noise_level,
              const at::Tensor& labels, const py::object& self_cond) {
             DenoiserInput input;
             input.x = x;
             input.noise_level = noise_level;
             input.labels = labels;
             if (!self_cond.is_none()) input.self_cond = self_cond.cast<at::Tensor>();
             const int k = self.trained.model->num_classes();
             // (checked where it costs nothing: on the CPU; a CUDA index out of range asserts)
             if (labels.device().is_cpu() && labels.numel() > 0 &&
                 (labels.min().item<std::int64_t>() < 0 || labels.max().item<std::int64_t>() > k)) {
               throw Error("classes must lie in [0, " + std::to_string(k) + "] (" +
                           std::to_string(k) + " means no class); got " + c10::str(labels));
             }
             DenoiserOutput out;
             {
               py::gil_scoped_release release;
               out = self.trained.model->forward(input);
             }
             return py::make_tuple(out.prediction, out.latents.defined() ? py::cast(out.latents)
                                                                         : py::object(py::none()));
           })
      .def("named_parameters",
           [](PyModel& self) {
             py::dict out;
             for (const auto& item : self.trained.model->named_parameters()) {
               out[py::str(item.key())] = item.value();
             }
             return out;
           })
      .def("set_training", [](PyModel& self, bool on) { self.trained.model->train(on); })
      .def_property_readonly("training",
                             [](const PyModel& self) { return self.trained.model->is_training(); });

  m.def(
      "advise",
      [](const at::Tensor& images, const std::vector<int>& resolutions, int reference,
         std::size_t max_images) {
        const at::Tensor bytes = images.to(at::kCPU, at::kByte).contiguous();
        if (bytes.dim() != 4) {
          throw Error("advise: images must be [N, C, H, W] (got " + c10::str(images.sizes()) + ")");
        }
        const auto n = static_cast<std::size_t>(bytes.size(0));
        const int c = static_cast<int>(bytes.size(1)), h = static_cast<int>(bytes.size(2)),
                  w = static_cast<int>(bytes.size(3));
        const std::uint8_t* data = bytes.data_ptr<std::uint8_t>();
        std::vector<std::uint8_t> all(data, data + bytes.numel());
        py::gil_scoped_release release;
        const auto eigenvalues_at = [&](int resolution) {
          if (resolution < 1 || resolution > 1024) {
            throw Error("advise: resolution " + std::to_string(resolution) +
                        " is outside [1, 1024]");
          }
          return spectrum_eigenvalues(*memory_dataset(all, n, c, h, w, resolution), max_images);
        };
        const std::vector<double> ref = eigenvalues_at(reference);
        std::vector<std::tuple<int, double, double, double>> out;
        for (const int r : resolutions) {
          const ScaleAdvice a = advise_input_scale(eigenvalues_at(r), ref);
          out.emplace_back(r, a.shift, a.b, a.misfit);
        }
        return out;
      },
      py::arg("images"), py::arg("resolutions"), py::arg("reference"), py::arg("max_images"));
}
