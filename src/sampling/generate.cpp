// Image generation (see generate.h).
#include "noisesched/sampling/generate.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <algorithm>
#include <memory>
#include <string>

#include "noisesched/common/error.h"
#include "noisesched/common/launch.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"
#include "noisesched/core/communicator.h"
#include "noisesched/core/cuda_graph.h"
#include "noisesched/core/generators.h"
#include "noisesched/diffusion/network.h"

namespace noisesched {

nlohmann::ordered_json recipe_json(const InferenceRecipe& recipe) {
  return {{"recipe", recipe.to_string()},
          {"sampler", to_string(recipe.sampler)},
          {"eta", recipe.eta},
          {"steps", recipe.steps},
          {"time_difference", recipe.td},
          {"schedule", recipe.schedule.to_string()},
          {"guidance", recipe.guidance},
          {"clip", recipe.clip}};
}

at::Tensor to_bytes(const at::Tensor& x0_scaled, double b) {
  return ((x0_scaled / b).clamp(-1.0, 1.0) + 1.0).mul(127.5).round().to(at::kCPU, at::kByte);
}

void generate_x0(const Denoiser& model, const DiffusionSetup& setup,
                 const std::vector<std::int64_t>& labels, const GenerateOptions& options,
                 const c10::Device& device, const std::function<void(at::Tensor)>& consume) {
  torch::NoGradGuard no_grad;
  if (labels.empty()) throw Error("generate_images: no labels");
  if (options.batch_size < 1) throw Error("batch size must be >= 1");
  const std::vector<SamplerStep> plan = options.recipe.plan();
  const int c = model->channels(), r = model->resolution();
  const auto n = static_cast<std::int64_t>(labels.size());
  const std::int64_t batches = (n + options.batch_size - 1) / options.batch_size;
  const std::int64_t total_calls = batches * model_evaluations(plan);
  std::int64_t calls = 0;
  // One set of graphs for every batch (the last, smaller batch records its own).
  const std::shared_ptr<NetworkGraphs> graphs =
      options.graphs != nullptr ? options.graphs : sampling_graphs(options.cuda_graphs, device);
  for (std::int64_t start = 0; start < n; start += options.batch_size) {
    const std::int64_t count = std::min<std::int64_t>(options.batch_size, n - start);
    // Each image's starting noise comes from its own generator: batching does not change it.
    std::vector<at::Tensor> noise;
    for (std::int64_t i = start; i < start + count; ++i) {
      at::Generator g = seeded_generator(
          at::kCPU, hash_values({options.seed, purpose::kStartNoise,
                                 static_cast<std::uint64_t>(options.first_index + i)}));
      noise.push_back(at::randn({1, c, r, r}, g, at::TensorOptions().dtype(at::kFloat)));
    }
    const at::Tensor z = at::cat(noise).to(device);
    const at::Tensor batch_labels =
        at::tensor(
            std::vector<std::int64_t>(labels.begin() + start, labels.begin() + start + count),
            at::TensorOptions().dtype(at::kLong))
            .to(device);
    at::Generator step_noise = seeded_generator(
        device, hash_values({options.seed, purpose::kStepNoise,
                             static_cast<std::uint64_t>(options.first_index + start)}));
    const DenoiseFn network =
        model_denoise_fn(model, setup, batch_labels, options.recipe, graphs.get());
    const DenoiseFn denoise = [&](const at::Tensor& z_now, const DenoiseQuery& query) {
      Prediction p = network(z_now, query);
      if (options.progress) options.progress(++calls, total_calls);
      return p;
    };
    consume(run_sampler(plan, denoise, z, step_noise));
  }
}

std::shared_ptr<NetworkGraphs> sampling_graphs(CudaGraphs mode, const c10::Device& device,
                                               std::string* note) {
  return use_cuda_graphs(mode, device, note) ? std::make_shared<NetworkGraphs>(device) : nullptr;
}

at::Tensor generate_images(const Denoiser& model, const DiffusionSetup& setup,
                           const std::vector<std::int64_t>& labels, const GenerateOptions& options,
                           const c10::Device& device) {
  std::vector<at::Tensor> chunks;
  generate_x0(model, setup, labels, options, device,
              [&](const at::Tensor& x0) { chunks.push_back(to_bytes(x0, setup.scale)); });
  return at::cat(chunks);
}

at::Tensor generate_share(const Denoiser& model, const DiffusionSetup& setup,
                          const std::vector<std::int64_t>& labels, const GenerateOptions& options,
                          const c10::Device& device, const Communicator& communicator) {
  if (communicator.world_size() == 1) return generate_images(model, setup, labels, options, device);
  const auto [begin, end] =
      shard_range(static_cast<std::int64_t>(labels.size()), communicator.rank(),
                  communicator.world_size(), options.batch_size);
  // A process without a share still takes part in the gathers that follow, with no rows.
  if (begin == end) {
    return at::empty({0, model->channels(), model->resolution(), model->resolution()},
                     at::TensorOptions().dtype(at::kByte));
  }
  GenerateOptions mine = options;
  mine.first_index = options.first_index + begin;
  return generate_images(model, setup,
                         std::vector<std::int64_t>(labels.begin() + begin, labels.begin() + end),
                         mine, device);
}

at::Tensor generate_images(const Denoiser& model, const DiffusionSetup& setup,
                           const std::vector<std::int64_t>& labels, const GenerateOptions& options,
                           const c10::Device& device, Communicator& communicator) {
  if (communicator.world_size() == 1) return generate_images(model, setup, labels, options, device);
  const at::Tensor images = generate_share(model, setup, labels, options, device, communicator);
  // Shares differ by up to one batch: the processes meet before the gather, each at its pace.
  communicator.arrive_together("sampling their share of the images",
                               kSharedSamplingPatienceSeconds);
  return communicator.gather_rows(images, "gathering the sampled images");
}

ImageCHW tensor_image(const at::Tensor& image) {
  const auto cpu = image.to(at::kCPU, at::kByte).contiguous();
  ImageCHW out{static_cast<int>(cpu.size(0)),
               static_cast<int>(cpu.size(1)),
               static_cast<int>(cpu.size(2)),
               {}};
  const std::uint8_t* data = cpu.data_ptr<std::uint8_t>();
  out.pixels.assign(data, data + cpu.numel());
  return out;
}

ImageCHW tensor_grid(const at::Tensor& images, int columns, int min_cell) {
  std::vector<ImageCHW> tiles;
  for (std::int64_t i = 0; i < images.size(0); ++i) tiles.push_back(tensor_image(images[i]));
  const int h = static_cast<int>(images.size(2));
  const int zoom = std::max(1, (min_cell + h - 1) / h);
  return make_grid(tiles, columns, 2, 255, zoom);
}

}  // namespace noisesched
