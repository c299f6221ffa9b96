// Folder locks and stale temporaries (see folder_lock.h).
#include "noisesched/common/folder_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"

namespace noisesched {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

bool is_temporary_name(std::string_view name) {
  const auto at = name.rfind(".tmp-");
  if (at == std::string_view::npos || at == 0) return false;
  const std::string_view rest = name.substr(at + 5);  // <pid>-<counter>
  const auto dash = rest.find('-');
  const auto digits = [](std::string_view part) {
    return !part.empty() &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return dash != std::string_view::npos && digits(rest.substr(0, dash)) &&
         digits(rest.substr(dash + 1));
}

int remove_temporaries(const std::string& folder, const std::vector<std::string>& prefixes) {
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) return 0;
  std::vector<std::filesystem::path> stale;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (!is_temporary_name(name)) continue;
    if (std::none_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return name.rfind(p, 0) == 0; })) {
      continue;
    }
    // The writer's pid: a temporary of a live process (another command writing a report, say)
    // is not stale.
    const auto at = name.rfind(".tmp-") + 5;
    const long pid = std::strtol(name.c_str() + at, nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;
    stale.push_back(entry.path());
  }
  if (error) throw Error("cannot list folder '" + folder + "': " + error.message());
  for (const auto& path : stale) {
    std::filesystem::remove_all(path, error);
    if (error) {
      throw Error("cannot remove stale temporary '" + path.string() + "': " + error.message());
    }
  }
  return static_cast<int>(stale.size());
}

FolderLock::FolderLock(const std::string& folder, const std::string& what) {
  create_directories(folder);
  const std::string path = (std::filesystem::path(folder) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot open lock file '" + path + "': " + errno_text());
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int saved = errno;
    std::string holder;
    char buffer[512];
    const ssize_t n = ::pread(fd_, buffer, sizeof(buffer) - 1, 0);
    if (n > 0) holder.assign(buffer, static_cast<std::size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (saved == EWOULDBLOCK) {
      throw Error("the " + what + " '" + folder + "' is in use by another process (" +
                  (holder.empty() ? std::string("holder unknown") : holder) +
                  "); wait for it to finish or stop it, or choose another folder");
    }
    errno = saved;
    throw Error("cannot lock '" + path + "': " + errno_text());
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const std::string text = "pid " + std::to_string(::getpid()) + " on " + host + ", since " +
                           std::to_string(static_cast<long long>(::time(nullptr))) +
                           " (Unix time)\n";
  // Best effort: the lock itself is the flock, the text only names the holder.
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd_, text.data(), text.size(), 0);
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace noisesched
