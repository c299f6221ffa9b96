// The plain-PyTorch models of the speed comparison (bench/reference/) have exactly the parameter
// counts of the C++ models built from the same configurations: the comparison times the same
// networks. Runs Debian's python3-torch as the reference.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "noisesched/config/config.h"
#include "noisesched/models/denoiser.h"
#include "shell_util.h"

namespace noisesched {
namespace {

TEST(ReferenceModels, PyTorchModelsHaveTheParameterCountsOfTheCppModels) {
  const std::string root = std::string(NOISESCHED_TEST_DIR) + "/..";
  std::string tried;
  const std::string python = testing::python_with("torch", &tried);
  if (python.empty()) GTEST_SKIP() << tried;
  const auto result =
      testing::run_shell(python + " " + root + "/bench/reference/compare.py --counts --threads 1");
  ASSERT_EQ(result.status, 0) << result.output;
  const auto counts = nlohmann::json::parse(result.output);
  ASSERT_EQ(counts.size(), 3u) << result.output;
  for (const auto& [name, entry] : counts.items()) {
    Config config = load_config(root + "/" + entry["config"].get<std::string>());
    for (const auto& assignment : entry["overrides"]) {
      apply_override(config, assignment.get<std::string>());
    }
    // Fashion-MNIST: one channel, ten classes (and the null class).
    const Denoiser model = make_denoiser(resolve(config), 1, 10);
    EXPECT_EQ(parameter_count(*model), entry["parameters"].get<std::int64_t>()) << name;
    EXPECT_GT(entry["parameters"].get<std::int64_t>(), 1000000) << name;
  }
}

}  // namespace
}  // namespace noisesched
