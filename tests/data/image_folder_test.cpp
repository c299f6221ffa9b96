// Image-folder data sets: classes from sub-folders, crop and resize, and bad files.
#include "noisesched/data/image_folder.h"

#include <gtest/gtest.h>

#include <turbojpeg.h>
#include <zlib.h>

#include <fstream>

#include "data/data_test_util.h"
#include "noisesched/common/error.h"
#include "noisesched/data/image_io.h"
#include "test_util.h"

namespace noisesched {
namespace {

using testing::fresh_folder;

// A w x h RGB image whose left half is red and right half blue.
ImageCHW two_colour(int w, int h) {
  ImageCHW image{3, h, w, std::vector<std::uint8_t>(static_cast<std::size_t>(3) * w * h, 0)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      image.pixels[(0 * h + y) * w + x] = x < w / 2 ? 255 : 0;
      image.pixels[(2 * h + y) * w + x] = x < w / 2 ? 0 : 255;
    }
  }
  return image;
}

std::string error_of(const std::function<void()>& f) { return testing::error_message(f); }

TEST(ImageFolder, ClassesAreSortedSubFoldersAndImagesAreCroppedAndResized) {
  const auto root = fresh_folder("folder-ok");
  std::filesystem::create_directories(root / "zebra");
  std::filesystem::create_directories(root / "apple");
  write_png((root / "apple" / "a.png").string(), two_colour(40, 20));
  write_png((root / "zebra" / "b.PNG").string(), two_colour(20, 40));
  std::ofstream(root / "zebra" / "notes.txt") << "not an image";
  const auto d = open_image_folder(root.string(), 8, false);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ(d->class_names(), (std::vector<std::string>{"apple", "zebra"}));
  EXPECT_EQ(d->channels(), 3);
  std::vector<std::uint8_t> pixels(3 * 8 * 8);
  EXPECT_EQ(d->load(0, pixels.data()), 0);
  // A 40x20 image is centre-cropped to 20x20 (x from 10 to 30): left half red, right half blue.
  EXPECT_GT(pixels[0 * 64 + 3 * 8 + 1], 200);  // red channel, left
  EXPECT_LT(pixels[0 * 64 + 3 * 8 + 6], 50);   // red channel, right
  EXPECT_GT(pixels[2 * 64 + 3 * 8 + 6], 200);  // blue channel, right
  EXPECT_EQ(d->load(1, pixels.data()), 1);
}

TEST(ImageFolder, EmptyFoldersAreErrors) {
  const auto root = fresh_folder("folder-empty");
  EXPECT_NE(
      error_of([&] { open_image_folder(root.string(), 8, false); }).find("no class sub-folders"),
      std::string::npos);
  std::filesystem::create_directories(root / "cats");
  EXPECT_NE(error_of([&] {
              open_image_folder(root.string(), 8, false);
            }).find("class folder 'cats' has no .jpg, .jpeg or .png images"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { open_image_folder((root / "nope").string(), 8, false); }).find("not a folder"),
      std::string::npos);
}

TEST(ImageFolder, UnreadableImageIsNamedOrSkippedAndCounted) {
  const auto root = fresh_folder("folder-bad");
  std::filesystem::create_directories(root / "a");
  write_png((root / "a" / "good.png").string(), two_colour(8, 8));
  std::ofstream(root / "a" / "broken.jpg") << "this is not a jpeg";
  const std::string e = error_of([&] { open_image_folder(root.string(), 8, false); });
  EXPECT_NE(e.find((root / "a" / "broken.jpg").string()), std::string::npos) << e;
  EXPECT_NE(e.find("skip_bad_images"), std::string::npos) << e;
  const auto d = open_image_folder(root.string(), 8, true);
  EXPECT_EQ(d->size(), 1u);
  EXPECT_NE(d->describe().find("skipped 1 unreadable images"), std::string::npos) << d->describe();
}

// A JPEG of a w x h image of one colour, from `pixels` in TurboJPEG's `format` (RGB or CMYK).
std::vector<std::uint8_t> jpeg_of(int w, int h, int format,
                                  const std::vector<std::uint8_t>& pixel) {
  std::vector<std::uint8_t> image;
  for (int i = 0; i < w * h; ++i) image.insert(image.end(), pixel.begin(), pixel.end());
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  EXPECT_EQ(tjCompress2(handle, image.data(), w, 0, h, format, &out, &size, TJSAMP_444, 95, 0), 0)
      << tjGetErrorStr2(handle);
  std::vector<std::uint8_t> bytes(out, out + size);
  tjFree(out);
  tjDestroy(handle);
  return bytes;
}

TEST(ImageIo, JpegDecodesToRgbAndGreyIncludingCmyk) {
  const auto rgb = jpeg_of(16, 8, TJPF_RGB, {200, 40, 10});
  const ImageHWC colour = decode_image(rgb.data(), rgb.size(), 3, "rgb.jpg");
  ASSERT_EQ(colour.width, 16);
  ASSERT_EQ(colour.height, 8);
  EXPECT_NEAR(colour.pixels[0], 200, 6);
  EXPECT_NEAR(colour.pixels[1], 40, 6);
  EXPECT_NEAR(colour.pixels[2], 10, 6);
  const ImageHWC grey = decode_image(rgb.data(), rgb.size(), 1, "rgb.jpg");
  EXPECT_NEAR(grey.pixels[0], (299 * 200 + 587 * 40 + 114 * 10) / 1000, 6);
  // Adobe's inverted CMYK: C = 255 - cyan ink, ...; R = C K / 255.
  const auto cmyk = jpeg_of(8, 8, TJPF_CMYK, {255, 128, 64, 200});
  const ImageHWC converted = decode_image(cmyk.data(), cmyk.size(), 3, "cmyk.jpg");
  EXPECT_NEAR(converted.pixels[0], 255 * 200 / 255, 6);
  EXPECT_NEAR(converted.pixels[1], 128 * 200 / 255, 6);
  EXPECT_NEAR(converted.pixels[2], 64 * 200 / 255, 6);
}

TEST(ImageIo, HugeHeadersAndOtherFormatsAreRefusedBeforeDecoding) {
  const auto root = fresh_folder("folder-huge");
  std::filesystem::create_directories(root / "a");
  write_png((root / "a" / "good.png").string(), two_colour(8, 8));
  // A PNG whose header claims 100000 x 100000 pixels (30 GB decoded).
  write_png((root / "a" / "huge.png").string(), two_colour(8, 8));
  {
    std::fstream f(root / "a" / "huge.png", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(16);
    const unsigned char size[8] = {0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0};
    f.write(reinterpret_cast<const char*>(size), 8);
  }
  std::string e = error_of([&] { open_image_folder(root.string(), 8, false); });
  EXPECT_NE(
      e.find("huge.png': the image is 100000x100000 pixels; each side must lie in [1, 16384]"),
      std::string::npos)
      << e;
  // A 1x1 PNG whose IDAT inflates to 16 MiB: refused before stb inflates it.
  {
    const std::vector<std::uint8_t> zeros(16 << 20, 0);
    uLongf packed_size = compressBound(zeros.size());
    std::vector<std::uint8_t> packed(packed_size);
    ASSERT_EQ(compress2(packed.data(), &packed_size, zeros.data(), zeros.size(), 9), Z_OK);
    packed.resize(packed_size);
    std::string png = "\x89PNG\r\n\x1a\n";
    const auto chunk = [&](const std::string& kind, const std::string& body) {
      const std::uint32_t length = static_cast<std::uint32_t>(body.size());
      for (int i = 3; i >= 0; --i) png += static_cast<char>((length >> (8 * i)) & 0xff);
      png += kind + body;
      const std::string both = kind + body;
      const auto crc = crc32(0, reinterpret_cast<const Bytef*>(both.data()), both.size());
      for (int i = 3; i >= 0; --i) png += static_cast<char>((crc >> (8 * i)) & 0xff);
    };
    chunk("IHDR", std::string("\0\0\0\1\0\0\0\1\x08\0\0\0\0", 13));
    chunk("IDAT", std::string(packed.begin(), packed.end()));
    chunk("IEND", "");
    const std::string bomb = error_of([&] {
      decode_image(reinterpret_cast<const std::uint8_t*>(png.data()), png.size(), 1, "bomb.png");
    });
    EXPECT_NE(bomb.find("'bomb.png': the PNG's compressed data inflates to more than its 1x1 "
                        "header needs"),
              std::string::npos)
        << bomb;
  }
  // Sides within the limit, but 12918 x 16140 pixels in all (the fuzzer's 644-byte JPEG).
  const std::string many = error_of([&] { check_image_size(12918, 16140, "big.jpg"); });
  EXPECT_NE(many.find("'big.jpg': the image is 12918x16140 pixels; at most 67108864 pixels"),
            std::string::npos)
      << many;
  EXPECT_NO_THROW(check_image_size(8192, 8192, "ok.jpg"));
  const std::string bytes = "BM" + std::string(60, '\0');
  e = error_of([&] {
    decode_image(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), 3, "x.png");
  });
  EXPECT_NE(e.find("'x.png': not a PNG or JPEG file"), std::string::npos) << e;
}

}  // namespace
}  // namespace noisesched
