// noisesched/common/process.h: running a helper program (no shell, no quoting pitfalls).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace noisesched {

// Runs argv[0] (looked up in PATH when it has no slash) with the given arguments, waits, and
// returns its exit status (128 + signal number when it was killed). Throws when it cannot start.
int run_process(const std::vector<std::string>& argv);

// Starts `argv` (the program found in PATH when it names no folder) with the environment `env`
// ("NAME=value" entries; null: this process's) and returns its process id, without waiting.
// Throws naming the program and the reason when it cannot start.
pid_t start_process(const std::vector<std::string>& argv,
                    const std::vector<std::string>* env = nullptr);

// A waitpid() status as an exit code: the program's exit status, 128 + the number of the signal
// that killed it, or 255 for anything else.
int exit_code_of(int wait_status);

// Whether `program` names an executable file (a path, or a name found in PATH).
bool program_exists(const std::string& program);

// Every executable file called `name` in PATH's folders, in PATH's order, each path once (an
// empty entry of PATH is the current folder).
std::vector<std::string> executables_on_path(const std::string& name);

}  // namespace noisesched
