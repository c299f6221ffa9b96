// noisesched/study/report.h: the study's report, made of its cells' results (study/cells.h) and
// conclusion (study/conclusion.h) (torch-free).
//
// The report, docs/study.md by default, is generated,
// never typed: the tables of FID (and class accuracy) by b x resolution and by schedule function x
// resolution, as mean and spread over seeds; figures of FID against b per resolution and of the
// best b against resolution; the sample grid of every cell; the training loss by logSNR band of
// every cell; and the conclusion the numbers support.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "noisesched/study/cells.h"
#include "noisesched/study/plan.h"

namespace noisesched {

// Writes plan.report (markdown) and its figures (<report folder>/figures/<report stem>/*.png),
// atomically. `command` is the command line that produced it, quoted in the report. A figure
// that cannot be drawn (no Python with matplotlib) leaves a note in its place; the returned
// warnings say which and why.
std::vector<std::string> write_study_report(const StudyPlan& plan,
                                            const std::vector<CellResult>& results,
                                            const std::string& command);

// The cells of a report that write_study_report wrote (its "## Cells" table), for comparing one
// study with another whose run folders are not at hand: id, resolution, seed, steps done and
// planned (cell.config.train.steps), status, training minutes, FID and class accuracy as printed
// (one decimal). Throws naming the file and the line when the file cannot be read or holds no
// such table, or when a row is not in that table's form.
std::vector<CellResult> read_report_cells(const std::string& report_path);

}  // namespace noisesched
