// Network factory (see denoiser.h).
#include "noisesched/models/denoiser.h"

#include "noisesched/common/error.h"
#include "rin.h"
#include "unet.h"

namespace noisesched {

Denoiser make_denoiser(const RunSpec& spec, int channels, int num_classes) {
  const Config& config = spec.config;
  const int resolution = config.data.resolution;
  Denoiser model;
  switch (spec.arch) {
    case Architecture::kRin:
      model = std::make_shared<RinImpl>(config.rin, channels, resolution, num_classes,
                                        config.model.class_conditional);
      break;
    case Architecture::kUnet:
      model = std::make_shared<UnetImpl>(config.unet, channels, resolution, num_classes,
                                         config.model.class_conditional);
      break;
  }
  if (!model) throw Error("model.arch '" + config.model.arch + "' has no network");
  model->set_precision(spec.precision);
  return model;
}

std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

}  // namespace noisesched
