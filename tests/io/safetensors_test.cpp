// safetensors: bit-exact round trips, an independent reader, and malformed files.
#include "noisesched/io/safetensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "noisesched/common/error.h"
#include "shell_util.h"
#include "test_util.h"

namespace noisesched {
namespace {

std::filesystem::path folder() {
  const auto f = std::filesystem::temp_directory_path() / "noisesched-safetensors-test";
  std::filesystem::create_directories(f);
  return f;
}

std::string error_of(const std::string& path) {
  return testing::error_message([&] { load_safetensors(path); });
}

TEST(Safetensors, RoundTripIsBitExactForEveryDtype) {
  const auto path = (folder() / "all.safetensors").string();
  const NamedTensors tensors = {
      {"f32", at::randn({3, 5})},
      {"f64", at::randn({4}, at::kDouble)},
      {"f16", at::randn({2, 2}).to(at::kHalf)},
      {"bf16", at::randn({6}).to(at::kBFloat16)},
      {"i64", at::arange(10, at::kLong)},
      {"i32", at::arange(-3, 3, at::kInt)},
      {"u8", at::arange(0, 255, 17, at::kByte)},
      {"bool", at::rand({5}) > 0.5},
      {"scalar", at::scalar_tensor(3.5)},
      {"empty", at::empty({0, 4})},
      {"strided", at::randn({4, 6}).t()},  // non-contiguous input is written contiguously
  };
  save_safetensors(path, tensors, {{"format", "noisesched"}, {"step", "12"}});
  const auto loaded = load_safetensors(path);
  EXPECT_EQ(loaded.metadata.at("step"), "12");
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    const at::Tensor& back = loaded.tensors.at(name);
    EXPECT_EQ(back.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_EQ(back.sizes(), tensor.sizes()) << name;
    EXPECT_TRUE(at::equal(back, tensor.contiguous())) << name;
  }
}

TEST(Safetensors, AnIndependentReaderSeesTheSameTensors) {
  const auto path = (folder() / "python.safetensors").string();
  const at::Tensor weights = at::randn({2, 3});
  const at::Tensor counts = at::tensor(std::vector<std::int64_t>{7, -1, 42});
  const at::Tensor halves = at::tensor(std::vector<float>{0.5f, -2.0f}).to(at::kBFloat16);
  save_safetensors(path, {{"layer.weight", weights}, {"counts", counts}, {"h", halves}},
                   {{"kind", "model"}});
  const std::string json_path = path + ".json";
  std::string tried;
  const std::string python = testing::python_with("numpy", &tried);
  if (python.empty()) GTEST_SKIP() << tried;
  const std::string command = python + " " + std::string(NOISESCHED_TEST_DIR) +
                              "/io/read_safetensors.py " + path + " > " + json_path;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(json_path);
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["metadata"]["kind"], "model");
  const auto& w = doc["tensors"]["layer.weight"];
  EXPECT_EQ(w["dtype"], "F32");
  EXPECT_EQ(w["shape"], nlohmann::json::array({2, 3}));
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(w["values"][i].get<double>(),
              static_cast<double>(weights.flatten()[i].item<float>()));
  }
  EXPECT_EQ(doc["tensors"]["counts"]["values"], nlohmann::json::array({7.0, -1.0, 42.0}));
  EXPECT_EQ(doc["tensors"]["h"]["values"], nlohmann::json::array({0.5, -2.0}));
}

TEST(Safetensors, MalformedFilesAreNamedErrors) {
  const auto dir = folder();
  const auto good = (dir / "good.safetensors").string();
  save_safetensors(good, {{"a", at::ones({4})}});
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& name, const std::string& content) {
    const auto path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };
  EXPECT_NE(error_of(write("short", "abc")).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(write("cut", bytes.substr(0, bytes.size() - 3)))
                .find("tensor 'a' has data_offsets outside"),
            std::string::npos);
  EXPECT_NE(error_of(write("extra", bytes + "xyz")).find("belong to no tensor"), std::string::npos);
  std::string huge = bytes;
  huge[7] = 0x10;  // header length far beyond the file
  EXPECT_NE(error_of(write("huge", huge)).find("exceeds the file"), std::string::npos);
  std::string bad_json = bytes;
  bad_json[8] = '[';
  EXPECT_NE(error_of(write("json", bad_json)).find("header is not valid JSON"), std::string::npos);
  std::string bad_dtype = bytes;
  bad_dtype.replace(bad_dtype.find("F32"), 3, "F99");
  EXPECT_NE(error_of(write("dtype", bad_dtype)).find("unknown dtype F99"), std::string::npos);
  EXPECT_NE(error_of((dir / "missing").string()).find("cannot read safetensors file"),
            std::string::npos);
  const std::string e = error_of(write("short2", "abc"));
  EXPECT_NE(e.find((dir / "short2").string()), std::string::npos) << e;
}

TEST(Safetensors, RejectsDuplicateOrReservedNames) {
  const auto path = (folder() / "dup.safetensors").string();
  EXPECT_THROW(save_safetensors(path, {{"a", at::ones({1})}, {"a", at::ones({1})}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"__metadata__", at::ones({1})}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"", at::ones({1})}}), Error);
}

}  // namespace
}  // namespace noisesched
