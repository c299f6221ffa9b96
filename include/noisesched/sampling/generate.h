// noisesched/sampling/generate.h: images from a trained network.
//
// The result of sampling is the last x0 estimate divided by b, clipped to [-1, 1] and mapped to
// bytes (SPEC section 6). The starting noise of image i depends only on (seed, i); the step noise
// of stochastic samplers (DDPM) on (seed, first image of the batch). So DDIM gives the same
// images for a seed whatever the batch size, DDPM for the same seed and batch size.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "noisesched/data/image_io.h"
#include "noisesched/diffusion/process.h"
#include "noisesched/models/denoiser.h"
#include "noisesched/sampling/sampler.h"
#include "noisesched/schedule/inference_recipe.h"

namespace noisesched {

class Communicator;

struct GenerateOptions {
  InferenceRecipe recipe;  // sampler, steps, td, inference schedule, guidance, clipping
  std::uint64_t seed = 0;
  int batch_size = 64;
  // The index of the first label among all the images of this seed: a process that samples
  // images [first_index, first_index + N) of a larger set gets exactly those images (for DDPM,
  // when first_index is a multiple of batch_size).
  std::int64_t first_index = 0;
  // Called after every network evaluation with (evaluations done, evaluations in total).
  std::function<void(std::int64_t, std::int64_t)> progress;
  // Whether the network's forward passes replay CUDA graphs (train.cuda_graphs; NetworkGraphs in
  // diffusion/network.h): auto on a CUDA device where LibTorch has them; on: an error elsewhere.
  // Off by default here; the commands pass the run's train.cuda_graphs.
  CudaGraphs cuda_graphs = CudaGraphs::kOff;
  // The graphs to use (and keep recording into) when graphs are on; made for each call when null.
  // Given, they outlive the call, so later calls with the same batch shape replay at once.
  std::shared_ptr<NetworkGraphs> graphs;
};

// Graphs for `mode` (train.cuda_graphs) on `device`, as use_cuda_graphs (core/cuda_graph.h)
// decides: null when off, or when auto and unavailable (an Error naming train.cuda_graphs and the
// reason when on and unavailable). `note` (if given): "on" or "off (why)".
std::shared_ptr<NetworkGraphs> sampling_graphs(CudaGraphs mode, const c10::Device& device,
                                               std::string* note = nullptr);

// The last x0 estimates of generate_images, in the scaled space (b x0, float, on `device`),
// handed to `consume` one batch at a time in label order, before the mapping to bytes.
void generate_x0(const Denoiser& model, const DiffusionSetup& setup,
                 const std::vector<std::int64_t>& labels, const GenerateOptions& options,
                 const c10::Device& device, const std::function<void(at::Tensor)>& consume);
// One image per label (the null class K for unconditional), as [N, C, H, W] bytes on the CPU.
at::Tensor generate_images(const Denoiser& model, const DiffusionSetup& setup,
                           const std::vector<std::int64_t>& labels, const GenerateOptions& options,
                           const c10::Device& device);

// This process's share of those images: a contiguous run of whole batches of
// options.batch_size (shard_range), sampled as one process samples them ([0, C, H, W] when it
// has none). All the images for one process.
at::Tensor generate_share(const Denoiser& model, const DiffusionSetup& setup,
                          const std::vector<std::int64_t>& labels, const GenerateOptions& options,
                          const c10::Device& device, const Communicator& communicator);

// The same images shared among the processes of `communicator`: each samples its share (whole
// batches of options.batch_size, so stochastic samplers give the images one process would) and
// every process returns all of them, in label order.
at::Tensor generate_images(const Denoiser& model, const DiffusionSetup& setup,
                           const std::vector<std::int64_t>& labels, const GenerateOptions& options,
                           const c10::Device& device, Communicator& communicator);

// How long processes that sampled their shares wait for the slowest one (seconds).
constexpr double kSharedSamplingPatienceSeconds = 3600;

// The recipe as recorded in every JSON result: {"recipe": canonical text, "sampler", "eta",
// "steps", "time_difference", "schedule", "guidance", "clip"}.
nlohmann::ordered_json recipe_json(const InferenceRecipe& recipe);

// x0 in the scaled space -> bytes: clip(x0 / b, -1, 1) mapped to [0, 255].
at::Tensor to_bytes(const at::Tensor& x0_scaled, double b);

// One byte image [C, H, W] as it is: no frame, no zoom (what per-image files hold).
ImageCHW tensor_image(const at::Tensor& image);

// Byte images [N, C, H, W] as a grid with `columns` columns, each image zoomed to at least
// `min_cell` pixels (integer factor).
ImageCHW tensor_grid(const at::Tensor& images, int columns, int min_cell = 64);

}  // namespace noisesched
