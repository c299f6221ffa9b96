// Helper-program execution with posix_spawnp (see process.h).
#include "noisesched/common/process.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "noisesched/common/error.h"

extern char** environ;

namespace noisesched {

pid_t start_process(const std::vector<std::string>& argv, const std::vector<std::string>* env) {
  if (argv.empty()) throw Error("start_process: no program given");
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (env != nullptr) {
    for (const auto& entry : *env) envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(),
                                env != nullptr ? envp.data() : environ);
  if (rc != 0) throw Error("cannot start '" + argv[0] + "': " + std::strerror(rc));
  return pid;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

int run_process(const std::vector<std::string>& argv) {
  const pid_t pid = start_process(argv);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw Error("waiting for '" + argv[0] + "' failed: " + std::strerror(errno));
    }
  }
  return exit_code_of(status);
}

bool program_exists(const std::string& program) {
  if (program.empty()) return false;
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  return !executables_on_path(program).empty();
}

std::vector<std::string> executables_on_path(const std::string& name) {
  std::vector<std::string> out;
  const char* path = std::getenv("PATH");
  std::stringstream folders(path != nullptr ? path : "");
  for (std::string folder; std::getline(folders, folder, ':');) {
    if (folder.empty()) folder = ".";
    const std::string candidate = folder + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0 &&
        std::find(out.begin(), out.end(), candidate) == out.end()) {
      out.push_back(candidate);
    }
  }
  return out;
}

}  // namespace noisesched
