// The torch-free safetensors layout check and state.json check: hostile sizes are refused before
// anything is allocated, with the file and the limit named.
#include <gtest/gtest.h>

#include <string>

#include "noisesched/common/error.h"
#include "noisesched/io/checkpoint_state.h"
#include "noisesched/io/safetensors_header.h"

namespace noisesched {
namespace {

// A safetensors file: the 8-byte length, the header and `data` bytes.
std::string file_with(const std::string& header, std::size_t data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + std::string(data, '\0');
}

std::string error_of(const std::string& file) {
  try {
    parse_safetensors(file, "x.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SafetensorsLayout, AcceptsAWellFormedFile) {
  const auto layout =
      parse_safetensors(file_with(R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                                  R"("b":{"dtype":"BF16","shape":[0,7],"data_offsets":[24,24]},)"
                                  R"("__metadata__":{"kind":"ema"}})",
                                  24),
                        "x");
  ASSERT_EQ(layout.entries.size(), 2u);
  EXPECT_EQ(layout.entries[0].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(layout.metadata.at("kind"), "ema");
}

TEST(SafetensorsLayout, RefusesSizesThatOverflowOrExceedTheFile) {
  // 2^62 + 4 float32 elements: 2^64 + 16 bytes, which wraps to exactly the span of 16 when
  // multiplied naively.
  EXPECT_NE(error_of(file_with(R"({"a":{"dtype":"F32","shape":[4611686018427387908],)"
                               R"("data_offsets":[0,16]}})",
                               16))
                .find("tensor 'a' spans 16 bytes but its dtype and shape need more than 2^63 "
                      "elements or 2^64 bytes"),
            std::string::npos);
  // A zero dimension does not excuse the others: 2^40 x 2^40 x 0 elements cannot be held.
  EXPECT_NE(error_of(file_with(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776,0],)"
                               R"("data_offsets":[0,0]}})",
                               0))
                .find("tensor 'a' spans 0 bytes but its dtype and shape need more than 2^63 "
                      "elements or 2^64 bytes"),
            std::string::npos);
  // A header length of 2^62.
  std::string huge = file_with("{}", 0);
  huge[7] = 0x40;
  const std::string e = error_of(huge);
  EXPECT_NE(e.find("'x.safetensors': header length 4611686018427387906 exceeds the file"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("limit of 100000000 bytes"), std::string::npos) << e;
  EXPECT_NE(error_of(file_with(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],)"
                               R"("data_offsets":[0,4]}})",
                               4))
                .find("17 dimensions, over the limit of 16"),
            std::string::npos);
}

TEST(SafetensorsLayout, NamesEveryMalformedEntry) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"a":5})", "tensor 'a' entry is not an object"},
      {R"({"a":{"shape":[],"data_offsets":[0,4]}})", "tensor 'a' has no dtype string"},
      {R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", "tensor 'a' has no shape array"},
      {R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
       "shape entry that is not a non-negative integer"},
      {R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})",
       "shape entry that is not a non-negative integer"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})",
       "no data_offsets [begin, end] of non-negative integers"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", "outside the 4 bytes"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})",
       "spans 4 bytes but its dtype and shape need 8"},
      {R"({"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "empty name"},
      {R"({"__metadata__":{"k":1}})", "metadata 'k' is not a string"},
      {R"([1])", "header is not a JSON object"},
      {R"({"a":)", "header is not valid JSON"},
  };
  for (const auto& [header, expected] : cases) {
    EXPECT_NE(error_of(file_with(header, 4)).find(expected), std::string::npos)
        << header << " -> " << error_of(file_with(header, 4));
  }
}

std::string state_error(const std::string& text) {
  try {
    parse_checkpoint_state(text, "run/state.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const std::string kGoodState =
    R"({"format":"noisesched-checkpoint","version":1,"step":5,"channels":1,"num_classes":2,)"
    R"("class_names":["a","b"],"diffusion":{"schedule":"cosine"},"train_seconds":1.5})";

TEST(CheckpointState, ReadsTheKeysTheProgramUses) {
  const auto state = parse_checkpoint_state(kGoodState, "s");
  EXPECT_EQ(state.step, 5);
  EXPECT_EQ(state.channels, 1);
  EXPECT_EQ(state.num_classes, 2);
  EXPECT_EQ(state.class_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(state.train_schedule, "cosine");
  EXPECT_DOUBLE_EQ(state.train_seconds, 1.5);
}

// state.json has one writer and one reader: every key written reads back to the same value, and
// keys a file from before they were recorded lacks read as absent.
TEST(CheckpointState, TheWriterAndTheReaderAgreeOnEveryKey) {
  CheckpointState state;
  state.step = 1234;
  state.channels = 3;
  state.resolution = 64;
  state.num_classes = 2;
  state.class_names = {"cat", "dog"};
  state.arch = "unet";
  state.train_schedule = "sigmoid:start=-3,end=3,tau=0.7";
  state.input_scale = 0.1 + 0.2;  // not a short decimal: must come back bit for bit
  state.normalization = "analytic";
  state.target = "v";
  state.loss_weight = "min_snr@5";
  state.self_cond_rate = 0.9;
  state.parameters = 12345678;
  state.forward_flops_per_example = 1.5e9;
  state.torch_version = "1.13.1";
  state.train_seconds = 61.25;
  const CheckpointState back = parse_checkpoint_state(checkpoint_state_text(state), "s");
  EXPECT_EQ(back.step, state.step);
  EXPECT_EQ(back.channels, state.channels);
  EXPECT_EQ(back.resolution, state.resolution);
  EXPECT_EQ(back.num_classes, state.num_classes);
  EXPECT_EQ(back.class_names, state.class_names);
  EXPECT_EQ(back.arch, state.arch);
  EXPECT_EQ(back.train_schedule, state.train_schedule);
  EXPECT_EQ(back.input_scale, state.input_scale);
  EXPECT_EQ(back.normalization, state.normalization);
  EXPECT_EQ(back.target, state.target);
  EXPECT_EQ(back.loss_weight, state.loss_weight);
  EXPECT_EQ(back.self_cond_rate, state.self_cond_rate);
  EXPECT_EQ(back.parameters, state.parameters);
  EXPECT_EQ(back.forward_flops_per_example, state.forward_flops_per_example);
  EXPECT_EQ(back.torch_version, state.torch_version);
  EXPECT_EQ(back.train_seconds, state.train_seconds);
  // A file from before b, the loss weighting and the rate were recorded: absent, not invented.
  const CheckpointState old = parse_checkpoint_state(kGoodState, "s");
  EXPECT_FALSE(old.input_scale.has_value());
  EXPECT_FALSE(old.self_cond_rate.has_value());
  EXPECT_TRUE(old.loss_weight.empty() && old.arch.empty());
  EXPECT_EQ(old.resolution, 0);
}

TEST(CheckpointState, NamesTheFileTheKeyAndWhatWasExpected) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string text = kGoodState;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  const std::pair<std::string, std::string> cases[] = {
      {"[]", "not a JSON object"},
      {"{", "not valid JSON"},
      {with("noisesched-checkpoint", "other"), "\"format\" is not \"noisesched-checkpoint\""},
      {with("\"version\":1", "\"version\":2"), "version 2, this program reads 1"},
      {with("\"step\":5", "\"step\":-5"), "\"step\" is -5; expected an integer in [0, "},
      {with("\"step\":5", "\"step\":\"5\""), "\"step\" is \"5\"; expected an integer"},
      {with("\"step\":5", "\"step\":18446744073709551615"), "\"step\" is 18446744073709551615"},
      {with("\"channels\":1", "\"channels\":2"), "\"channels\" is 2; expected 1 or 3"},
      {with("\"channels\":1,", ""), "\"channels\" is missing"},
      {with("\"num_classes\":2", "\"num_classes\":0"), "\"num_classes\" is 0"},
      {with("[\"a\",\"b\"]", "[\"a\"]"), "\"class_names\" has 1 names for 2 classes"},
      {with("[\"a\",\"b\"]", "[\"a\",2]"), "\"class_names\" is not an array of strings"},
      {with("{\"schedule\":\"cosine\"}", "{}"), "\"diffusion\" has no \"schedule\" string"},
      {with("1.5", "-1"), "\"train_seconds\" is -1; expected a number >= 0"},
      {with("{\"schedule\":\"cosine\"}", "{\"schedule\":\"cosine\",\"self_cond_rate\":2}"),
       "\"diffusion\".\"self_cond_rate\" is 2; expected a number in [0, 1]"},
      {with("{\"schedule\":\"cosine\"}", "{\"schedule\":\"cosine\",\"loss_weight\":3}"),
       "\"diffusion\".\"loss_weight\" is 3; expected a name"},
      {with("\"step\":5", "\"step\":5,\"arch\":1"), "\"arch\" is 1; expected text"},
      {with("\"step\":5", "\"step\":5,\"resolution\":0"),
       "\"resolution\" is 0; expected an integer"},
      {with("\"step\":5", "\"step\":9007199254740993"),
       "expected an integer in [0, 9007199254740992]"},
      // 100000 levels of nesting: named by type, not dumped (which would recurse per level).
      {with("\"version\":1", "\"version\":" + std::string(100000, '[') + std::string(100000, ']')),
       "version a JSON array, this program reads 1"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string e = state_error(text);
    EXPECT_EQ(e.rfind("'run/state.json': ", 0), 0u) << e;
    EXPECT_NE(e.find(expected), std::string::npos) << text << " -> " << e;
  }
}

}  // namespace
}  // namespace noisesched
