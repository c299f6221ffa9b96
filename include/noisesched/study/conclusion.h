// noisesched/study/conclusion.h: the conclusion a study's numbers support, in sentences
// (torch-free): the best b per resolution against the runner-up, seed by seed where their seeds'
// ranges overlap (with the seed-block fit of study/statistics.h), whether the best b shrinks with
// the resolution, why it is not established when it is not, and the best schedule function per
// resolution.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "noisesched/study/cells.h"
#include "noisesched/study/plan.h"

namespace noisesched {

// What the conclusion weighs beside the study's own cells.
struct ConclusionContext {
  // The advisor's predicted b per resolution (study/advisor.h; empty: not computed).
  std::vector<std::pair<int, double>> predicted_b;
  // The cells of an earlier study (read_report_cells; the same ids are the same cells at that
  // study's length of training), and how to name that study in a sentence ("" and empty: none).
  std::vector<CellResult> earlier;
  std::string earlier_name;
  // How the earlier study's evaluation differs from this one's ("" when it does not): the
  // feature extractor, the sampler, the number of samples.
  std::string earlier_caveat;
};

// The conclusion the numbers support, as markdown list items: the best b per resolution against
// the runner-up, the trend over resolution, then (when given) the same cells in the earlier
// study (or that none is finished in both) and the advisor's prediction beside the lowest mean
// FID, then why the trend is not established (when it is not), then the schedule functions.
std::string study_conclusion(const StudyPlan& plan, const std::vector<CellResult>& results,
                             const ConclusionContext& context = {});

}  // namespace noisesched
