// Atomic file output: a failed write never damages what was there.
#include "noisesched/common/files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("noisesched-files-test-" +
               std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(folder_);
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::filesystem::path folder_;
};

TEST_F(FilesTest, WritesAndReplaces) {
  const auto path = (folder_ / "a.txt").string();
  write_file_atomically(path, "first");
  EXPECT_EQ(read(path), "first");
  write_file_atomically(path, "second");
  EXPECT_EQ(read(path), "second");
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(folder_), {}), 1);
}

TEST_F(FilesTest, FailedWriteKeepsTheOldFileAndNamesThePath) {
  const auto path = (folder_ / "keep.txt").string();
  write_file_atomically(path, "precious");
  std::filesystem::permissions(
      folder_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const bool can_still_write = ::access(folder_.c_str(), W_OK) == 0;  // root ignores permissions
  if (!can_still_write) {
    try {
      write_file_atomically(path, "clobbered");
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  std::filesystem::permissions(folder_, std::filesystem::perms::owner_all);
  if (!can_still_write) {
    EXPECT_EQ(read(path), "precious");
  }
  // A destination inside a missing folder fails with its name and creates nothing.
  const auto missing = (folder_ / "no-such-folder" / "x.txt").string();
  EXPECT_THROW(write_file_atomically(missing, "x"), Error);
  EXPECT_FALSE(std::filesystem::exists(missing));
  EXPECT_EQ(read(path), "precious");
}

TEST_F(FilesTest, FailedRenameLeavesNoTemporaryAndNamesBothPaths) {
  // A destination that is a folder cannot be replaced by a file (this fails even for root).
  const auto destination = folder_ / "taken";
  std::filesystem::create_directories(destination / "inside");
  try {
    write_file_atomically(destination.string(), "x");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(destination.string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::is_directory(destination / "inside"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(folder_), {}), 1)
      << "temporary file left behind";
}

TEST_F(FilesTest, CommitReplacesOnlyWhenComplete) {
  const auto path = (folder_ / "result.bin").string();
  write_file_atomically(path, "old");
  const auto temporary = temporary_path_for(path);
  {
    std::ofstream out(temporary, std::ios::binary);
    out << "new";
  }
  EXPECT_EQ(read(path), "old");  // until committed, readers see the old result
  commit_file(temporary, path);
  EXPECT_EQ(read(path), "new");
  EXPECT_FALSE(std::filesystem::exists(temporary));
}

TEST_F(FilesTest, CreateDirectoriesNamesTheProblem) {
  create_directories((folder_ / "a" / "b").string());
  EXPECT_TRUE(std::filesystem::is_directory(folder_ / "a" / "b"));
  write_file_atomically((folder_ / "plain").string(), "x");
  try {
    create_directories((folder_ / "plain" / "sub").string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("plain/sub"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace noisesched
