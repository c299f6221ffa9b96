// A program linked like noisesched (LibTorch and the program's libraries, the same flags) that
// throws and catches a C++ exception, removes a folder tree with std::filesystem and touches
// LibTorch: the three things that crashed the first GPU build (docs/reliability.md, "One C++
// runtime"). Prints "runtime probe: ok" and exits 0, or dies with the signal that shows the fault.
// scripts/device-check.sh runs it with and without a process-wide LD_LIBRARY_PATH.
#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

int main() {
  namespace fs = std::filesystem;
  std::string caught;
  try {
    throw std::runtime_error("thrown");
  } catch (const std::exception& e) {
    caught = e.what();
  }
  const fs::path folder = fs::temp_directory_path() / "noisesched-runtime-probe";
  fs::create_directories(folder / "a" / "b");
  std::error_code error;
  const auto removed = fs::remove_all(folder, error);
  const double sum = at::ones({3}).sum().item<double>();
  if (caught != "thrown" || error || removed != 3 || sum != 3.0) {
    std::printf("runtime probe: wrong results (caught '%s', removed %d, %s, sum %g)\n",
                caught.c_str(), static_cast<int>(removed), error.message().c_str(), sum);
    return 1;
  }
  std::printf("runtime probe: ok\n");
  return 0;
}
