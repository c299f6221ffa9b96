// noisesched/common/folder_lock.h: one writer per folder, and the cleanup after a killed one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace noisesched {

// Whether `name` (a file name, no folder) has the form temporary_path_for() gives:
// <anything>.tmp-<pid>-<counter>.
bool is_temporary_name(std::string_view name);

// Removes the temporaries directly inside `folder` that a killed writer left: names of the form
// is_temporary_name() gives, starting with one of `prefixes` (e.g. "step_", "latest"), whose
// writer (the pid in the name) is no longer running; returns how many. Only safe while no other
// process writes into `folder` under those names (hold its FolderLock). A missing folder has none.
int remove_temporaries(const std::string& folder, const std::vector<std::string>& prefixes);

// An exclusive lock on a folder for one writing process: flock() on `<folder>/.lock`, released
// when the object is destroyed or the process ends in any way (kill -9 included, so a lock is
// never stale). The file names the holder (pid, host, start time) for the error of the next one.
class FolderLock {
 public:
  // Creates the folder if needed and takes the lock; throws naming the folder and the holder when
  // another process has it. `what` says what the lock guards ("run folder").
  FolderLock(const std::string& folder, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace noisesched
