// Training configuration: TOML parsing, overrides, validation, printing (see config.h).
#include "noisesched/config/config.h"

#include <toml++/toml.h>
#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"
#include "noisesched/config/run_spec.h"
#include "noisesched/config/toml_text.h"
#include "noisesched/schedule/input_scale.h"
#include "noisesched/schedule/sampler_step.h"
#include "noisesched/schedule/schedule.h"

namespace noisesched {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string quote_toml(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void check_choice(const ConfigField& field, const std::string& value, const std::string& where) {
  if (field.choices.empty()) return;
  if (std::find(field.choices.begin(), field.choices.end(), value) == field.choices.end()) {
    throw Error(where + field.name() + " = '" + value +
                "' is not allowed; choose one of: " + join(field.choices));
  }
}

// Sets a field from text (for --set), in the field's type.
void set_from_text(ConfigField& field, std::string_view text_in) {
  const std::string text(trim(text_in));
  const std::string what = field.name();
  std::visit(Overloaded{
                 [&](int* v) {
                   *v = static_cast<int>(parse_integer(text, what, -2147483647, 2147483647));
                 },
                 [&](std::int64_t* v) { *v = parse_integer(text, what, INT64_MIN + 1, INT64_MAX); },
                 [&](double* v) { *v = parse_double(text, what); },
                 [&](bool* v) {
                   if (text == "true") {
                     *v = true;
                   } else if (text == "false") {
                     *v = false;
                   } else {
                     throw Error(what + ": '" + text + "' is not a boolean; use true or false");
                   }
                 },
                 [&](std::string* v) {
                   check_choice(field, text, "");
                   *v = text;
                 },
                 [&](std::vector<int>* v) {
                   std::string_view body = text;
                   if (!body.empty() && body.front() == '[' && body.back() == ']') {
                     body = body.substr(1, body.size() - 2);
                   }
                   std::vector<int> values;
                   while (!trim(body).empty()) {
                     const auto comma = body.find(',');
                     values.push_back(static_cast<int>(
                         parse_integer(body.substr(0, comma), what, -2147483647, 2147483647)));
                     if (comma == std::string_view::npos) break;
                     body = body.substr(comma + 1);
                   }
                   *v = values;
                 },
             },
             field.value);
}

// Sets a field from a TOML node, checking its type.
void set_from_toml(ConfigField& field, const toml::node& node, const std::string& where) {
  const std::string what = where + field.name();
  auto type_error = [&](const char* expected) {
    std::ostringstream got;
    got << node.type();
    return Error(what + ": expected " + expected + ", got " + got.str());
  };
  std::visit(Overloaded{
                 [&](int* v) {
                   if (!node.is_integer()) throw type_error("an integer");
                   const auto value = node.as_integer()->get();
                   if (value < -2147483647 || value > 2147483647) {
                     throw Error(what + ": " + std::to_string(value) + " is out of range");
                   }
                   *v = static_cast<int>(value);
                 },
                 [&](std::int64_t* v) {
                   if (!node.is_integer()) throw type_error("an integer");
                   *v = node.as_integer()->get();
                 },
                 [&](double* v) {
                   if (node.is_integer()) {
                     *v = static_cast<double>(node.as_integer()->get());
                   } else if (node.is_floating_point()) {
                     *v = node.as_floating_point()->get();
                     if (!std::isfinite(*v)) throw Error(what + ": expected a finite number");
                   } else {
                     throw type_error("a number");
                   }
                 },
                 [&](bool* v) {
                   if (!node.is_boolean()) throw type_error("true or false");
                   *v = node.as_boolean()->get();
                 },
                 [&](std::string* v) {
                   if (!node.is_string()) throw type_error("a string");
                   const std::string value = node.as_string()->get();
                   check_choice(field, value, where);
                   *v = value;
                 },
                 [&](std::vector<int>* v) {
                   if (!node.is_array()) throw type_error("an array of integers");
                   std::vector<int> values;
                   for (const auto& item : *node.as_array()) {
                     if (!item.is_integer()) throw type_error("an array of integers");
                     values.push_back(static_cast<int>(item.as_integer()->get()));
                   }
                   *v = values;
                 },
             },
             field.value);
}

}  // namespace

std::string field_value_text(const ConfigField& field) {
  return std::visit(Overloaded{
                        [](int* v) { return std::to_string(*v); },
                        [](std::int64_t* v) { return std::to_string(*v); },
                        [](double* v) {
                          // TOML floats need a '.' or an exponent.
                          std::string text = format_exact(*v);
                          if (text.find_first_of(".en") == std::string::npos) text += ".0";
                          return text;
                        },
                        [](bool* v) { return std::string(*v ? "true" : "false"); },
                        [](std::string* v) { return quote_toml(*v); },
                        [](std::vector<int>* v) { return format_integer_list(*v); },
                    },
                    field.value);
}

std::vector<ConfigField> config_fields(Config& c) {
  using S = std::vector<std::string>;
  using Binding = decltype(ConfigField::value);
  const auto F = [](const char* section, const char* key, Binding value, const char* help,
                    S choices = {}, bool changeable_on_resume = false) {
    ConfigField field;
    field.section = section;
    field.key = key;
    field.value = value;
    field.help = help;
    field.choices = std::move(choices);
    field.changeable_on_resume = changeable_on_resume;
    return field;
  };
  return {
      F("data", "dataset", &c.data.dataset,
        "fashion_mnist, mnist (IDX files) or folder (one sub-folder per class)",
        S{"fashion_mnist", "mnist", "folder"}),
      F("data", "path", &c.data.path, "IDX folder, or the image folder's root"),
      F("data", "split", &c.data.split, "IDX split", S{"train", "test"}),
      F("data", "resolution", &c.data.resolution, "training resolution (images resized to it)"),
      F("data", "random_flip", &c.data.random_flip, "random horizontal flips"),
      F("data", "limit", &c.data.limit, "use only the first N examples (0: all)"),
      F("data", "skip_bad_images", &c.data.skip_bad_images,
        "folder data: skip unreadable images (and report how many) instead of stopping"),
      F("data", "workers", &c.data.workers, "loader threads", {}, true),
      F("data", "prefetch", &c.data.prefetch, "batches prepared ahead of the model", {}, true),
      F("model", "arch", &c.model.arch, "denoising network", architecture_names_table().names()),
      F("model", "class_conditional", &c.model.class_conditional,
        "condition on the class label (with a null class for guidance)"),
      F("rin", "patch_size", &c.rin.patch_size, "pixels per patch side (tokens = (res/patch)^2)"),
      F("rin", "latents", &c.rin.latents, "learned latent tokens"),
      F("rin", "latent_dim", &c.rin.latent_dim, "latent width"),
      F("rin", "interface_dim", &c.rin.interface_dim, "interface (tape) width"),
      F("rin", "blocks", &c.rin.blocks, "read-compute-write blocks"),
      F("rin", "layers_per_block", &c.rin.layers_per_block,
        "latent self-attention layers per block"),
      F("rin", "heads", &c.rin.heads, "heads of latent self-attention"),
      F("rin", "cross_heads", &c.rin.cross_heads, "heads of the read and write cross-attention"),
      F("rin", "mlp_ratio", &c.rin.mlp_ratio, "MLP hidden width / model width"),
      F("unet", "channels", &c.unet.channels, "channels at full resolution"),
      F("unet", "channel_mult", &c.unet.channel_mult, "channel multiplier per resolution level"),
      F("unet", "res_blocks", &c.unet.res_blocks, "residual blocks per level"),
      F("unet", "attention_resolutions", &c.unet.attention_resolutions,
        "resolutions with self-attention"),
      F("unet", "heads", &c.unet.heads, "attention heads"),
      F("unet", "patch_size", &c.unet.patch_size,
        "P x P patches folded into channels (space to depth): the network runs at resolution / P "
        "(attention_resolutions refer to its feature maps)"),
      F("diffusion", "schedule", &c.diffusion.schedule, "training noise schedule (spec string)"),
      F("diffusion", "input_scale", &c.diffusion.input_scale, "input scale b, or auto:REF"),
      F("diffusion", "normalization", &c.diffusion.normalization,
        "variance normalisation of the noisy input", normalization_names_table().names()),
      F("diffusion", "target", &c.diffusion.target, "what the network predicts",
        target_names_table().names()),
      F("diffusion", "loss_weight", &c.diffusion.loss_weight,
        "per-example loss weight over noise levels: none, min_snr (= min_snr@5), min_snr@G"),
      F("diffusion", "self_cond_rate", &c.diffusion.self_cond_rate,
        "probability of self-conditioning per example"),
      F("diffusion", "label_dropout", &c.diffusion.label_dropout,
        "probability of replacing the label by the null class"),
      F("optim", "optimizer", &c.optim.optimizer, "optimizer", optimizer_names_table().names()),
      F("optim", "lr", &c.optim.lr, "peak learning rate"),
      F("optim", "beta1", &c.optim.beta1, "first-moment decay"),
      F("optim", "beta2", &c.optim.beta2, "second-moment decay"),
      F("optim", "eps", &c.optim.eps, "denominator epsilon"),
      F("optim", "weight_decay", &c.optim.weight_decay,
        "decoupled weight decay (not on biases and norm gains)"),
      F("optim", "warmup_steps", &c.optim.warmup_steps, "linear warm-up steps"),
      F("optim", "lr_schedule", &c.optim.lr_schedule,
        "after warm-up: constant, linear, cosine, or cosine@F (decay over (steps-warmup)/F steps)"),
      F("optim", "grad_clip", &c.optim.grad_clip, "clip the global gradient norm to this (0: off)"),
      F("optim", "ema_decay", &c.optim.ema_decay, "EMA decay of the weights used for sampling"),
      F("optim", "ema_warmup", &c.optim.ema_warmup,
        "EMA decay min(ema_decay, (1 + step) / (10 + step))"),
      F("train", "steps", &c.train.steps, "optimizer steps"),
      F("train", "batch_size", &c.train.batch_size, "examples per step"),
      F("train", "seed", &c.train.seed, "seed of every random choice (data order, noise, init)"),
      F("train", "out_dir", &c.train.out_dir,
        "run folder: checkpoints/, samples/, metrics.jsonl, config.toml"),
      F("train", "device", &c.train.device, "cpu, cuda or cuda:N", {}, true),
      F("train", "log_every", &c.train.log_every, "steps between metric lines", {}, true),
      F("train", "checkpoint_every", &c.train.checkpoint_every, "steps between checkpoints", {},
        true),
      F("train", "keep_checkpoints", &c.train.keep_checkpoints,
        "checkpoints kept (older ones are deleted after a successful save)", {}, true),
      F("train", "sample_every", &c.train.sample_every,
        "steps between sample grids (0: none during training)", {}, true),
      F("train", "report", &c.train.report,
        "write report.html in the run folder at the end, refreshed at checkpoints (at most once a "
        "minute and 2% of the time)",
        {}, true),
      F("train", "sample_recipe", &c.train.sample_recipe,
        "how the grids are sampled: inference recipe 'SAMPLER key=value ...'", {}, true),
      F("train", "dist_timeout", &c.train.dist_timeout,
        "seconds a process of a multi-process run waits for the others before it stops with an "
        "error",
        {}, true),
      F("train", "dist_backend", &c.train.dist_backend, "c10d backend of a multi-process run",
        dist_backend_names_table().names(), true),
      F("train", "precision", &c.train.precision,
        "arithmetic of the network's passes (weights and optimizer state stay float32)",
        precision_names_table().names(), true),
      F("train", "cuda_graphs", &c.train.cuda_graphs,
        "replay CUDA graphs of the training step and of the sampler's network calls "
        "(docs/performance.md)",
        cuda_graphs_names_table().names(), true),
      F("eval", "every", &c.eval.every, "steps between evaluations (0: none during training)", {},
        true),
      F("eval", "every_seconds", &c.eval.every_seconds,
        "seconds of training between evaluations (0: none by time; time-to-FID curves)", {}, true),
      F("eval", "num", &c.eval.num, "images sampled per evaluation (classes in turn)", {}, true),
      F("eval", "metrics", &c.eval.metrics, "comma-separated: fid, is, kid, pr, cacc, bg", {},
        true),
      F("eval", "recipe", &c.eval.recipe,
        "how evaluation images are sampled: inference recipe 'SAMPLER key=value ...'", {}, true),
      F("eval", "extractor", &c.eval.extractor,
        "feature extractor file (auto: the data set's default in the cache folder)", {}, true),
      F("eval", "cache", &c.eval.cache,
        "cache folder for extractors and reference statistics (auto: $NOISESCHED_CACHE, else "
        "~/.cache/noisesched)",
        {}, true),
  };
}

toml::table parse_toml(std::string_view text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream message;
    message << source_name << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
            << e.description();
    throw Error(message.str());
  }
}

Config parse_config(std::string_view toml_text, const std::string& source_name) {
  const std::string where = source_name + ": ";
  const toml::table table = parse_toml(toml_text, source_name);
  Config config;
  auto fields = config_fields(config);
  std::vector<std::string> sections;
  for (const auto& f : fields) {
    if (std::find(sections.begin(), sections.end(), f.section) == sections.end()) {
      sections.push_back(f.section);
    }
  }
  for (const auto& [section_key, section_node] : table) {
    const std::string section(section_key.str());
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      throw Error(where + "unknown section [" + section + "]; sections: " + join(sections));
    }
    if (!section_node.is_table()) {
      throw Error(where + section + " must be a table ([" + section + "])");
    }
    for (const auto& [key_node, value] : *section_node.as_table()) {
      const std::string key(key_node.str());
      auto it = std::find_if(fields.begin(), fields.end(), [&](const ConfigField& f) {
        return f.section == section && f.key == key;
      });
      if (it == fields.end()) {
        std::vector<std::string> keys;
        for (const auto& f : fields) {
          if (f.section == section) keys.push_back(f.key);
        }
        throw Error(where + "unknown key '" + section + "." + key + "'; keys in [" + section +
                    "]: " + join(keys));
      }
      set_from_toml(*it, value, where);
    }
  }
  try {
    resolve(config);
  } catch (const Error& e) {
    throw Error(where + e.what());
  }
  return config;
}

Config load_config(const std::string& path) {
  return parse_config(read_file(path, "config file"), path);
}

void apply_override(Config& config, std::string_view assignment) {
  const auto eq = assignment.find('=');
  const std::string name(trim(assignment.substr(0, eq)));
  if (eq == std::string_view::npos) {
    throw Error("--set '" + std::string(assignment) + "': expected section.key=value");
  }
  auto fields = config_fields(config);
  auto it = std::find_if(fields.begin(), fields.end(),
                         [&](const ConfigField& f) { return f.name() == name; });
  if (it == fields.end()) {
    std::vector<std::string> names;
    for (const auto& f : fields) names.push_back(f.name());
    throw Error("--set: unknown key '" + name + "'; keys: " + join(names));
  }
  set_from_text(*it, assignment.substr(eq + 1));
}

std::string config_to_toml(const Config& config_in, bool comments) {
  Config config = config_in;
  std::ostringstream out;
  std::string section;
  for (const auto& field : config_fields(config)) {
    if (field.section != section) {
      out << (section.empty() ? "" : "\n") << "[" << field.section << "]\n";
      section = field.section;
    }
    if (comments) {
      out << "# " << field.help;
      if (!field.choices.empty()) out << " (" << join(field.choices, " | ") << ")";
      if (field.changeable_on_resume) out << "; may change on --resume";
      out << "\n";
    }
    out << field.key << " = " << field_value_text(field) << "\n";
  }
  return out.str();
}

std::vector<std::string> config_differences(const Config& a_in, const Config& b_in) {
  Config a = a_in, b = b_in;
  const auto fa = config_fields(a), fb = config_fields(b);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < fa.size(); ++i) {
    if (field_value_text(fa[i]) != field_value_text(fb[i])) names.push_back(fa[i].name());
  }
  return names;
}

}  // namespace noisesched
