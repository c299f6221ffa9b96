// noisesched/config/toml_text.h: parsing TOML text with errors that name the place (torch-free).
#pragma once

#include <toml++/toml.h>
#include <string>
#include <string_view>

namespace noisesched {

// The table `text` holds; a syntax error throws "SOURCE:LINE:COLUMN: description".
toml::table parse_toml(std::string_view text, const std::string& source_name);

}  // namespace noisesched
