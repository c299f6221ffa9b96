// The `--nproc` sequence the commands share (see processes.h).
#include "processes.h"

#include <iostream>

#include "noisesched/train/engine.h"

namespace noisesched::cli {

std::optional<int> launch_if_several(int nproc, double timeout_seconds,
                                     const std::vector<std::string>& extra) {
  if (nproc <= 1) return std::nullopt;
  LocalLaunch launch = launch_of_this_command(
      nproc, placement_from_environment(process_environment()), timeout_seconds);
  launch.argv.insert(launch.argv.end(), extra.begin(), extra.end());
  return launch_local(launch, std::cerr);
}

RunProcess join_run(const std::string& device, const RunSpec& spec) {
  RunProcess process;
  process.placement = placement_from_environment(process_environment());
  process.device = device_of_process(device, process.placement);
  process.communicator = connect(process.placement, parse_device(process.device),
                                 spec.config.train.dist_timeout, spec.dist_backend);
  return process;
}

}  // namespace noisesched::cli
