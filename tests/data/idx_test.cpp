// IDX data sets: reading, resizing, and every bad-file case with its message.
#include "noisesched/data/idx.h"

#include <gtest/gtest.h>

#include <fstream>

#include "data/data_test_util.h"
#include "noisesched/common/error.h"
#include "test_util.h"

namespace noisesched {
namespace {

using testing::fresh_folder;
using testing::idx_bytes;
using testing::write_bytes;
using testing::write_idx_dataset;

std::string error_of(const std::function<void()>& f) { return testing::error_message(f); }

TEST(Idx, ReadsPlainAndGzipIdentically) {
  const auto folder = fresh_folder("idx-read");
  write_idx_dataset(folder / "plain", "train", 12, 28, 10, false);
  write_idx_dataset(folder / "gz", "train", 12, 28, 10, true);
  const auto a = read_idx_ubyte((folder / "plain" / "train-images-idx3-ubyte").string(), 3);
  const auto b = read_idx_ubyte((folder / "gz" / "train-images-idx3-ubyte.gz").string(), 3);
  EXPECT_EQ(a.dims, (std::vector<std::uint32_t>{12, 28, 28}));
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.data[0], 255);  // image 0, row 0 is the bright row
  EXPECT_EQ(a.data[28], 0);
  const auto files = find_idx_files((folder / "gz").string(), "train");
  EXPECT_NE(files.images.find(".gz"), std::string::npos);
}

TEST(Idx, DatasetLoadsLabelsAndResizes) {
  const auto folder = fresh_folder("idx-dataset");
  write_idx_dataset(folder, "t10k", 5, 28, 3, true);
  const auto files = find_idx_files(folder.string(), "test");
  const auto native = open_idx_dataset(files.images, files.labels, 28, 3, {"a", "b", "c"});
  ASSERT_EQ(native->size(), 5u);
  EXPECT_EQ(native->channels(), 1);
  std::vector<std::uint8_t> image(28 * 28);
  EXPECT_EQ(native->load(4, image.data()), 1);  // 4 % 3
  EXPECT_EQ(image[4 * 28], 255);                // bright row 4
  EXPECT_EQ(image[0], (4 * 37) % 200);
  const auto big = open_idx_dataset(files.images, files.labels, 64, 3, {"a", "b", "c"});
  std::vector<std::uint8_t> resized(64 * 64);
  EXPECT_EQ(big->load(2, resized.data()), 2);
  // The bright row 2 of 28 lands near rows 4-6 of 64; the top-left corner keeps the fill value.
  EXPECT_NEAR(resized[0], (2 * 37) % 200, 3);
  EXPECT_GT(resized[5 * 64 + 10], 200);
  EXPECT_LT(resized[20 * 64 + 10], 100);
}

TEST(Idx, WrongMagicNumber) {
  const auto folder = fresh_folder("idx-magic");
  write_bytes(folder / "x", idx_bytes(0x801, {3}, {1, 2, 3}), false);
  EXPECT_EQ(error_of([&] { read_idx_ubyte((folder / "x").string(), 3); }),
            "'" + (folder / "x").string() +
                "': not an IDX file of unsigned bytes with 3 dimensions (magic number 0x00000801, "
                "expected 0x00000803)");
}

TEST(Idx, TruncatedAndOverlongFiles) {
  const auto folder = fresh_folder("idx-truncated");
  write_bytes(folder / "short", idx_bytes(0x803, {2, 4, 4}, std::vector<std::uint8_t>(20)), false);
  EXPECT_NE(error_of([&] {
              read_idx_ubyte((folder / "short").string(), 3);
            }).find("truncated: the header promises 32 bytes of data, the file has 20"),
            std::string::npos);
  write_bytes(folder / "long", idx_bytes(0x803, {1, 2, 2}, std::vector<std::uint8_t>(9)), false);
  EXPECT_NE(error_of([&] {
              read_idx_ubyte((folder / "long").string(), 3);
            }).find("more data than the header describes (4 bytes"),
            std::string::npos);
  write_bytes(folder / "tiny", {0, 0}, false);
  EXPECT_NE(error_of([&] { read_idx_ubyte((folder / "tiny").string(), 1); }).find("truncated"),
            std::string::npos);
}

TEST(Idx, HeadersClaimingTooMuchAreRefusedBeforeReading) {
  const auto folder = fresh_folder("idx-limits");
  // 2^32-1 images of 16384^2 pixels: 2^60 bytes claimed by a 3-byte file.
  write_bytes(folder / "huge", idx_bytes(0x803, {0xffffffffu, 16384, 16384}, {1, 2, 3}), true);
  const std::string huge = error_of([&] { read_idx_ubyte((folder / "huge").string(), 3); });
  EXPECT_NE(huge.find((folder / "huge").string()), std::string::npos) << huge;
  EXPECT_NE(huge.find("more than 16 GiB of data, the limit"), std::string::npos) << huge;
  // A count far beyond the file but under the limit: truncated, without reading 4 GiB.
  write_bytes(folder / "count", idx_bytes(0x801, {0xffffffffu}, {1, 2, 3}), false);
  EXPECT_NE(error_of([&] {
              read_idx_ubyte((folder / "count").string(), 1);
            }).find("the header promises 4294967295 bytes of data, the file has 3"),
            std::string::npos);
  // 100000-pixel rows.
  write_bytes(folder / "wide", idx_bytes(0x803, {1, 1, 100000}, {}), false);
  EXPECT_NE(error_of([&] {
              read_idx_ubyte((folder / "wide").string(), 3);
            }).find("dimension 2 is 100000, over the limit of 16384 pixels per side"),
            std::string::npos);
  // The in-memory parser says the same, naming what it was given.
  const auto bytes = idx_bytes(0x803, {0xffffffffu, 16384, 16384}, {});
  EXPECT_NE(error_of([&] {
              parse_idx_ubyte(bytes.data(), bytes.size(), 3, "memory.idx");
            }).find("'memory.idx': the header's sizes claim more than 16 GiB"),
            std::string::npos);
}

TEST(Idx, CorruptGzip) {
  const auto folder = fresh_folder("idx-gzip");
  write_idx_dataset(folder, "train", 50, 28, 10, true);
  // Cut the compressed images file in half.
  const auto path = folder / "train-images-idx3-ubyte.gz";
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  const std::string e = error_of([&] { read_idx_ubyte(path.string(), 3); });
  EXPECT_NE(e.find(path.string()), std::string::npos) << e;
  EXPECT_NE(e.find("corrupt or truncated gzip data"), std::string::npos) << e;
  // Every byte of data present, only the gzip trailer (CRC and length) cut off.
  write_idx_dataset(folder, "t10k", 50, 28, 10, true);
  const auto whole = folder / "t10k-images-idx3-ubyte.gz";
  std::filesystem::resize_file(whole, std::filesystem::file_size(whole) - 4);
  const std::string trailer = error_of([&] { read_idx_ubyte(whole.string(), 3); });
  EXPECT_NE(trailer.find("corrupt or truncated gzip data"), std::string::npos) << trailer;
  // A flipped bit in the CRC.
  write_idx_dataset(folder, "t10k", 50, 28, 10, true);
  {
    std::fstream f(whole, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-8, std::ios::end);
    const char byte = static_cast<char>(f.get() ^ 1);
    f.seekp(-8, std::ios::end);
    f.put(byte);
  }
  const std::string crc = error_of([&] { read_idx_ubyte(whole.string(), 3); });
  EXPECT_NE(crc.find("corrupt or truncated gzip data"), std::string::npos) << crc;
}

TEST(Idx, CountMismatchAndLabelRange) {
  const auto folder = fresh_folder("idx-mismatch");
  write_idx_dataset(folder, "train", 6, 8, 10, false);
  write_bytes(folder / "labels5", idx_bytes(0x801, {5}, {0, 1, 2, 3, 4}), false);
  EXPECT_NE(error_of([&] {
              open_idx_dataset((folder / "train-images-idx3-ubyte").string(),
                               (folder / "labels5").string(), 8, 10, {});
            }).find("has 6 images but"),
            std::string::npos);
  write_bytes(folder / "labels-bad", idx_bytes(0x801, {6}, {0, 1, 2, 12, 4, 5}), false);
  EXPECT_EQ(error_of([&] {
              open_idx_dataset((folder / "train-images-idx3-ubyte").string(),
                               (folder / "labels-bad").string(), 8, 10, {});
            }),
            "'" + (folder / "labels-bad").string() + "': label 12 of example 3 is outside [0, 10)");
}

TEST(Idx, MissingFilesNameTheFolder) {
  const auto folder = fresh_folder("idx-missing");
  EXPECT_NE(
      error_of([&] { find_idx_files(folder.string(), "train"); }).find("train-images-idx3-ubyte"),
      std::string::npos);
  EXPECT_NE(error_of([&] { find_idx_files(folder.string(), "val"); }).find("data.split 'val'"),
            std::string::npos);
}

TEST(Idx, OpenDatasetHonoursLimit) {
  const auto folder = fresh_folder("idx-limit");
  write_idx_dataset(folder, "train", 20, 8, 10, false);
  DataConfig config;
  config.dataset = "mnist";
  config.path = folder.string();
  config.resolution = 8;
  config.limit = 7;
  const auto d = open_dataset(config);
  EXPECT_EQ(d->size(), 7u);
  EXPECT_NE(d->describe().find("first 7"), std::string::npos);
  EXPECT_EQ(d->class_names().size(), 10u);
}

}  // namespace
}  // namespace noisesched
