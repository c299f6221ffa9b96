// Atomic file output (see files.h).
#include "noisesched/common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "noisesched/common/error.h"
#include "noisesched/common/random.h"

namespace noisesched {
namespace {

std::string errno_text() { return std::strerror(errno); }

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) throw Error("cannot open '" + path + "' to flush it: " + errno_text());
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  // Some file systems refuse fsync on directories; that is not a failed write.
  if (rc != 0 && !(flags & O_DIRECTORY && (saved == EINVAL || saved == EBADF))) {
    errno = saved;
    throw Error("cannot flush '" + path + "' to disk: " + errno_text());
  }
}

}  // namespace

std::string temporary_path_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

void commit_file(const std::string& path, const std::string& destination) {
  fsync_path(path, O_RDONLY);
  if (std::rename(path.c_str(), destination.c_str()) != 0) {
    const std::string reason = errno_text();
    std::remove(path.c_str());
    throw Error("cannot rename '" + path + "' to '" + destination + "': " + reason);
  }
  auto folder = std::filesystem::path(destination).parent_path();
  fsync_path(folder.empty() ? std::string(".") : folder.string(), O_RDONLY | O_DIRECTORY);
}

void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string temporary = temporary_path_for(path);
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) throw Error("cannot create '" + temporary + "': " + errno_text());
  bool ok = std::fwrite(content.data(), 1, content.size(), file) == content.size();
  int error = ok ? 0 : errno;
  if (std::fclose(file) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    std::remove(temporary.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(error));
  }
  commit_file(temporary, path);
}

std::string read_file(const std::string& path, std::string_view what) {
  auto fail = [&](const std::string& reason) {
    return Error("cannot read " + std::string(what) + " '" + path + "' (" + reason + ")");
  };
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) throw fail("it is a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(errno_text());
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  if (in.bad()) throw fail("read error");
  return bytes;
}

void create_directories(const std::string& path) {
  if (path.empty()) return;
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) throw Error("cannot create folder '" + path + "': " + error.message());
}

namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

std::uint64_t fnv1a(std::uint64_t h, const char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    h = (h ^ static_cast<unsigned char>(data[i])) * 0x100000001b3ULL;
  }
  return h;
}

std::string digest_text(std::uint64_t h) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(mix64(h)));
  return text;
}

}  // namespace

std::string text_fingerprint(std::string_view text) {
  return digest_text(fnv1a(kFnvOffset, text.data(), text.size()));
}

std::string file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "': " + std::strerror(errno));
  std::uint64_t h = kFnvOffset;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    h = fnv1a(h, buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw Error("error reading '" + path + "'");
  return digest_text(h);
}

}  // namespace noisesched
