// The conclusion of a study (see conclusion.h).
#include "noisesched/study/conclusion.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "noisesched/common/numbers.h"
#include "noisesched/study/statistics.h"

namespace noisesched {
namespace {

// What goes before item i of n in an English list: "a", "a and b", "a, b and c".
const char* list_separator(std::size_t i, std::size_t n) {
  return i == 0 ? "" : i + 1 == n ? " and " : ", ";
}

// FID of every seed of every setting: (axis, value, resolution) -> seed -> FID.
using SeedFids = std::map<std::tuple<int, std::string, int>, std::map<std::int64_t, double>>;
SeedFids fid_by_seed(const std::vector<CellResult>& results) {
  SeedFids out;
  for (const auto& r : results) {
    if (r.status != CellResult::Status::kDone || !std::isfinite(r.fid)) continue;
    out[{static_cast<int>(r.cell.axis), r.cell.value, r.cell.resolution}][r.cell.seed] = r.fid;
  }
  return out;
}

// The seed-block fit of every resolution, over the settings finished at every seed of the plan.
std::map<int, SeedBlockFit> fit_blocks(const StudyPlan& plan, const SeedFids& by_seed) {
  std::map<int, SeedBlockFit> out;
  if (plan.seeds.size() < 2) return out;
  for (const int size : resolutions_of(plan)) {
    std::vector<std::vector<double>> table;
    for (const auto& [key, fids] : by_seed) {
      if (std::get<2>(key) != size) continue;
      std::vector<double> row;
      for (const std::int64_t seed : plan.seeds) {
        const auto it = fids.find(seed);
        if (it == fids.end()) break;
        row.push_back(it->second);
      }
      if (row.size() == plan.seeds.size()) table.push_back(std::move(row));
    }
    if (table.size() >= 2) out[size] = fit_seed_blocks(table);
  }
  return out;
}

// The best setting against the runner-up, seed by seed. The cells of one seed share the network's
// initialisation, the data order and the noise draws, so their difference is the settings' alone;
// the seeds' ranges mix it with the shift a seed gives every setting. With the resolution's seed-
// block fit (`fit`, null when there is none), the mean difference is weighed against the fit's
// error with Student's t. Empty with fewer than two seeds in common. The order counts as
// established seed by seed when the best is lower at every seed and p < 0.05 (for the best
// against the next, p errs large: see docs/studies.md).
struct Paired {
  std::string text;
  bool established = false;
};
Paired paired_by_seed(const std::map<std::int64_t, double>& best,
                      const std::map<std::int64_t, double>& next, const SeedBlockFit* fit,
                      const std::string& next_name = "the next") {
  std::vector<double> differences;  // runner-up minus best, by seed
  for (const auto& [seed, fid] : best) {
    const auto it = next.find(seed);
    if (it != next.end()) differences.push_back(it->second - fid);
  }
  const std::size_t n = differences.size();
  if (n < 2) return {};
  const auto lower =
      std::count_if(differences.begin(), differences.end(), [](double d) { return d > 0; });
  double mean = 0;
  for (const double d : differences) mean += d / static_cast<double>(n);
  std::ostringstream out;
  out << " Paired by seed, the best is lower at " << lower << " of " << n << " seeds (" << next_name
      << " minus the best: ";
  for (std::size_t i = 0; i < n; ++i) {
    out << list_separator(i, n) << (differences[i] >= 0 ? "+" : "")
        << format_fixed(differences[i], 1);
  }
  // Each difference has the error of two cells: variance 2 sigma^2, over n seeds 2 sigma^2 / n.
  bool established = false;
  if (fit != nullptr && fit->sigma > 0 && static_cast<int>(n) == fit->seeds) {
    const double error = fit->sigma * std::sqrt(2.0 / static_cast<double>(n));
    const double t = mean / error;
    const double p = student_t_two_sided_p(t, fit->dof);
    out << "; mean " << format_fixed(mean, 1) << ", " << format_fixed(t, 2)
        << " standard errors of " << format_fixed(error, 1) << ": p = " << format_fixed(p, 3)
        << ", Student's t with " << fit->dof << (fit->dof == 1 ? " degree" : " degrees")
        << " of freedom over " << fit->settings << " settings";
    established = static_cast<std::size_t>(lower) == n && p < 0.05;
  }
  out << ").";
  return {out.str(), established};
}

// Why the b trend is not established, from the numbers: how far two seeds of one cell differ
// against how far apart the best two b are, and how recognisable the best models' samples are.
std::string why_not_established(const StudySummary& fid,
                                const std::vector<std::pair<int, double>>& gaps,
                                const std::vector<std::pair<int, double>>& accuracies,
                                double ceiling, const std::map<int, SeedBlockFit>& blocks) {
  double total = 0, widest = 0;
  int settings = 0;
  for (const auto& [key, s] : fid) {
    if (s.count < 2) continue;
    total += s.high - s.low;
    widest = std::max(widest, s.high - s.low);
    ++settings;
  }
  std::ostringstream out;
  if (settings > 0) {
    out << "- Why: the seeds of one setting span " << format_fixed(total / settings, 1)
        << " FID on average (highest minus lowest; at most " << format_fixed(widest, 1) << ", over "
        << settings << " settings run with two seeds or more), while the best two b lie ";
    for (std::size_t i = 0; i < gaps.size(); ++i) {
      out << list_separator(i, gaps.size()) << format_fixed(gaps[i].second, 1) << " apart at "
          << gaps[i].first << " px";
    }
    const auto below = std::count_if(gaps.begin(), gaps.end(),
                                     [&](const auto& g) { return g.second < total / settings; });
    out << ". At " << below << " of the " << gaps.size()
        << " sizes that gap is smaller than the seeds' average span"
        << (below > 0 ? ": there, the training run's randomness is as large as the effect of b."
                      : ".");
  }
  if (!blocks.empty()) {
    // How much of the seeds' span is a shift every setting of a seed shares (and whether the
    // F test tells it from the error), and the error that remains.
    out << (settings > 0 ? " " : "- Why: ")
        << "Some of that span can be a shift that a seed gives every setting of a size: the "
           "seeds' mean FIDs over the settings differ by ";
    std::size_t i = 0;
    for (const auto& [size, fit] : blocks) {
      const auto [low, high] = std::minmax_element(fit.seed_shifts.begin(), fit.seed_shifts.end());
      out << list_separator(i++, blocks.size()) << format_fixed(*high - *low, 1) << " at " << size
          << " px";
      if (std::isfinite(fit.seed_shift_p))
        out << " (p = " << format_fixed(fit.seed_shift_p, 3) << ")";
    }
    const bool tested = std::any_of(blocks.begin(), blocks.end(), [](const auto& b) {
      return std::isfinite(b.second.seed_shift_p);
    });
    out << (tested ? ", where p is the chance of shifts this large from the error alone (F test)"
                   : "")
        << "; with the shifts removed, a cell strays from its setting's mean by ";
    i = 0;
    for (const auto& [size, fit] : blocks) {
      out << list_separator(i++, blocks.size()) << format_fixed(fit.sigma, 1) << " at " << size
          << " px";
    }
    out << " (standard deviation; the error the seed-by-seed comparisons are weighed against).";
  }
  if (!accuracies.empty()) {
    out << (settings > 0 ? " " : "- Why: ") << "The best b's samples are recognised as their class "
        << "by the classifier ";
    for (std::size_t i = 0; i < accuracies.size(); ++i) {
      out << list_separator(i, accuracies.size()) << format_fixed(100 * accuracies[i].second, 0)
          << "% of the time at " << accuracies[i].first << " px";
    }
    if (ceiling > 0) out << " (real test images: " << format_fixed(100 * ceiling, 0) << "%)";
    bool falling = accuracies.size() >= 2;
    for (std::size_t i = 1; i < accuracies.size(); ++i) {
      falling = falling && accuracies[i].second < accuracies[i - 1].second;
    }
    out << (falling ? ": the larger the images, the weaker the models this budget trains, while "
                      "the paper compares well-trained models"
                    : "")
        << ". Longer training (or the GPU preset, configs/studies/gpu.toml) is what would show "
           "whether the effect appears.";
  }
  if (!out.str().empty()) out << "\n";
  return out.str();
}

// "a, b and c" from a list of items.
std::string english_list(const std::vector<std::string>& items) {
  std::string text;
  for (std::size_t i = 0; i < items.size(); ++i) text += list_separator(i, items.size()) + items[i];
  return text;
}

// The same cells in an earlier study: per resolution, FID and class accuracy then and now over
// the cells both finished, and the b of lower mean FID then and now on the seeds that both
// studies finished for every b compared (so that no b is ranked on more seeds than another).
std::string against_earlier(const StudyPlan& plan, const std::vector<CellResult>& results,
                            const ConclusionContext& context) {
  if (context.earlier_name.empty()) return "";
  std::map<std::string, const CellResult*> earlier;
  std::set<std::int64_t> lengths;
  for (const CellResult& e : context.earlier) {
    if (e.status == CellResult::Status::kDone && std::isfinite(e.fid)) earlier[e.cell.id] = &e;
  }
  std::vector<std::string> parts, best;
  for (int size : resolutions_of(plan)) {
    int pairs = 0, accuracy_pairs = 0, higher = 0;
    double fid_then = 0, fid_now = 0, cacc_then = 0, cacc_now = 0;
    // The pairs of the b axis, by b and seed: FID then and now.
    std::map<std::string, std::map<std::int64_t, std::pair<double, double>>> b_pairs;
    for (const CellResult& r : results) {
      if (r.cell.resolution != size || r.status != CellResult::Status::kDone ||
          !std::isfinite(r.fid)) {
        continue;
      }
      const auto it = earlier.find(r.cell.id);
      if (it == earlier.end()) continue;
      const CellResult& e = *it->second;
      lengths.insert(e.cell.config.train.steps);
      ++pairs;
      fid_then += e.fid;
      fid_now += r.fid;
      if (r.cell.axis == StudyAxis::kInputScale)
        b_pairs[r.cell.value][r.cell.seed] = {e.fid, r.fid};
      if (e.cacc >= 0 && r.cacc >= 0) {
        ++accuracy_pairs;
        cacc_then += e.cacc;
        cacc_now += r.cacc;
        if (r.cacc > e.cacc) ++higher;
      }
    }
    if (pairs == 0) continue;
    std::ostringstream part;
    part << "at " << size << " px (" << pairs << (pairs == 1 ? " cell" : " cells") << ") FID "
         << format_fixed(fid_then / pairs, 1) << " → " << format_fixed(fid_now / pairs, 1);
    if (accuracy_pairs > 0) {
      part << " and class accuracy " << format_fixed(100 * cacc_then / accuracy_pairs, 1) << "% → "
           << format_fixed(100 * cacc_now / accuracy_pairs, 1) << "% (higher for " << higher
           << " of " << accuracy_pairs << ")";
    }
    parts.push_back(part.str());
    // The seeds every paired b has.
    if (b_pairs.size() < 2) continue;
    std::set<std::int64_t> seeds;
    for (const auto& [seed, fids] : b_pairs.begin()->second) seeds.insert(seed);
    for (const auto& [b, by_seed] : b_pairs) {
      for (auto s = seeds.begin(); s != seeds.end();)
        s = by_seed.count(*s) ? std::next(s) : seeds.erase(s);
    }
    if (seeds.empty()) continue;
    std::string then_best, now_best;
    double then_low = 0, now_low = 0;
    std::vector<std::string> bs;
    for (double value : plan.input_scales) {  // in the plan's order
      const std::string b = format_exact(value);
      const auto found = b_pairs.find(b);
      if (found == b_pairs.end()) continue;
      const auto& by_seed = found->second;
      double then_sum = 0, now_sum = 0;
      for (std::int64_t seed : seeds) {
        then_sum += by_seed.at(seed).first;
        now_sum += by_seed.at(seed).second;
      }
      if (then_best.empty() || then_sum < then_low) {
        then_best = b;
        then_low = then_sum;
      }
      if (now_best.empty() || now_sum < now_low) {
        now_best = b;
        now_low = now_sum;
      }
      bs.push_back(b);
    }
    std::vector<std::string> seed_names;
    for (std::int64_t seed : seeds) seed_names.push_back(std::to_string(seed));
    best.push_back("at " + std::to_string(size) + " px (b = " + english_list(bs) + ", seed" +
                   (seeds.size() == 1 ? " " : "s ") + english_list(seed_names) +
                   ") b = " + then_best + " then, b = " + now_best + " now");
  }
  std::ostringstream out;
  if (parts.empty()) {
    out << "- No cell is finished both here and in " << context.earlier_name
        << ", so the two lengths of training are not compared.";
    return out.str() + "\n";
  }
  std::string steps;
  for (std::int64_t n : lengths) steps += (steps.empty() ? "" : " or ") + std::to_string(n);
  const auto joined = [](const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) text += (text.empty() ? "" : "; ") + item;
    return text;
  };
  out << "- Against the same cells (resolution, setting and seed) at " << steps << " steps in "
      << context.earlier_name << ", means over the cells finished in both: " << joined(parts)
      << ".";
  if (!best.empty()) {
    out << " The lower mean FID, on the seeds both studies finished for each b: " << joined(best)
        << ".";
  }
  if (!context.earlier_caveat.empty()) {
    out << " The two studies evaluate differently (" << context.earlier_caveat
        << "): the levels of FID and class accuracy do not compare exactly between them.";
  }
  return out.str() + "\n";
}

// The advisor's b beside the measured best b, and whether the best is the b run nearest to the
// prediction (on a log scale: b multiplies the signal). The smallest resolution is the
// advisor's reference (b = 1 by construction): it is shown, not counted. `established`: per
// resolution, whether the seeds separate the best b from the next.
std::string against_advisor(const StudyPlan& plan, const StudySummary& fid,
                            const ConclusionContext& context,
                            const std::map<int, bool>& established) {
  if (context.predicted_b.empty() || plan.input_scales.empty()) return "";
  const int reference = resolutions_of(plan).front();
  std::vector<std::string> predicted, measured;
  int agree = 0, compared = 0;
  for (const auto& [size, b] : context.predicted_b) {
    const std::string at = " at " + std::to_string(size) + " px";
    predicted.push_back(format_fixed(b, 2) + at +
                        (size == reference ? " (the reference: 1 by construction)" : ""));
    const auto ranked = ranked_b(plan, fid, size);
    if (size == reference || ranked.empty()) continue;
    double nearest = plan.input_scales.front();
    for (double run : plan.input_scales) {
      if (std::abs(std::log(run / b)) < std::abs(std::log(nearest / b))) nearest = run;
    }
    ++compared;
    const bool same = ranked[0].first == nearest;
    agree += same ? 1 : 0;
    const auto e = established.find(size);
    const bool separated = e != established.end() && e->second;
    measured.push_back(format_exact(ranked[0].first) + at + " (" +
                       (same ? std::string("the nearest b run")
                             : "the nearest b run to the prediction is " + format_exact(nearest)) +
                       (separated ? "" : "; not established by the seeds") + ")");
  }
  std::ostringstream out;
  out << "- The advisor (`noisesched advise`, from the data alone) predicts b = "
      << english_list(predicted);
  if (compared > 0) {
    out << "; the lowest mean FID is at b = " << english_list(measured)
        << (agree == compared ? ": the means agree with the prediction"
            : agree == 0      ? ": the means do not agree with the prediction"
                         : ": the means agree with the prediction at " + std::to_string(agree) +
                               " of " + std::to_string(compared) + " resolutions")
        << (compared > 1 ? " beyond the reference." : ".");
  } else {
    out << ".";
  }
  return out.str() + "\n";
}

}  // namespace

std::string study_conclusion(const StudyPlan& plan, const std::vector<CellResult>& results,
                             const ConclusionContext& context) {
  const StudySummary fid = summarize_fid(results);
  std::ostringstream out;
  const auto done = std::count_if(results.begin(), results.end(), [](const CellResult& r) {
    return r.status == CellResult::Status::kDone;
  });
  if (done < static_cast<long>(results.size())) {
    out << "- " << done << " of " << results.size()
        << " cells are finished; the conclusions below use those only.\n";
  }
  // Best b per resolution, and whether the runner-up lies within the seed spread.
  std::vector<std::pair<int, double>> best_b;
  bool all_b_separated = true;
  // For the explanation when the finding is not established: the gap between the best two b and
  // the best b's class accuracy, per resolution.
  const StudySummary cacc = summarize_accuracy(results);
  const SeedFids by_seed = fid_by_seed(results);
  const std::map<int, SeedBlockFit> blocks = fit_blocks(plan, by_seed);
  const auto block_of = [&](int size) {
    const auto it = blocks.find(size);
    return it == blocks.end() ? nullptr : &it->second;
  };
  // FID by seed of one setting (none when it has no finished cell).
  const std::map<std::int64_t, double> no_seeds;
  const auto seeds_of = [&](StudyAxis axis, const std::string& value, int size) -> const auto& {
    const auto it = by_seed.find({static_cast<int>(axis), value, size});
    return it == by_seed.end() ? no_seeds : it->second;
  };
  std::vector<std::pair<int, double>> gaps, accuracies;
  std::map<int, bool> established;  // per resolution: the best b separated from the next
  for (int size : resolutions_of(plan)) {
    const auto found = ranked_b(plan, fid, size);
    if (found.empty()) continue;
    best_b.emplace_back(size, found[0].first);
    gaps.emplace_back(size, found[1].second.mean - found[0].second.mean);
    const auto a =
        cacc.find({static_cast<int>(StudyAxis::kInputScale), format_exact(found[0].first), size});
    if (a != cacc.end()) accuracies.emplace_back(size, a->second.mean);
    // Separated: every seed of the runner-up is worse than every seed of the best (with at
    // least two seeds each; one seed has no spread to judge by).
    const bool seeds = found[0].second.count >= 2 && found[1].second.count >= 2;
    const bool separated = seeds && found[0].second.high < found[1].second.low;
    const auto b_seeds = [&](double b) -> const auto& {
      return seeds_of(StudyAxis::kInputScale, format_exact(b), size);
    };
    const Paired paired = separated ? Paired{}
                                    : paired_by_seed(b_seeds(found[0].first),
                                                     b_seeds(found[1].first), block_of(size));
    all_b_separated = all_b_separated && (separated || paired.established);
    established[size] = separated || paired.established;
    // Which of the two has a single seed (no spread to judge by), when not both have several.
    std::string single;
    if (!seeds) {
      const bool best_single = found[0].second.count < 2, next_single = found[1].second.count < 2;
      single = best_single && next_single
                   ? "with one seed each"
                   : "with one seed for b = " +
                         format_exact(best_single ? found[0].first : found[1].first);
    }
    out << "- " << size << " px: the best b is " << format_exact(found[0].first) << " (FID "
        << format_fixed(found[0].second.mean, 1)
        << "); the next, b = " << format_exact(found[1].first) << " (FID "
        << format_fixed(found[1].second.mean, 1) << "), "
        << (separated ? "is worse for every seed."
            : paired.established
                ? "overlaps it within the spread over seeds, but the order of these two is "
                  "established seed by seed."
            : seeds ? "overlaps it within the spread over seeds, so the order of these two is "
                      "not established."
                    : single + ", so the order of these two is not established.")
        << paired.text << "\n";
  }
  std::sort(best_b.begin(), best_b.end());  // by resolution, whatever the file's order
  std::string why_not;                      // why the trend is not established, when it is not
  if (best_b.size() >= 2) {
    bool non_increasing = true, strictly_somewhere = false;
    for (std::size_t i = 1; i < best_b.size(); ++i) {
      non_increasing = non_increasing && best_b[i].second <= best_b[i - 1].second;
      strictly_somewhere = strictly_somewhere || best_b[i].second < best_b[i - 1].second;
    }
    std::string trend;
    for (const auto& [size, b] : best_b) {
      trend += (trend.empty() ? "" : ", ") + std::to_string(size) + " px: " + format_exact(b);
    }
    if (non_increasing && strictly_somewhere && all_b_separated) {
      out << "- **As in the paper, the best input scale shrinks as the resolution grows** ("
          << trend << ").\n";
    } else if (non_increasing && strictly_somewhere) {
      out << "- The best b shrinks as the resolution grows, as in the paper (" << trend
          << "), **but the spread over seeds does not establish it**: at least one best b above "
             "is not separated from the next.\n";
    } else {
      out << "- **The paper's finding that the best b shrinks with resolution does not show at "
             "this budget** (best b: "
          << trend
          << "). Where the spreads above overlap, more seeds or longer training are needed to "
             "tell the scales apart.\n";
    }
    if (!(non_increasing && strictly_somewhere && all_b_separated)) {
      std::sort(gaps.begin(), gaps.end());
      std::sort(accuracies.begin(), accuracies.end());
      double ceiling = -1;
      for (const auto& r : results) ceiling = std::max(ceiling, r.cacc_ceiling);
      why_not = why_not_established(fid, gaps, accuracies, ceiling, blocks);
    }
  }
  out << against_earlier(plan, results, context) << against_advisor(plan, fid, context, established)
      << why_not;
  // Best schedule per resolution.
  const auto rows = schedule_rows(plan);
  std::vector<std::string> best_schedules;
  bool all_schedules_separated = true;
  for (int size : resolutions_of(plan)) {
    std::vector<std::pair<const StudyRow*, SeedSummary>> found;
    for (const auto& row : rows) {
      const auto it = fid.find({static_cast<int>(row.axis), row.value, size});
      if (it != fid.end()) found.emplace_back(&row, it->second);
    }
    if (found.size() < 2) continue;
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.second.mean < b.second.mean; });
    const bool separated = found[0].second.count >= 2 && found[1].second.count >= 2 &&
                           found[0].second.high < found[1].second.low;
    const auto row_seeds = [&](const StudyRow* row) -> const auto& {
      return seeds_of(row->axis, row->value, size);
    };
    const Paired paired = separated ? Paired{}
                                    : paired_by_seed(row_seeds(found[0].first),
                                                     row_seeds(found[1].first), block_of(size));
    all_schedules_separated = all_schedules_separated && (separated || paired.established);
    out << "- " << size << " px, schedule functions at b = 1: the best is " << found[0].first->label
        << " (FID " << format_fixed(found[0].second.mean, 1) << "); the next, "
        << found[1].first->label << " (FID " << format_fixed(found[1].second.mean, 1) << "), "
        << (separated ? "is worse for every seed."
            : paired.established
                ? "is not separated from it by the spread over seeds, but is worse seed by seed."
                : "is not separated from it by the spread over seeds.")
        << paired.text;
    // The paper's comparison: the best function against 1 - t, the schedule b rescales.
    const auto linear = std::find_if(found.begin() + 2, found.end(), [](const auto& f) {
      return f.first->axis == StudyAxis::kInputScale;
    });
    if (found[0].first->axis != StudyAxis::kInputScale && linear != found.end()) {
      const bool apart = found[0].second.count >= 2 && linear->second.count >= 2 &&
                         found[0].second.high < linear->second.low;
      const Paired against =
          apart ? Paired{}
                : paired_by_seed(row_seeds(found[0].first), row_seeds(linear->first),
                                 block_of(size), "1 - t");
      out << " Against " << linear->first->label << " (FID " << format_fixed(linear->second.mean, 1)
          << "), "
          << (apart                 ? "worse for every seed."
              : against.established ? "not separated by the spread over seeds, but worse seed "
                                      "by seed."
                                    : "not separated by the spread over seeds.")
          << against.text;
    }
    out << "\n";
    best_schedules.push_back(found[0].first->label);
  }
  if (best_schedules.size() >= 2) {
    const bool same = std::all_of(best_schedules.begin(), best_schedules.end(),
                                  [&](const std::string& s) { return s == best_schedules[0]; });
    out << (same ? "- The same schedule function is best at every resolution measured.\n"
            : all_schedules_separated
                ? "- The best schedule function differs between resolutions, as the paper finds.\n"
                : "- The best schedule function differs between resolutions, but the spread over "
                  "seeds does not establish the differences.\n");
  }
  if (out.str().empty()) out << "- Not enough finished cells to compare yet.\n";
  return out.str();
}

}  // namespace noisesched
