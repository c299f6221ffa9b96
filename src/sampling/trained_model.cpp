// Restoring a network from a checkpoint; see noisesched/sampling/trained_model.h.
#include "noisesched/sampling/trained_model.h"

#include "noisesched/common/error.h"
#include "noisesched/models/weights.h"

namespace noisesched {

TrainedModel load_trained_model(const std::string& path, const std::string& weights,
                                const c10::Device& device) {
  if (weights != "ema" && weights != "model") {
    throw Error("--weights '" + weights + "' is not known; valid: ema, model");
  }
  const LoadedCheckpoint checkpoint = load_checkpoint(path, weights == "model");
  TrainedModel trained;
  trained.path = checkpoint.path;
  trained.step = checkpoint.step;
  trained.spec = checkpoint.spec;  // state.json agrees with it (load_checkpoint checked)
  trained.weights = weights;
  trained.channels = checkpoint.state.channels;
  trained.num_classes = checkpoint.state.num_classes;
  trained.class_names = checkpoint.state.class_names;
  trained.model = make_denoiser(trained.spec, trained.channels, trained.num_classes);
  load_module_tensors(*trained.model, weights == "ema" ? checkpoint.ema : checkpoint.model,
                      checkpoint.path + "/" + weights + ".safetensors");
  trained.model->to(device);
  trained.model->eval();
  return trained;
}

}  // namespace noisesched
