// Network factory (see denoiser.h).
#include "noisesched/models/denoiser.h"

#include "noisesched/common/error.h"
#include "rin.h"
#include "unet.h"

namespace noisesched {

Denoiser make_denoiser(const Config& config, int channels, int num_classes) {
  const int resolution = config.data.resolution;
  if (config.model.arch == "rin") {
    return std::make_shared<RinImpl>(config.rin, channels, resolution, num_classes,
                                     config.model.class_conditional);
  }
  if (config.model.arch == "unet") {
    return std::make_shared<UnetImpl>(config.unet, channels, resolution, num_classes,
                                      config.model.class_conditional);
  }
  throw Error("model.arch '" + config.model.arch + "' is not known; valid: rin, unet");
}

std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

}  // namespace noisesched
