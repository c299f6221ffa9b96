// noisesched/common/process.h: running a helper program (no shell, no quoting pitfalls).
#pragma once

#include <string>
#include <vector>

namespace noisesched {

// Runs argv[0] (looked up in PATH when it has no slash) with the given arguments, waits, and
// returns its exit status (128 + signal number when it was killed). Throws when it cannot start.
int run_process(const std::vector<std::string>& argv);

// Whether `program` names an executable file (a path, or a name found in PATH).
bool program_exists(const std::string& program);

// Every executable file called `name` in PATH's folders, in PATH's order, each path once (an
// empty entry of PATH is the current folder).
std::vector<std::string> executables_on_path(const std::string& name);

}  // namespace noisesched
