// Every file of fuzz/corpus/<target>/ through its fuzz target (fuzz/targets.h), in the normal
// suite: the seeds and every input a fuzzer once crashed on stay regression tests. A file whose
// name starts with "valid" must be accepted, one starting with "bad" must be rejected with a
// noisesched::Error, and one starting with "crash" (an input a fuzzer once crashed on) may end
// either way; anything else escaping, or an abort, fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "targets.h"

namespace noisesched::fuzz {

// gtest prints a parameter with this: the target's name, not its bytes.
void PrintTo(const Target& target, std::ostream* out) { *out << target.name; }

namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(NOISESCHED_TEST_DIR) / ".." / "fuzz" / "corpus";

std::vector<std::uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class FuzzCorpus : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzCorpus, EveryFileEndsCleanlyWithTheExpectedOutcome) {
  const Target& target = GetParam();
  const fs::path folder = kCorpus / target.name;
  ASSERT_TRUE(fs::is_directory(folder)) << folder;
  int valid = 0, bad = 0, files = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string name = entry.path().filename().string();
    const auto bytes = read_all(entry.path());
    Outcome outcome = Outcome::kRejected;
    ASSERT_NO_THROW(outcome = target.run(bytes.data(), bytes.size())) << name;
    if (name.rfind("valid", 0) == 0) {
      ++valid;
      EXPECT_EQ(outcome, Outcome::kAccepted) << target.name << "/" << name << " was rejected";
    } else if (name.rfind("bad", 0) == 0) {
      ++bad;
      EXPECT_EQ(outcome, Outcome::kRejected) << target.name << "/" << name << " was accepted";
    }
  }
  // Each corpus holds inputs of both kinds, so a target that accepts or rejects everything fails.
  EXPECT_GE(valid, 1) << folder;
  EXPECT_GE(bad, 1) << folder;
  std::cout << target.name << ": " << files << " files (" << valid << " valid, " << bad
            << " bad)\n";
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, ::testing::ValuesIn(targets()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace noisesched::fuzz
