// noisesched/sampling/trained_model.h: a network restored from a training checkpoint, ready to
// sample, with everything about it that comes from the checkpoint alone (SPEC section 6: b,
// normalisation, target and training schedule are never taken from flags).
#pragma once

#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "noisesched/diffusion/process.h"
#include "noisesched/io/checkpoint.h"
#include "noisesched/models/denoiser.h"

namespace noisesched {

struct TrainedModel {
  std::string path;  // the step folder
  std::int64_t step = 0;
  RunSpec spec;    // the training's, resolved; spec.diffusion is what sampling applies
  Denoiser model;  // in eval mode on the requested device
  int channels = 0, num_classes = 0;
  std::vector<std::string> class_names;
  std::string weights;  // "ema" or "model"
};

// `path` as for load_checkpoint; `weights` "ema" (the default of every command) or "model".
// Throws naming the checkpoint when it is incomplete or its files disagree.
TrainedModel load_trained_model(const std::string& path, const std::string& weights,
                                const c10::Device& device);

}  // namespace noisesched
