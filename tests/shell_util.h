// Running a shell command line in tests, capturing its status and output.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace noisesched::testing {

struct ShellResult {
  int status = -1;     // the exit status; -1 when the command did not exit normally
  std::string output;  // stdout and stderr together
};

inline ShellResult run_shell(const std::string& command_line) {
  ShellResult result;
  FILE* pipe = ::popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) result.output += buffer;
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A Python that imports every module of `modules` (space-separated, e.g. "numpy scipy"), for
// tests that use one as an independent reference: NOISESCHED_TEST_PYTHON when set (that one or
// none), else Debian's /usr/bin/python3, else the first python3 on PATH. Empty when none has
// them; `tried` then says which Pythons were asked and what they lacked, for GTEST_SKIP().
inline std::string python_with(const std::string& modules, std::string* tried = nullptr) {
  std::vector<std::string> candidates;
  if (const char* chosen = std::getenv("NOISESCHED_TEST_PYTHON"); chosen != nullptr && *chosen) {
    candidates.push_back(chosen);
  } else {
    candidates = {"/usr/bin/python3", "python3"};
  }
  std::string imports;
  for (std::size_t start = 0; start < modules.size();) {
    std::size_t end = modules.find(' ', start);
    if (end == std::string::npos) end = modules.size();
    if (end > start) imports += (imports.empty() ? "" : ", ") + modules.substr(start, end - start);
    start = end + 1;
  }
  std::string report;
  for (const auto& python : candidates) {
    const ShellResult r = run_shell(python + " -c 'import " + imports + "'");
    if (r.status == 0) return python;
    // Its last line says why ("ModuleNotFoundError: No module named 'numpy'", "not found").
    std::string reason = "no output, status " + std::to_string(r.status);
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) reason = line;
    }
    report += (report.empty() ? "" : "; ") + python + ": " + reason;
  }
  if (tried != nullptr) *tried = "no Python imports " + imports + " (" + report + ")";
  return "";
}

// Starts args[0] (a path) with `args`, `extra_env` ("NAME=value") added to this process's
// environment, stdout and stderr written to `log` (appended, or the file emptied first when
// `truncate`). Returns the process id, or -1 when it could not start.
inline pid_t spawn_logged(std::vector<std::string> args, const std::vector<std::string>& extra_env,
                          const std::string& log, bool truncate = false) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment = extra_env;
  for (char** e = environ; *e != nullptr; ++e) environment.push_back(*e);
  std::vector<char*> envp;
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | (truncate ? O_TRUNC : O_APPEND), 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

}  // namespace noisesched::testing
