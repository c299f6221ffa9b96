// fuzz/targets.h: the fuzz targets, one per parser of user-supplied input.
//
// Each target feeds arbitrary bytes to one parser the way the program does. A noisesched::Error
// is the expected answer to bad input; anything else escaping (another exception, a crash, a
// sanitizer report, a broken round trip, which calls std::abort) is a bug. The same functions
// serve libFuzzer (fuzz/fuzz_main.cpp, built by scripts/fuzz.sh) and the corpus regression test
// of the normal suite (tests/fuzz/fuzz_corpus_test.cpp), which runs every file of
// fuzz/corpus/<target>/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace noisesched::fuzz {

// What a target made of its input.
enum class Outcome { kAccepted, kRejected };

struct Target {
  std::string name;         // also its corpus folder and its fuzzer's name (fuzz_<name>)
  std::string description;  // what it feeds
  Outcome (*run)(const std::uint8_t* data, std::size_t size);
};

// idx:         an IDX file, plain or gzip; the first byte picks 1 or 3 dimensions and whether it
//              goes through the file reader (gzip) or the in-memory parser.
// image:       a PNG or JPEG; the first byte picks 1 or 3 channels; decoded, centre-cropped and
//              resized to 16x16 as the image-folder loader does.
// safetensors: a .safetensors file's layout check.
// config:      TOML text, then after a NUL byte one `--set` assignment per line; an accepted
//              config must survive config_to_toml and parse back unchanged.
// schedule:    a schedule spec, or after a NUL byte an inference recipe; accepted ones must
//              round-trip through to_string() and give finite, monotone logSNR on a grid.
// state:       a checkpoint's state.json.
const std::vector<Target>& targets();

}  // namespace noisesched::fuzz
