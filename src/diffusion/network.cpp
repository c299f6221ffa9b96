// The network-prediction function (see network.h).
#include "noisesched/diffusion/network.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <array>
#include <cmath>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/core/cuda_graph.h"
#include "noisesched/core/precision.h"

namespace noisesched {

struct NetworkGraphs::Entry {
  int calls = 0;
  bool failed = false;  // the capture failed: eager from then on
  CudaGraph graph;
  DenoiserInput in;    // the tensors the recording reads
  DenoiserOutput out;  // and writes
  explicit Entry(const c10::Device& device) : graph(device) {}
};

NetworkGraphs::NetworkGraphs(const c10::Device& device) : device_(device) {
  std::string why_not;
  if (!CudaGraph::available(device, &why_not)) throw Error("CUDA graphs: " + why_not);
}

NetworkGraphs::~NetworkGraphs() = default;

namespace {

// The tensors of a network's input, in one order: what a recording reads and each replay refills.
template <typename Input>
auto input_fields(Input& in) {
  return std::array{&in.x, &in.noise_level, &in.labels, &in.self_cond, &in.z_per_x};
}

}  // namespace

DenoiserOutput NetworkGraphs::forward(DenoiserImpl& model, const DenoiserInput& input) {
  torch::NoGradGuard no_grad;
  // A recording serves the inputs of one signature: which fields are given, their shapes, types.
  std::ostringstream key;
  for (const at::Tensor* t : input_fields(input)) {
    if (t->defined()) {
      key << t->sizes() << t->scalar_type() << ';';
    } else {
      key << "none;";
    }
  }
  std::unique_ptr<Entry>& entry = entries_[key.str()];
  if (entry == nullptr) entry = std::make_unique<Entry>(device_);
  Entry& e = *entry;
  if (e.failed) return model.forward(input);
  if (++e.calls == 1) {
    DenoiserOutput out;
    CudaGraph::run_beside(device_, [&] { out = model.forward(input); });
    return out;
  }
  const auto given = input_fields(input);
  const auto recorded = input_fields(e.in);
  if (!e.graph.captured()) {
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (given[i]->defined()) *recorded[i] = given[i]->clone();
    }
    try {
      e.graph.capture([&] { e.out = model.forward(e.in); });
    } catch (const std::exception&) {
      // Sampling goes on eagerly with this signature (the same numbers, launched one by one).
      e.failed = true;
      return model.forward(input);
    }
  } else {
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (given[i]->defined()) recorded[i]->copy_(*given[i], /*non_blocking=*/true);
    }
  }
  e.graph.replay();
  ++replays_;
  DenoiserOutput out;
  out.prediction = e.out.prediction.clone();
  if (e.out.latents.defined()) out.latents = e.out.latents.clone();
  return out;
}

NetworkPrediction predict(DenoiserImpl& model, const DiffusionSetup& setup, const at::Tensor& z,
                          const std::vector<Variances>& v, const at::Tensor& labels,
                          const at::Tensor& self_cond, const PredictOptions& options) {
  if (static_cast<std::int64_t>(v.size()) != z.size(0)) {
    throw Error("predict: " + std::to_string(z.size(0)) + " images, " + std::to_string(v.size()) +
                " noise levels");
  }
  return predict(model, setup, z, noise_levels(v, setup.scale, z.device()), labels, self_cond,
                 options);
}

NetworkPrediction predict(DenoiserImpl& model, const DiffusionSetup& setup, const at::Tensor& z,
                          const NoiseLevels& levels, const at::Tensor& labels,
                          const at::Tensor& self_cond, const PredictOptions& options) {
  const std::int64_t batch = z.size(0);
  if (levels.size() != batch || labels.size(0) != batch) {
    throw Error("predict: " + std::to_string(batch) + " images, " + std::to_string(levels.size()) +
                " noise levels, " + std::to_string(labels.size(0)) + " labels");
  }
  const bool guided = options.guidance != 0.0;
  NoiseLevels batch_levels = levels;
  at::Tensor z_batch = z, batch_labels = labels;
  if (guided) {
    batch_levels = levels.twice();
    z_batch = at::cat({z, z});
    batch_labels = at::cat({labels, at::full_like(labels, model.num_classes())});
  }
  const at::Tensor factor = normalization_factor(z_batch, batch_levels, setup.normalization);
  DenoiserInput input;
  input.x = z_batch * factor;
  input.z_per_x = factor.reciprocal();
  input.noise_level = batch_levels.rows.select(0, NoiseLevels::kLevel).to(at::kFloat);
  input.labels = batch_labels;
  if (setup.self_condition) input.self_cond = self_cond;
  DenoiserOutput out;
  {
    const PrecisionScope precision(model.precision(), z.device());
    out = options.graphs != nullptr ? options.graphs->forward(model, input) : model.forward(input);
  }
  // Whatever the passes computed in, what leaves the network is float32 (the loss, the
  // samplers' arithmetic and the self-conditioning signal).
  out.prediction = out.prediction.to(at::kFloat);
  if (out.latents.defined()) out.latents = out.latents.to(at::kFloat);

  NetworkPrediction result;
  result.output = out.prediction;
  result.latents = out.latents;
  if (guided) {
    const auto halves = out.prediction.chunk(2);
    result.output = halves[0] * (1.0 + options.guidance) - halves[1] * options.guidance;
  }
  if (!options.estimate) return result;
  const at::Tensor a4 = levels.per_example(NoiseLevels::kA, z);
  const at::Tensor s4 = levels.per_example(NoiseLevels::kS, z);
  result.estimate = prediction_from_output(setup.target, result.output, z, a4, s4);
  if (options.clip) {
    result.estimate.x0 = result.estimate.x0.clamp(-setup.scale, setup.scale);
    result.estimate.eps = (z - a4 * result.estimate.x0) / s4;
  }
  // Where gamma = 1 (s = 0) there is no noise and eps is not defined by x0; it multiplies s = 0
  // wherever it is used, so it is 0 rather than inf or NaN.
  result.estimate.eps = at::where(s4 > 0, result.estimate.eps, at::zeros_like(z));
  if (setup.self_condition) {
    // RIN carries each half's own latents; the U-Net the guided x0 for both halves.
    const at::Tensor x0 = result.estimate.x0.detach();
    result.self_cond = model.self_condition_signal(out, guided ? at::cat({x0, x0}) : x0);
    if (result.self_cond.defined()) result.self_cond = result.self_cond.detach();
  }
  return result;
}

}  // namespace noisesched
