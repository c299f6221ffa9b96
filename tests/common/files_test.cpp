// Atomic file output: a failed write never damages what was there; folder locks and the cleanup
// of temporaries a killed writer left.
#include "noisesched/common/files.h"
#include "noisesched/common/folder_lock.h"

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

TEST_F(FilesTest, TemporaryNamesAreRecognisedExactly) {
  EXPECT_TRUE(
      is_temporary_name(std::filesystem::path(temporary_path_for("a/latest")).filename().string()));
  EXPECT_TRUE(is_temporary_name("step_00000300.tmp-4242-0"));
  EXPECT_TRUE(is_temporary_name("step_00000300.old.tmp-1-17"));
  for (const char* other : {"step_00000300", "latest", "tmp-1-2", ".tmp-1-2", "a.tmp-", "a.tmp-12",
                            "a.tmp-12-", "a.tmp--3", "a.tmp-1x-2", "a.tmp-1-2b", "notes.tmp"}) {
    EXPECT_FALSE(is_temporary_name(other)) << other;
  }
}

TEST_F(FilesTest, RemovesOnlyTemporaries) {
  create_directories((folder_ / "step_00000002.tmp-2147483646-0" / "inner").string());
  write_file_atomically((folder_ / "step_00000002.tmp-2147483646-0" / "inner" / "x").string(), "x");
  write_file_atomically((folder_ / "latest.tmp-2147483646-3").string(), "step_00000002\n");
  write_file_atomically((folder_ / "latest").string(), "step_00000001\n");
  create_directories((folder_ / "step_00000001").string());
  // A live writer's temporary (this process's pid) and a name outside the prefixes stay.
  const std::string live = "latest.tmp-" + std::to_string(::getpid()) + "-0";
  write_file_atomically((folder_ / live).string(), "x");
  write_file_atomically((folder_ / "notes.tmp-999-1").string(), "mine");
  EXPECT_EQ(remove_temporaries(folder_.string(), {"step_", "latest"}), 2);
  EXPECT_TRUE(std::filesystem::exists(folder_ / live));
  EXPECT_TRUE(std::filesystem::exists(folder_ / "notes.tmp-999-1"));
  EXPECT_FALSE(std::filesystem::exists(folder_ / "step_00000002.tmp-2147483646-0"));
  EXPECT_FALSE(std::filesystem::exists(folder_ / "latest.tmp-2147483646-3"));
  EXPECT_EQ(read(folder_ / "latest"), "step_00000001\n");
  EXPECT_TRUE(std::filesystem::is_directory(folder_ / "step_00000001"));
  EXPECT_EQ(remove_temporaries(folder_.string(), {"step_", "latest"}), 0);
  EXPECT_EQ(remove_temporaries((folder_ / "missing").string(), {"step_"}), 0);
}

TEST_F(FilesTest, FolderLockRefusesASecondHolderAndNamesTheFirst) {
  const std::string run = (folder_ / "run").string();
  {
    FolderLock first(run, "run folder");
    EXPECT_TRUE(std::filesystem::exists(folder_ / "run" / ".lock"));
    try {
      FolderLock second(run, "run folder");
      FAIL() << "a second lock was granted";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("the run folder '" + run + "' is in use by another process"),
                std::string::npos)
          << m;
      EXPECT_NE(m.find("pid " + std::to_string(::getpid()) + " on "), std::string::npos) << m;
    }
  }
  // Released with its holder (a killed process releases it too: the kernel drops the flock).
  EXPECT_NO_THROW(FolderLock again(run, "run folder"));
}

}  // namespace
}  // namespace noisesched
