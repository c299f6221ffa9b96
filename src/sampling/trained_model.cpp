// Restoring a network from a checkpoint; see noisesched/sampling/trained_model.h.
#include "noisesched/sampling/trained_model.h"

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"
#include "noisesched/optim/optimizer.h"

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
  trained.config = checkpoint.config;
  trained.weights = weights;
  trained.channels = checkpoint.state.channels;
  trained.num_classes = checkpoint.state.num_classes;
  trained.class_names = checkpoint.state.class_names;
  trained.setup =
      DiffusionSetup::from_config(checkpoint.config.diffusion, checkpoint.config.data.resolution);
  // What the network was trained with, two ways: config.toml resolved now, and state.json as the
  // trainer resolved it. Any difference (a hand-edited file, a changed resolution rule) is
  // refused: sampling with another b or target than the training's gives wrong images silently.
  const CheckpointState& state = checkpoint.state;
  const auto disagree = [&](const std::string& what, const std::string& from_config,
                            const std::string& from_state) {
    if (from_config != from_state) {
      throw Error("checkpoint '" + checkpoint.path + "': config.toml and state.json disagree on " +
                  what + ": config.toml gives " + from_config + ", state.json says " + from_state);
    }
  };
  disagree("the training schedule", trained.setup.train_schedule.to_string(), state.train_schedule);
  if (state.input_scale) {
    disagree("b (diffusion.input_scale = '" + checkpoint.config.diffusion.input_scale + "' at " +
                 std::to_string(checkpoint.config.data.resolution) + " px)",
             format_exact(trained.setup.scale), format_exact(*state.input_scale));
  }
  if (!state.normalization.empty()) {
    disagree("the normalisation", to_string(trained.setup.normalization), state.normalization);
  }
  if (!state.target.empty()) disagree("the target", to_string(trained.setup.target), state.target);
  trained.model = make_denoiser(checkpoint.config, trained.channels, trained.num_classes);
  load_module_tensors(*trained.model, weights == "ema" ? checkpoint.ema : checkpoint.model,
                      checkpoint.path + "/" + weights + ".safetensors");
  trained.model->to(device);
  trained.model->eval();
  return trained;
}

}  // namespace noisesched
