// noisesched/common/files.h: file output that never leaves a half-written result behind.
//
// Every result file is written to a temporary name in the same folder, flushed to disk and then
// renamed over the destination, so a crash or a full disk keeps the previous version intact.
#pragma once

#include <string>
#include <string_view>

namespace noisesched {

// A temporary path beside `path` (same folder, so rename() is atomic), unique to this process.
std::string temporary_path_for(const std::string& path);

// Flushes `path` to disk and renames it to `destination`; throws naming both on failure.
void commit_file(const std::string& path, const std::string& destination);

// Writes `content` to `path` atomically (temporary file, fsync, rename).
void write_file_atomically(const std::string& path, std::string_view content);

// A 16-digit hex digest of a file's content (64-bit FNV-1a over its bytes, then mixed): a cache
// key that changes whenever the content does. Throws naming the file when it cannot be read.
std::string file_fingerprint(const std::string& path);

// The same digest of a string (for cache keys built from several parts).
std::string text_fingerprint(std::string_view text);

// The whole content of a file. Throws "cannot read <what> '<path>' (<reason>)" when it is missing,
// a folder or unreadable.
std::string read_file(const std::string& path, std::string_view what = "file");

// Creates `path` and its parents if missing; throws naming the path on failure.
void create_directories(const std::string& path);

}  // namespace noisesched
