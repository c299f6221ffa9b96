// noisesched command-line program: the `--nproc` sequence that `train`, `bench train` and `eval`
// share (launch the processes, or join the run as one of them).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "noisesched/common/launch.h"
#include "noisesched/config/run_spec.h"
#include "noisesched/core/communicator.h"

namespace noisesched::cli {

// `--nproc N` with N > 1: runs this command as N processes on this machine (its own command line
// without --nproc, `extra` appended) and returns the status they end with (launch_local; the
// others' grace after a failure is `timeout_seconds`). Otherwise nothing happens: nullopt.
// Throws when a launcher already started this process.
std::optional<int> launch_if_several(int nproc, double timeout_seconds,
                                     const std::vector<std::string>& extra = {});

// This process in its run (alone: rank 0 of 1): where the launcher placed it, its device
// (`device`; "cuda" becomes its local rank's GPU when several share the machine) and its
// communicator, connected with the run's train.dist_timeout and train.dist_backend.
struct RunProcess {
  ProcessPlacement placement;
  std::string device;
  std::unique_ptr<Communicator> communicator;
};
RunProcess join_run(const std::string& device, const RunSpec& spec);

}  // namespace noisesched::cli
