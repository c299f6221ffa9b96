// noisesched/config/enums.h: the configuration's closed sets of names, as data.
//
// Each enum has one NameTable (common/names.h): parsing, printing, the config's allowed values
// (config_fields() reads the tables) and the tests that loop over every entry. The sampler and
// normalisation tables live beside their maths in the schedule library. No LibTorch.
#pragma once

#include <string>
#include <string_view>

#include "noisesched/common/names.h"

namespace noisesched {

// What the network predicts (SPEC section 5).
enum class Target { kEps, kX0, kV };
const NameTable<Target>& target_names_table();
Target parse_target(std::string_view name);  // throws listing the valid names
std::string to_string(Target target);

enum class Architecture { kRin, kUnet };
const NameTable<Architecture>& architecture_names_table();
Architecture parse_architecture(std::string_view name);
std::string to_string(Architecture arch);

enum class OptimizerKind { kLamb, kAdamW };
const NameTable<OptimizerKind>& optimizer_names_table();
OptimizerKind parse_optimizer(std::string_view name);
std::string to_string(OptimizerKind kind);

}  // namespace noisesched
