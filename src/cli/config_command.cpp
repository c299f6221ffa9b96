// `noisesched config`: print a configuration (the defaults, or a file with overrides) as TOML.
#include <iostream>
#include <memory>

#include "commands.h"
#include "noisesched/config/run_spec.h"

namespace noisesched::cli {
namespace {

struct ConfigCommandOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  bool bare = false;
};

int run(const ConfigCommandOptions& options) {
  Config config = options.config_path.empty() ? Config{} : load_config(options.config_path);
  for (const auto& assignment : options.overrides) apply_override(config, assignment);
  resolve(config);  // checks the whole configuration
  std::cout << config_to_toml(config, !options.bare);
  return 0;
}

}  // namespace

void add_config_command(CLI::App& app, CommandRunner& runner) {
  auto options = std::make_shared<ConfigCommandOptions>();
  auto* cmd = app.add_subcommand(
      "config",
      "Print the effective training configuration as TOML: every key with its value and help.\n"
      "Without --config: the defaults (a starting point for a new preset).");
  cmd->add_option("--config", options->config_path, "TOML configuration to read");
  cmd->add_option("--set", options->overrides, "Override a key: section.key=value (repeatable)");
  cmd->add_flag("--bare", options->bare, "Values only, no comments");
  cmd->callback([options, &runner] { runner = [options] { return run(*options); }; });
}

}  // namespace noisesched::cli
