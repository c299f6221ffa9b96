// `noisesched info`: what this build and machine offer (LibTorch, threads, CPU, CUDA, c10d
// backends).
#include <iostream>

#include "commands.h"
#include "noisesched/common/machine.h"
#include "noisesched/core/communicator.h"
#include "noisesched/core/runtime.h"

namespace noisesched::cli {

void add_info_command(CLI::App& app, CommandRunner& runner) {
  auto* cmd = app.add_subcommand(
      "info", "Show the noisesched and LibTorch versions, threads, CPU, devices and c10d backends");
  cmd->callback([&runner] {
    runner = [] {
      const RuntimeInfo info = runtime_info();
      std::cout << "noisesched " << NOISESCHED_VERSION << "\n"
                << "LibTorch " << info.torch_version << " (" << info.parallel_backend << ")\n"
                << "threads " << info.threads << " of " << info.hardware_threads << "\n"
                << "CPU " << cpu_description() << "\n"
                << "CUDA " << (info.cuda_available ? "yes" : "no");
      if (info.cuda_available) std::cout << " (" << info.cuda_devices << " devices)";
      std::cout << "\nc10d backends " << distributed_backends() << "\n";
      return 0;
    };
  });
}

}  // namespace noisesched::cli
