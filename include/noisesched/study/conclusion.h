// noisesched/study/conclusion.h: the conclusion a study's numbers support, in sentences
// (torch-free): the best b per resolution against the runner-up, seed by seed where their seeds'
// ranges overlap (with the seed-block fit of study/statistics.h), whether the best b shrinks with
// the resolution, why it is not established when it is not, and the best schedule function per
// resolution.
#pragma once

#include <string>
#include <vector>

#include "noisesched/study/cells.h"
#include "noisesched/study/plan.h"

namespace noisesched {

// The conclusion the numbers support, as markdown list items.
std::string study_conclusion(const StudyPlan& plan, const std::vector<CellResult>& results);

}  // namespace noisesched
