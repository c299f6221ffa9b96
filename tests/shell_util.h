// Running a shell command line in tests, capturing its status and output.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

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

}  // namespace noisesched::testing
