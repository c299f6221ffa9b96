// noisesched/study/plan.h: the schedule study's grid (torch-free).
//
// A study file (TOML) names, per image resolution, a training preset and a step budget, and the
// two axes of Chen (2023), Tables 2-4 in miniature:
//   input scale b with gamma = 1 - t (simple_linear), and
//   schedule functions at b = 1,
// each trained with every seed. A cell is one training run with its final evaluation; its id
// names all of it (r32_b0.5_s0, r64_cosine@0.2,1,1_s1) and is its folder under out_dir/cells/.
// The b = 1 cell of simple_linear is shared by both axes (trained once).
//
//   [study]
//   out_dir = "runs/study"           # cells: <out_dir>/cells/<id>/ (a normal run folder)
//   report = "docs/study.md"         # the generated report; figures beside it in figures/<stem>/
//   seeds = [0, 1]
//   input_scales = [1, 0.7, 0.5, 0.35, 0.25]
//   schedules = ["cosine", "sigmoid@-3,3,0.9"]
//   steps = 1000                     # training steps per cell (a resolution may override)
//   set = ["optim.lr=2e-3"]          # config overrides for every cell
//   compare = "cpu.toml"             # optional: an earlier study file (relative to this one's
//                                    # folder) whose report's cells of the same ids the report
//                                    # compares with (the same cells at another training length)
//   [eval]                           # the final evaluation of every cell, one recipe for all
//   num = 1000
//   recipe = "dpmpp_2m steps=50"
//   metrics = "fid,cacc"
//   [[resolution]]                   # one per image size
//   size = 32
//   config = "../fmnist32.toml"      # relative to the study file's folder
//   steps = 1000                     # optional
//   set = []                         # optional overrides for this size
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "noisesched/config/config.h"

namespace noisesched {

struct StudyResolution {
  int size = 0;
  std::string config_path;  // resolved against the study file's folder
  int steps = 0;
  std::vector<std::string> overrides;
};

enum class StudyAxis { kInputScale, kSchedule };

struct StudyCell {
  std::string id;
  StudyAxis axis = StudyAxis::kInputScale;
  std::string value;  // the b ("0.5") or the schedule spec as written ("cosine@0.2,1,1")
  int resolution = 0;
  std::int64_t seed = 0;
  Config config;  // the complete training configuration of the cell
};

struct StudyPlan {
  std::string source;  // the study file
  std::string out_dir = "runs/study";
  std::string report = "docs/study.md";
  std::vector<std::int64_t> seeds = {0};
  std::vector<double> input_scales;
  std::vector<std::string> schedules;
  int steps = 0;
  std::vector<std::string> overrides;
  std::string compare;  // an earlier study file, resolved against this one's folder ("": none)
  int eval_num = 1000;
  std::string eval_recipe = "dpmpp_2m steps=50";
  std::string eval_metrics = "fid,cacc";
  std::vector<StudyResolution> resolutions;

  // Every cell, by resolution, then the b axis (in the file's order), then the schedule axis,
  // then seed. Throws naming the preset and the key when a cell's configuration is not valid.
  std::vector<StudyCell> cells() const;
};

// Reads a study file; unknown sections and keys, wrong types and bad values are errors naming
// the file and the key.
StudyPlan load_study(const std::string& path);
StudyPlan parse_study(const std::string& toml_text, const std::string& source_name,
                      const std::string& base_folder);

// The cells whose id matches one of the glob patterns (* and ?), in the plan's order; all when
// `patterns` is empty. A pattern that matches no cell is an error listing some ids.
std::vector<StudyCell> select_cells(const std::vector<StudyCell>& cells,
                                    const std::vector<std::string>& patterns);

// The id of a cell: r<size>_b<b>_s<seed> or r<size>_<schedule spec>_s<seed>.
std::string study_cell_id(int resolution, StudyAxis axis, const std::string& value,
                          std::int64_t seed);

}  // namespace noisesched
