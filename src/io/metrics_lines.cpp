// metrics.jsonl lines, typed (see metrics_lines.h).
#include "noisesched/io/metrics_lines.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "noisesched/common/error.h"
#include "noisesched/common/files.h"
#include "noisesched/common/numbers.h"

namespace noisesched {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A number of a parsed line; NaN when absent or null (how a non-finite number is written).
double number_at(const nlohmann::ordered_json& object, const char* key) {
  if (!object.is_object()) return kNaN;
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : kNaN;
}

nlohmann::ordered_json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json();
}

// Whether a line's text is an evaluation, before parsing it.
bool looks_like_evaluation(const std::string& line) {
  return line.find("\"eval\"") != std::string::npos;
}

}  // namespace

bool EvaluationLine::has(const std::string& metric) const {
  return eval.is_object() && eval.contains(metric);
}

double EvaluationLine::number(const std::string& metric, const std::string& field) const {
  if (!has(metric)) return kNaN;
  const nlohmann::ordered_json& entry = eval[metric];
  if (field.empty()) return entry.is_number() ? entry.get<double>() : kNaN;
  return number_at(entry, field.c_str());
}

std::string EvaluationLine::text(const std::string& key) const {
  return has(key) && eval[key].is_string() ? eval[key].get<std::string>() : std::string();
}

nlohmann::ordered_json to_json(const TrainingLine& line) {
  nlohmann::ordered_json bands = nlohmann::ordered_json::object();
  for (const auto& [band, loss] : line.loss_by_logsnr) bands[band] = finite_or_null(loss);
  nlohmann::ordered_json out;
  out["step"] = line.step;
  out["epoch"] = finite_or_null(line.epoch);
  out["loss"] = finite_or_null(line.loss);
  out["loss_by_logsnr"] = std::move(bands);
  out["lr"] = finite_or_null(line.lr);
  out["grad_norm"] = finite_or_null(line.grad_norm);
  out["images_per_s"] = finite_or_null(line.images_per_s);
  out["elapsed_s"] = finite_or_null(line.elapsed_s);
  out["train_s"] = finite_or_null(line.train_s);
  return out;
}

nlohmann::ordered_json to_json(const EvaluationLine& line) {
  nlohmann::ordered_json out;
  out["step"] = line.step;
  out["train_s"] = finite_or_null(line.train_s);
  out["eval"] = line.eval;
  return out;
}

MetricsLines read_metrics(const std::string& path, const std::string& what, MetricsToRead which) {
  std::ifstream in(path);
  if (!in) throw Error(what + ": cannot read '" + path + "'");
  MetricsLines out;
  int number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    if (trim(text).empty()) continue;
    const bool evaluation = looks_like_evaluation(text);
    if (!evaluation && which == MetricsToRead::kEvaluations) continue;
    const std::string where = what + ": " + path + ":" + std::to_string(number);
    nlohmann::ordered_json doc;
    try {
      doc = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + ": not JSON (" + e.what() + ")");
    }
    if (!doc.is_object() || !doc.contains("step") || !doc["step"].is_number()) {
      throw Error(where + ": not a metrics line (an object with a \"step\" was expected)");
    }
    const auto step = doc["step"].get<std::int64_t>();
    if (doc.contains("eval")) {
      EvaluationLine line;
      line.step = step;
      line.train_s = number_at(doc, "train_s");
      line.eval = doc["eval"];
      out.evaluations.push_back(std::move(line));
      continue;
    }
    TrainingLine line;
    line.step = step;
    line.epoch = number_at(doc, "epoch");
    line.loss = number_at(doc, "loss");
    line.lr = number_at(doc, "lr");
    line.grad_norm = number_at(doc, "grad_norm");
    line.images_per_s = number_at(doc, "images_per_s");
    line.elapsed_s = number_at(doc, "elapsed_s");
    line.train_s = number_at(doc, "train_s");
    if (doc.contains("loss_by_logsnr") && doc["loss_by_logsnr"].is_object()) {
      for (const auto& [band, value] : doc["loss_by_logsnr"].items()) {
        line.loss_by_logsnr.emplace_back(band, value.is_number() ? value.get<double>() : kNaN);
      }
    }
    out.training.push_back(std::move(line));
  }
  return out;
}

MetricsFile::MetricsFile(const std::string& path, std::int64_t resume_step) : path_(path) {
  if (!std::filesystem::exists(path)) return;
  if (resume_step == 0) {
    write_file_atomically(path, "");  // a fresh run starts a fresh file
    return;
  }
  std::ifstream in(path);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (trim(line).empty()) continue;
    try {
      const auto doc = nlohmann::json::parse(line);
      if (doc.is_object() && doc.value("step", std::int64_t{0}) <= resume_step) {
        kept += line + "\n";
      }
    } catch (const nlohmann::json::exception&) {
      // A line cut short by a crash: dropped.
    }
  }
  write_file_atomically(path, kept);
}

void MetricsFile::write(const TrainingLine& line) { append(to_json(line)); }

void MetricsFile::write(const EvaluationLine& line) { append(to_json(line)); }

void MetricsFile::append(const nlohmann::ordered_json& line) {
  std::ofstream out(path_, std::ios::app);
  out << line.dump() << "\n";
  out.flush();
  if (!out) throw Error("cannot append to '" + path_ + "'");
}

}  // namespace noisesched
