// noisesched/common/launch.h: where this process stands in a multi-process run, and the
// one-machine launcher behind `train --nproc N`.
//
// A run of several processes is described by the variables its launcher sets:
//   torchrun (--no-python) and `--nproc`: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
//     MASTER_ADDR, MASTER_PORT (torchrun also TORCHELASTIC_USE_AGENT_STORE when it hosts the
//     rendezvous store itself, and TORCHELASTIC_RESTART_COUNT);
//   SLURM's srun: SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID, SLURM_STEP_TASKS_PER_NODE
//     (or SLURM_NTASKS_PER_NODE), the first host of SLURM_STEP_NODELIST (or SLURM_JOB_NODELIST)
//     unless MASTER_ADDR is set, and MASTER_PORT or a port derived from SLURM_JOB_ID.
// Without any of them the process is alone (rank 0 of 1). No LibTorch here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace noisesched {

struct ProcessPlacement {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // among the processes of this machine
  int local_world_size = 1;  // processes on this machine
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "none";  // none, torchrun, slurm, nproc
  bool agent_store = false;       // the launcher hosts the store (torchrun's agent)
  int restart_count = 0;          // torchrun's restart attempt (the store's key prefix)

  bool distributed() const { return world_size > 1; }
  // "rank 1 of 4 (local 1 of 2, torchrun)".
  std::string describe() const;
};

// Looks a variable up; nullopt when unset.
using Environment = std::function<std::optional<std::string>(const std::string&)>;
Environment process_environment();

// The placement the variables describe. Throws naming the variable and its value when one is
// malformed or contradicts another (RANK >= WORLD_SIZE, say).
ProcessPlacement placement_from_environment(const Environment& env);

// Intra-op threads per process when the user gives none: the machine's threads shared evenly
// among the processes on it, at least 1.
int default_threads_per_process(int hardware_threads, int local_world_size);

// The contiguous share [begin, end) of `n` items that `rank` of `world` takes: shares differ by
// at most `align` items, and every share but the last starts at a multiple of `align`.
std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n, int rank, int world,
                                                  std::int64_t align = 1);

// The first host of a SLURM node list ("node[03-05,9],gpu1" -> "node03").
std::string first_slurm_host(const std::string& nodelist);

// A TCP port on 127.0.0.1 that is free now (bound and released).
int free_local_port();

// This program's command line (from /proc/self/cmdline, the program as an absolute path) without
// `--nproc N`: what each process that `--nproc` starts runs.
std::vector<std::string> command_line_without_nproc();

struct LocalLaunch {
  std::vector<std::string> argv;  // the program and its arguments, run once per process
  int nproc = 2;
  double timeout_seconds = 60;  // how long the others may take to exit after one failed
};

// The launch of `--nproc N` for this command (its own command line without the option); throws
// when `placement` says a launcher already started this process.
LocalLaunch launch_of_this_command(int nproc, const ProcessPlacement& placement,
                                   double timeout_seconds);

// "cuda" means the GPU of this process's local rank when several processes run; anything else
// is kept.
std::string device_of_process(const std::string& device, const ProcessPlacement& placement);

// `train --nproc N`: starts N copies of argv with the variables of ranks 0..N-1 on this machine
// (a free port on 127.0.0.1), forwards SIGINT and SIGTERM to them, and waits. When one exits
// with an error or is killed, the others get `timeout_seconds` to notice and exit (they see a
// broken connection or their own timeout) before they are killed. Returns 0 when all succeeded,
// else the status of the first that failed (128 + signal number when killed); `log` says which
// rank failed and how.
int launch_local(const LocalLaunch& launch, std::ostream& log);

}  // namespace noisesched
