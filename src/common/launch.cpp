// Multi-process placement and the one-machine launcher (see launch.h).
#include "noisesched/common/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/common/process.h"

extern char** environ;

namespace noisesched {
namespace {

int integer_variable(const Environment& env, const std::string& name, int min_value,
                     int max_value) {
  const auto text = env(name);
  if (!text) throw Error("environment variable " + name + " is not set");
  return static_cast<int>(
      parse_integer(*text, "environment variable " + name, min_value, max_value));
}

std::optional<int> optional_integer(const Environment& env, const std::string& name, int min_value,
                                    int max_value) {
  if (!env(name)) return std::nullopt;
  return integer_variable(env, name, min_value, max_value);
}

constexpr int kMaxProcesses = 1 << 20;
// How much longer than the timeout the launcher waits for the other ranks after one failed.
constexpr double kGraceSeconds = 5;
// After a rank stopped on SIGINT/SIGTERM, how long the others may take to save and exit.
constexpr double kStopPatienceSeconds = 3600;

// SLURM_STEP_TASKS_PER_NODE looks like "2(x3),1": the count of the first node group. Tasks are
// spread evenly in the layouts this program supports, so that count is the one of every node.
int slurm_tasks_per_node(const std::string& name, const std::string& text) {
  const std::string head = text.substr(0, text.find_first_of("(,"));
  return static_cast<int>(parse_integer(head, "environment variable " + name, 1, kMaxProcesses));
}

void check_placement(const ProcessPlacement& p, const std::string& rank_name,
                     const std::string& world_name) {
  if (p.rank >= p.world_size) {
    throw Error("environment variable " + rank_name + "=" + std::to_string(p.rank) +
                " must be below " + world_name + "=" + std::to_string(p.world_size));
  }
  if (p.local_rank >= p.local_world_size || p.local_world_size > p.world_size) {
    throw Error("the local rank " + std::to_string(p.local_rank) + " of " +
                std::to_string(p.local_world_size) +
                " processes on this machine does not fit a run of " + std::to_string(p.world_size) +
                " processes");
  }
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGKILL:
      return "SIGKILL";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    default:
      return "a signal";
  }
}

std::atomic<int> g_forward_signal{0};
extern "C" void on_forward_signal(int signal) { g_forward_signal.store(signal); }

}  // namespace

std::string ProcessPlacement::describe() const {
  return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " (local " +
         std::to_string(local_rank) + " of " + std::to_string(local_world_size) + ", " + launcher +
         ")";
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

ProcessPlacement placement_from_environment(const Environment& env) {
  ProcessPlacement p;
  if (env("RANK") || env("WORLD_SIZE")) {
    p.world_size = integer_variable(env, "WORLD_SIZE", 1, kMaxProcesses);
    p.rank = integer_variable(env, "RANK", 0, kMaxProcesses);
    p.local_rank = optional_integer(env, "LOCAL_RANK", 0, kMaxProcesses).value_or(p.rank);
    p.local_world_size =
        optional_integer(env, "LOCAL_WORLD_SIZE", 1, kMaxProcesses).value_or(p.world_size);
    const auto launcher = env("NOISESCHED_LAUNCHER");
    p.launcher = launcher ? *launcher : "torchrun";
    p.agent_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
    p.restart_count =
        optional_integer(env, "TORCHELASTIC_RESTART_COUNT", 0, kMaxProcesses).value_or(0);
    check_placement(p, "RANK", "WORLD_SIZE");
  } else if (env("SLURM_PROCID") && env("SLURM_STEP_NUM_TASKS")) {
    // Inside an srun step (a batch script itself has no SLURM_STEP_NUM_TASKS: it runs alone).
    p.launcher = "slurm";
    p.world_size = integer_variable(env, "SLURM_STEP_NUM_TASKS", 1, kMaxProcesses);
    p.rank = integer_variable(env, "SLURM_PROCID", 0, kMaxProcesses);
    p.local_rank = optional_integer(env, "SLURM_LOCALID", 0, kMaxProcesses).value_or(0);
    if (const auto per_node = env("SLURM_STEP_TASKS_PER_NODE")) {
      p.local_world_size = slurm_tasks_per_node("SLURM_STEP_TASKS_PER_NODE", *per_node);
    } else if (const auto ntasks = env("SLURM_NTASKS_PER_NODE")) {
      p.local_world_size = slurm_tasks_per_node("SLURM_NTASKS_PER_NODE", *ntasks);
    } else {
      p.local_world_size = p.world_size;
    }
    p.local_world_size = std::min(p.local_world_size, p.world_size);
    check_placement(p, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS");
    if (!p.distributed()) return p;
    if (const auto addr = env("MASTER_ADDR")) {
      p.master_addr = *addr;
    } else if (const auto nodes = env("SLURM_STEP_NODELIST")) {
      p.master_addr = first_slurm_host(*nodes);
    } else if (const auto job_nodes = env("SLURM_JOB_NODELIST")) {
      p.master_addr = first_slurm_host(*job_nodes);
    } else {
      throw Error("SLURM step of " + std::to_string(p.world_size) +
                  " tasks: set MASTER_ADDR (no SLURM_STEP_NODELIST or SLURM_JOB_NODELIST names "
                  "the first node)");
    }
    if (!env("MASTER_PORT")) {
      // Every task of the job derives the same port; jobs on one node rarely collide.
      const int job = optional_integer(env, "SLURM_JOB_ID", 0, 2147483647).value_or(0);
      p.master_port = 20000 + job % 10000;
      return p;
    }
  } else {
    return p;
  }
  if (!p.distributed()) return p;
  if (const auto addr = env("MASTER_ADDR")) p.master_addr = *addr;
  if (p.master_addr.empty()) throw Error("environment variable MASTER_ADDR is empty");
  if (env("MASTER_PORT")) {
    p.master_port = integer_variable(env, "MASTER_PORT", 1, 65535);
  } else if (p.launcher != "slurm") {
    throw Error("environment variable MASTER_PORT is not set (a run of " +
                std::to_string(p.world_size) + " processes needs the rendezvous address)");
  }
  return p;
}

int default_threads_per_process(int hardware_threads, int local_world_size) {
  return std::max(1, hardware_threads / std::max(1, local_world_size));
}

std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n, int rank, int world,
                                                  std::int64_t align) {
  if (world < 1 || rank < 0 || rank >= world || n < 0 || align < 1) {
    throw Error("shard_range: rank " + std::to_string(rank) + " of " + std::to_string(world) +
                " for " + std::to_string(n) + " items is not a valid share");
  }
  // Whole blocks of `align` items spread as evenly as possible; the remainder goes to the last.
  const std::int64_t blocks = n / align;
  const std::int64_t base = blocks / world, extra = blocks % world;
  const auto start = [&](int r) { return (r * base + std::min<std::int64_t>(r, extra)) * align; };
  const std::int64_t begin = start(rank);
  const std::int64_t end = rank == world - 1 ? n : start(rank + 1);
  return {begin, end};
}

std::string first_slurm_host(const std::string& nodelist) {
  const std::size_t comma = nodelist.find(',');
  const std::size_t bracket = nodelist.find('[');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket)) {
    const std::string host = nodelist.substr(0, comma);
    if (host.empty()) throw Error("SLURM node list '" + nodelist + "' names no host");
    return host;
  }
  // "node[03-05,9]": the prefix and the first number of the range, with its leading zeros.
  const std::size_t end = nodelist.find_first_of("-,]", bracket + 1);
  if (end == std::string::npos || end == bracket + 1) {
    throw Error("SLURM node list '" + nodelist + "' is not of the form name[N-M,...]");
  }
  return nodelist.substr(0, bracket) + nodelist.substr(bracket + 1, end - bracket - 1);
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    throw Error("cannot find a free port on 127.0.0.1: " + reason);
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// This program's command line without `--nproc N`: what each process of `--nproc` runs.
std::vector<std::string> command_line_without_nproc() {
  const std::string text = read_file("/proc/self/cmdline", "this program's command line");
  std::vector<std::string> words;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\0', start);
    words.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "--nproc") {
      ++i;
      continue;
    }
    if (words[i].rfind("--nproc=", 0) == 0) continue;
    kept.push_back(words[i]);
  }
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error && !kept.empty()) kept[0] = self.string();
  return kept;
}

LocalLaunch launch_of_this_command(int nproc, const ProcessPlacement& placement,
                                   double timeout_seconds) {
  if (placement.distributed()) {
    throw Error("--nproc " + std::to_string(nproc) + " inside a launcher (" + placement.describe() +
                "); use one or the other");
  }
  LocalLaunch launch;
  launch.argv = command_line_without_nproc();
  launch.nproc = nproc;
  launch.timeout_seconds = timeout_seconds;
  return launch;
}

std::string device_of_process(const std::string& device, const ProcessPlacement& placement) {
  if (placement.distributed() && device == "cuda") {
    return "cuda:" + std::to_string(placement.local_rank);
  }
  return device;
}

int launch_local(const LocalLaunch& launch, std::ostream& log) {
  if (launch.nproc < 1) throw Error("--nproc must be >= 1, got " + std::to_string(launch.nproc));
  if (launch.argv.empty()) throw Error("launch_local: no program given");
  const int port = free_local_port();
  // The children's environment: ours without the placement variables, plus theirs.
  std::vector<std::string> base;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    static const char* const kOwn[] = {
        "RANK",        "WORLD_SIZE",  "LOCAL_RANK",          "LOCAL_WORLD_SIZE",
        "MASTER_ADDR", "MASTER_PORT", "NOISESCHED_LAUNCHER", "TORCHELASTIC_USE_AGENT_STORE"};
    if (std::find(std::begin(kOwn), std::end(kOwn), name) == std::end(kOwn)) base.push_back(entry);
  }

  // Signals are forwarded, not acted on: the children stop together after the same step.
  struct sigaction forward {
  }, old_int{}, old_term{};
  forward.sa_handler = on_forward_signal;
  sigemptyset(&forward.sa_mask);
  g_forward_signal.store(0);
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);

  std::map<pid_t, int> running;  // pid -> rank
  const auto kill_all = [&](int signal) {
    for (const auto& [pid, rank] : running) ::kill(pid, signal);
  };
  for (int rank = 0; rank < launch.nproc; ++rank) {
    std::vector<std::string> env = base;
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("WORLD_SIZE=" + std::to_string(launch.nproc));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(launch.nproc));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    env.push_back("NOISESCHED_LAUNCHER=nproc");
    pid_t pid = 0;
    try {
      pid = start_process(launch.argv, &env);
    } catch (const Error& e) {
      kill_all(SIGKILL);
      for (const auto& [child, r] : running) ::waitpid(child, nullptr, 0);
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      throw Error("rank " + std::to_string(rank) + ": " + e.what());
    }
    running.emplace(pid, rank);
  }

  using Clock = std::chrono::steady_clock;
  int first_failure = 0;
  std::optional<Clock::time_point> deadline;
  double deadline_seconds = 0;
  bool killed = false;
  const auto is_stop = [](int code) { return code == 128 + SIGINT || code == 128 + SIGTERM; };
  while (!running.empty()) {
    if (const int signal = g_forward_signal.exchange(0)) kill_all(signal);
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (deadline && Clock::now() > *deadline && !killed) {
        log << "nproc: the other ranks did not exit within " << format_exact(deadline_seconds)
            << " s of the first one's end; killing them\n";
        kill_all(SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const int rank = it->second;
    running.erase(it);
    const int code = exit_code_of(status);
    if (code != 0 && !killed) {
      if (WIFSIGNALED(status)) {
        log << "nproc: rank " << rank << " (pid " << pid << ") was killed by "
            << signal_name(WTERMSIG(status)) << " (" << WTERMSIG(status) << ")\n";
      } else {
        log << "nproc: rank " << rank << " (pid " << pid << ") exited with status " << code << "\n";
      }
    }
    if (code == 0) continue;
    // A stop by SIGINT/SIGTERM ends every rank with 130/143 after the same step, the first one's
    // checkpoint may take a while: the others get the write patience. Any other failure: the
    // timeout and a grace period. The status returned is the first real failure, else the stop.
    const bool stop = is_stop(code);
    if (first_failure == 0 || (is_stop(first_failure) && !stop && !killed)) first_failure = code;
    const double wait = stop ? kStopPatienceSeconds : launch.timeout_seconds + kGraceSeconds;
    const auto candidate =
        Clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(wait * 1000));
    if (!deadline || candidate < *deadline) {
      deadline = candidate;
      deadline_seconds = wait;
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return first_failure;
}

}  // namespace noisesched
