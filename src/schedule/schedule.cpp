// Noise schedules gamma(t) (see schedule.h for conventions and references).
//
// Each family computes gamma and 1 - gamma from t without subtracting nearly equal numbers:
// differences of the base function are rewritten in closed form (sigmoid differences as a ratio
// of sinh and cosh, cosine differences through log1p/expm1) and the window offsets t (end - start)
// and (1 - t) (end - start) are formed from t directly.
#include "noisesched/schedule/schedule.h"

#include <algorithm>
#include <cmath>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kLn2 = 0.69314718055994530942;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// ln sigmoid(x) = -softplus(-x).
double log_sigmoid(double x) {
  return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x));
}

double log_cosh(double z) {
  const double a = std::fabs(z);
  return a + std::log1p(std::exp(-2.0 * a)) - kLn2;
}

// ln sinh(d) for d >= 0 (-inf at 0).
double log_sinh(double d) {
  if (d < 1.0) return std::log(std::sinh(d));
  return d + std::log1p(-std::exp(-2.0 * d)) - kLn2;
}

// ln(sigmoid(x) - sigmoid(y)) for x >= y, given gap = x - y computed without cancellation:
// sigmoid(x) - sigmoid(y) = sinh(gap / 2) / (2 cosh(x / 2) cosh(y / 2)).
double log_sigmoid_difference(double x, double y, double gap) {
  return log_sinh(std::max(gap, 0.0) / 2.0) - kLn2 - log_cosh(x / 2.0) - log_cosh(y / 2.0);
}

// A point u of the cosine window [0, 1] with its complement w = 1 - u, both formed without
// cancellation, so that cos(u pi / 2) = sin(w pi / 2) stays accurate where it is tiny (u near 1).
struct CosineAngle {
  double u, w;
};

double cos_half_pi(const CosineAngle& a) { return std::sin(a.w * kPi / 2); }

// v(a) - v(b) for v(u) = cos(u pi / 2)^(2 tau) and a.u <= b.u, given gap = b.u - a.u:
// cos(b) / cos(a) = 1 - 2 sin((a + b) pi / 4) sin(gap pi / 4) / cos(a), so the difference is
// -v(a) expm1(2 tau log1p(...)), accurate when a and b are close.
double cos_power_difference(const CosineAngle& a, const CosineAngle& b, double gap, double tau) {
  const double ca = cos_half_pi(a);
  if (ca <= 0.0) return 0.0;
  const double ratio_minus_one =
      -2.0 * std::sin((a.u + b.u) * kPi / 4) * std::sin(std::max(gap, 0.0) * kPi / 4) / ca;
  const double base = std::pow(ca, 2.0 * tau);
  if (ratio_minus_one <= -1.0) return base;
  return -base * std::expm1(2.0 * tau * std::log1p(ratio_minus_one));
}

// The cosine window's ends and the point at fraction t, exact at both ends.
struct CosineWindow {
  CosineAngle start, end, now;
  double span;  // end - start
};
CosineWindow cosine_window(const CosineSchedule& s, double t) {
  const double span = s.end - s.start;
  const CosineAngle now =
      t <= 0.5 ? CosineAngle{s.start + t * span, (1.0 - s.start) - t * span}
               : CosineAngle{s.end - (1.0 - t) * span, (1.0 - s.end) + (1.0 - t) * span};
  return {{s.start, 1.0 - s.start}, {s.end, 1.0 - s.end}, now, span};
}

// Position inside the window [lo, hi] at fraction t, exact at both ends.
double window(double lo, double hi, double t) {
  return t <= 0.5 ? lo + t * (hi - lo) : hi - (1.0 - t) * (hi - lo);
}

std::vector<double> param_values(const ScheduleParams& params) {
  return std::visit(Overloaded{
                        [](const SimpleLinearSchedule&) { return std::vector<double>{}; },
                        [](const CosineSchedule& s) {
                          return std::vector<double>{s.start, s.end, s.tau};
                        },
                        [](const SigmoidSchedule& s) {
                          return std::vector<double>{s.start, s.end, s.tau};
                        },
                        [](const ShiftedCosineSchedule& s) {
                          return std::vector<double>{s.ref, s.res, s.logsnr_min, s.logsnr_max};
                        },
                        [](const DdpmLinearSchedule& s) {
                          return std::vector<double>{s.beta_start, s.beta_end, s.steps};
                        },
                        [](const KarrasSchedule& s) {
                          return std::vector<double>{s.sigma_min, s.sigma_max, s.rho};
                        },
                    },
                    params);
}

ScheduleParams make_params(std::size_t family, const std::vector<double>& v) {
  switch (family) {
    case 0:
      return SimpleLinearSchedule{};
    case 1:
      return CosineSchedule{v[0], v[1], v[2]};
    case 2:
      return SigmoidSchedule{v[0], v[1], v[2]};
    case 3:
      return ShiftedCosineSchedule{v[0], v[1], v[2], v[3]};
    case 4:
      return DdpmLinearSchedule{v[0], v[1], v[2]};
    default:
      return KarrasSchedule{v[0], v[1], v[2]};
  }
}

// tau's range: beyond it the families are a step function or flat to double precision, and
// gamma's differences fall into subnormal numbers (found by fuzzing: cosine with tau = 4e-299
// gave a logSNR that rose with t).
constexpr double kMinTau = 1e-3, kMaxTau = 1e3;
// The sigmoid window's ends: sigmoid(u / tau) is 0 or 1 to double precision long before (the
// paper uses -3 and 3); found by fuzzing: start = -7.8e75 gave a logSNR that rose with t.
constexpr double kMaxSigmoidEnd = 100;

// Throws "<family>: <name> must be <rule> (got <value>)".
void require(bool ok, const char* family, const char* name, const char* rule, double value) {
  if (!ok) {
    throw Error(std::string(family) + ": " + name + " must be " + rule + " (got " +
                format_exact(value) + ")");
  }
}

void validate(const ScheduleParams& params) {
  std::visit(
      Overloaded{
          [](const SimpleLinearSchedule&) {},
          [](const CosineSchedule& s) {
            require(s.tau >= kMinTau && s.tau <= kMaxTau, "cosine", "tau", "in [0.001, 1000]",
                    s.tau);
            require(s.start >= 0 && s.start <= 1, "cosine", "start", "in [0, 1]", s.start);
            require(s.end >= 0 && s.end <= 1, "cosine", "end", "in [0, 1]", s.end);
            require(s.start < s.end, "cosine", "start", "< end", s.start);
          },
          [](const SigmoidSchedule& s) {
            require(s.tau >= kMinTau && s.tau <= kMaxTau, "sigmoid", "tau", "in [0.001, 1000]",
                    s.tau);
            require(std::abs(s.start) <= kMaxSigmoidEnd, "sigmoid", "start", "in [-100, 100]",
                    s.start);
            require(std::abs(s.end) <= kMaxSigmoidEnd, "sigmoid", "end", "in [-100, 100]", s.end);
            require(s.start < s.end, "sigmoid", "start", "< end", s.start);
          },
          [](const ShiftedCosineSchedule& s) {
            require(s.ref > 0, "shifted_cosine", "ref", "> 0", s.ref);
            require(s.res > 0, "shifted_cosine", "res", "> 0", s.res);
            require(s.logsnr_min < s.logsnr_max, "shifted_cosine", "logsnr_min", "< logsnr_max",
                    s.logsnr_min);
          },
          [](const DdpmLinearSchedule& s) {
            require(s.beta_start > 0 && s.beta_start < 1, "ddpm_linear", "beta_start", "in (0, 1)",
                    s.beta_start);
            require(s.beta_end > 0 && s.beta_end < 1, "ddpm_linear", "beta_end", "in (0, 1)",
                    s.beta_end);
            require(s.beta_start <= s.beta_end, "ddpm_linear", "beta_start", "<= beta_end",
                    s.beta_start);
            require(s.steps >= 1 && s.steps <= 1e6 && s.steps == std::floor(s.steps), "ddpm_linear",
                    "steps", "a whole number in [1, 1000000]", s.steps);
          },
          [](const KarrasSchedule& s) {
            require(s.sigma_min > 0, "karras", "sigma_min", "> 0", s.sigma_min);
            require(s.sigma_min < s.sigma_max, "karras", "sigma_min", "< sigma_max", s.sigma_min);
            require(s.rho > 0, "karras", "rho", "> 0", s.rho);
          },
      },
      params);
}

std::shared_ptr<const std::vector<double>> ddpm_log_alpha_bar(const DdpmLinearSchedule& s) {
  const auto steps = static_cast<std::size_t>(s.steps);
  auto table = std::make_shared<std::vector<double>>(steps + 1);
  long double sum = 0.0L;  // 1e6 terms: extended precision keeps the sum exact to double
  (*table)[0] = 0.0;
  for (std::size_t k = 0; k < steps; ++k) {
    // torch.linspace(beta_start, beta_end, steps)[k]
    const double beta = steps == 1
                            ? s.beta_start
                            : s.beta_start + (s.beta_end - s.beta_start) * static_cast<double>(k) /
                                                 static_cast<double>(steps - 1);
    sum += std::log1p(-static_cast<long double>(beta));
    (*table)[k + 1] = static_cast<double>(sum);
  }
  return table;
}

// Karras et al. eq. 5 in terms of t: sigma^(1/rho) is linear in t.
struct KarrasRoots {
  double lo, hi;
};
KarrasRoots karras_roots(const KarrasSchedule& s) {
  return {std::pow(s.sigma_min, 1.0 / s.rho), std::pow(s.sigma_max, 1.0 / s.rho)};
}

struct ShiftedCosineWindow {
  double u_min, u_max, shift;
};
ShiftedCosineWindow shifted_cosine_window(const ShiftedCosineSchedule& s) {
  return {std::atan(std::exp(-s.logsnr_max / 2.0)), std::atan(std::exp(-s.logsnr_min / 2.0)),
          2.0 * (std::log(s.ref) - std::log(s.res))};
}

Variances from_logsnr(double logsnr) { return {sigmoid(logsnr), sigmoid(-logsnr)}; }

}  // namespace

const std::vector<ScheduleFamilyInfo>& schedule_families() {
  static const std::vector<ScheduleFamilyInfo> kFamilies = {
      {"simple_linear", {}, "gamma(t) = 1 - t"},
      {"cosine",
       {{"start", 0.0}, {"end", 1.0}, {"tau", 1.0}},
       "window [start, end] of cos(u pi / 2)^(2 tau), renormalised (Chen 2023, Alg. 1)"},
      {"sigmoid",
       {{"start", -3.0}, {"end", 3.0}, {"tau", 1.0}},
       "window [start, end] of sigmoid(u / tau), renormalised (Chen 2023, Alg. 1)"},
      {"shifted_cosine",
       {{"ref", 64.0}, {"res", 64.0}, {"logsnr_min", -15.0}, {"logsnr_max", 15.0}},
       "cosine logSNR shifted by 2 ln(ref / res) (Hoogeboom et al. 2023)"},
      {"ddpm_linear",
       {{"beta_start", 1e-4}, {"beta_end", 0.02}, {"steps", 1000.0}},
       "DDPM linear betas, ln(alpha_bar) interpolated in t (Ho et al. 2020)"},
      {"karras",
       {{"sigma_min", 0.002}, {"sigma_max", 80.0}, {"rho", 7.0}},
       "EDM sigma^(1/rho) linear in t (Karras et al. 2022)"},
  };
  return kFamilies;
}

Schedule::Schedule(ScheduleParams params, double clip_min)
    : params_(std::move(params)), clip_min_(clip_min) {
  validate(params_);
  if (!(clip_min > 0 && clip_min < 1)) {
    throw Error("clip_min must be in (0, 1) (got " + format_exact(clip_min) + ")");
  }
  if (const auto* ddpm = std::get_if<DdpmLinearSchedule>(&params_)) {
    log_alpha_bar_ = ddpm_log_alpha_bar(*ddpm);
  }
  logsnr_at_0_ = logsnr(0.0);
  logsnr_at_1_ = logsnr(1.0);
}

const ScheduleFamilyInfo& Schedule::family() const { return schedule_families()[params_.index()]; }

bool operator==(const Schedule& a, const Schedule& b) {
  return a.params_.index() == b.params_.index() &&
         param_values(a.params_) == param_values(b.params_) && a.clip_min_ == b.clip_min_;
}

Schedule Schedule::parse(std::string_view spec_text) {
  const std::string_view spec = trim(spec_text);
  const std::string quoted = "schedule '" + std::string(spec) + "'";
  const auto split = spec.find_first_of("@:");
  const std::string name(trim(spec.substr(0, split)));
  const auto& families = schedule_families();
  std::size_t family = families.size();
  for (std::size_t i = 0; i < families.size(); ++i) {
    if (families[i].name == name) family = i;
  }
  if (family == families.size()) {
    std::string valid;
    for (const auto& f : families) valid += (valid.empty() ? "" : ", ") + f.name;
    throw Error(quoted + ": unknown schedule '" + name + "'; valid names: " + valid);
  }
  const auto& info = families[family];
  std::vector<double> values;
  for (const auto& p : info.params) values.push_back(p.default_value);
  double clip_min = kDefaultClipMin;

  if (split != std::string_view::npos) {
    std::vector<std::string_view> tokens;
    std::string_view rest = spec.substr(split + 1);
    while (true) {
      const auto comma = rest.find(',');
      tokens.push_back(trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    std::string keys;
    for (const auto& p : info.params) keys += p.name + ", ";
    keys += "clip_min";
    if (spec[split] == '@') {
      if (info.params.empty()) {
        throw Error(quoted + ": " + info.name + " takes no positional values (got " +
                    std::to_string(tokens.size()) + "); its one key is clip_min, as in " +
                    info.name + ":clip_min=1e-9");
      }
      if (tokens.size() > info.params.size()) {
        throw Error(quoted + ": " + info.name + " takes at most " +
                    std::to_string(info.params.size()) + " positional values (" +
                    keys.substr(0, keys.rfind(", ")) + "), got " + std::to_string(tokens.size()));
      }
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        values[i] = parse_double(tokens[i], quoted + ": " + info.params[i].name);
      }
    } else {
      std::vector<std::string> seen;
      for (const auto& token : tokens) {
        const auto eq = token.find('=');
        if (eq == std::string_view::npos) {
          throw Error(quoted + ": expected key=value, got '" + std::string(token) +
                      "'; keys: " + keys);
        }
        const std::string key(trim(token.substr(0, eq)));
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
          throw Error(quoted + ": key '" + key + "' given twice");
        }
        seen.push_back(key);
        const std::string what = quoted + ": " + key;
        if (key == "clip_min") {
          clip_min = parse_double(token.substr(eq + 1), what);
          continue;
        }
        std::size_t index = info.params.size();
        for (std::size_t i = 0; i < info.params.size(); ++i) {
          if (info.params[i].name == key) index = i;
        }
        if (index == info.params.size()) {
          throw Error(quoted + ": unknown key '" + key + "' for " + info.name + "; keys: " + keys);
        }
        values[index] = parse_double(token.substr(eq + 1), what);
      }
    }
  }
  try {
    return Schedule(make_params(family, values), clip_min);
  } catch (const Error& e) {
    throw Error(quoted + ": " + e.what());
  }
}

std::string Schedule::to_string() const {
  const auto& info = family();
  const auto values = param_values(params_);
  std::string out = info.name;
  char separator = ':';
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += separator + info.params[i].name + "=" + format_exact(values[i]);
    separator = ',';
  }
  if (clip_min_ != kDefaultClipMin)
    out += separator + std::string("clip_min=") + format_exact(clip_min_);
  return out;
}

Variances Schedule::unclipped(double t) const {
  return std::visit(
      Overloaded{
          [&](const SimpleLinearSchedule&) {
            return Variances{1.0 - t, t};
          },
          [&](const CosineSchedule& s) {
            const auto w = cosine_window(s, t);
            const double total = cos_power_difference(w.start, w.end, w.span, s.tau);
            return Variances{cos_power_difference(w.now, w.end, (1.0 - t) * w.span, s.tau) / total,
                             cos_power_difference(w.start, w.now, t * w.span, s.tau) / total};
          },
          [&](const SigmoidSchedule& s) {
            const double a = s.start / s.tau, b = s.end / s.tau, c = window(a, b, t);
            const double width = b - a;
            const double log_total = log_sigmoid_difference(b, a, width);
            return Variances{std::exp(log_sigmoid_difference(b, c, (1.0 - t) * width) - log_total),
                             std::exp(log_sigmoid_difference(c, a, t * width) - log_total)};
          },
          [&](const ShiftedCosineSchedule& s) {
            const auto w = shifted_cosine_window(s);
            return from_logsnr(-2.0 * std::log(std::tan(window(w.u_min, w.u_max, t))) + w.shift);
          },
          [&](const DdpmLinearSchedule&) {
            const auto& table = *log_alpha_bar_;
            const std::size_t n = table.size() - 1;
            const double position = t * static_cast<double>(n);
            const std::size_t k = std::min(static_cast<std::size_t>(position), n - 1);
            const double fraction = position - static_cast<double>(k);
            const double log_gamma = table[k] + fraction * (table[k + 1] - table[k]);
            return Variances{std::exp(log_gamma), -std::expm1(log_gamma)};
          },
          [&](const KarrasSchedule& s) {
            const auto r = karras_roots(s);
            const double sigma = std::pow(window(r.lo, r.hi, t), s.rho);
            const double sigma2 = sigma * sigma;
            return Variances{1.0 / (1.0 + sigma2), sigma2 / (1.0 + sigma2)};
          },
      },
      params_);
}

Variances Schedule::variances(double t) const {
  if (!(t >= 0.0 && t <= 1.0)) {
    throw Error("schedule " + to_string() + ": t = " + format_exact(t) + " is outside [0, 1]");
  }
  Variances v = unclipped(t);
  if (!(v.gamma >= clip_min_)) return {clip_min_, 1.0 - clip_min_};
  // gamma rounds to 1 long before 1 - gamma (kept to full precision) reaches 0.
  if (v.one_minus <= 0.0) return {1.0, 0.0};
  v.gamma = std::min(v.gamma, 1.0);
  v.one_minus = std::min(v.one_minus, 1.0 - clip_min_);
  return v;
}

double Schedule::logsnr(double t) const {
  const Variances v = variances(t);
  return std::log(v.gamma) - std::log(v.one_minus);
}

double Schedule::sigma(double t) const {
  const Variances v = variances(t);
  return std::sqrt(v.one_minus / v.gamma);
}

double Schedule::unclipped_t_from_logsnr(double logsnr) const {
  const Variances target = from_logsnr(logsnr);
  return std::visit(
      Overloaded{
          [&](const SimpleLinearSchedule&) { return target.one_minus; },
          [&](const CosineSchedule& s) {
            const auto w = cosine_window(s, 0.0);
            const double v_start = std::pow(cos_half_pi(w.start), 2.0 * s.tau);
            const double total = cos_power_difference(w.start, w.end, w.span, s.tau);
            // ln v(now) with v(now) = v(end) + gamma total = v(start) - (1 - gamma) total.
            const double log_v =
                target.gamma >= 0.5
                    ? std::log(v_start) + std::log1p(-target.one_minus * total / v_start)
                    : std::log(std::pow(cos_half_pi(w.end), 2.0 * s.tau) + target.gamma * total);
            const double log_cos = log_v / (2.0 * s.tau);
            // acos loses half the digits near 1, where 1 - cos(x) = 2 sin^2(x / 2) does not.
            const double u = log_cos > std::log(0.5)
                                 ? 4.0 / kPi * std::asin(std::sqrt(-std::expm1(log_cos) / 2.0))
                                 : 2.0 / kPi * std::acos(std::exp(log_cos));
            return (u - s.start) / w.span;
          },
          [&](const SigmoidSchedule& s) {
            const double a = s.start / s.tau, b = s.end / s.tau;
            const double total = std::exp(log_sigmoid_difference(b, a, b - a));
            // v(c) = v(a) + (1 - gamma) total; 1 - v(c) = (1 - v(b)) + gamma total.
            const double v = sigmoid(a) + target.one_minus * total;
            const double one_minus_v = sigmoid(-b) + target.gamma * total;
            const double c = std::log(v) - std::log(one_minus_v);
            return (c - a) / (b - a);
          },
          [&](const ShiftedCosineSchedule& s) {
            const auto w = shifted_cosine_window(s);
            return (std::atan(std::exp(-(logsnr - w.shift) / 2.0)) - w.u_min) / (w.u_max - w.u_min);
          },
          [&](const DdpmLinearSchedule&) {
            const auto& table = *log_alpha_bar_;
            const double log_gamma = log_sigmoid(logsnr);
            // The table decreases; find the first knot at or below log_gamma.
            const auto it =
                std::lower_bound(table.begin(), table.end(), log_gamma, std::greater<double>());
            if (it == table.begin()) return 0.0;
            if (it == table.end()) return 1.0;
            const auto k = static_cast<std::size_t>(it - table.begin()) - 1;
            const double fraction = (log_gamma - table[k]) / (table[k + 1] - table[k]);
            return (static_cast<double>(k) + fraction) / static_cast<double>(table.size() - 1);
          },
          [&](const KarrasSchedule& s) {
            const auto r = karras_roots(s);
            return (std::exp(-logsnr / (2.0 * s.rho)) - r.lo) / (r.hi - r.lo);
          },
      },
      params_);
}

double Schedule::t_from_logsnr(double logsnr) const {
  if (std::isnan(logsnr)) throw Error("schedule " + to_string() + ": logSNR is NaN");
  if (logsnr >= logsnr_at_0_) return 0.0;
  if (logsnr < logsnr_at_1_) return 1.0;
  return std::clamp(unclipped_t_from_logsnr(logsnr), 0.0, 1.0);
}

double Schedule::dlogsnr_dt(double t, const Variances& v) const {
  // dlogSNR/dt = (dgamma/dt) / (gamma (1 - gamma)) where a family gives dgamma/dt.
  const double gamma_one_minus = v.gamma * v.one_minus;
  return std::visit(Overloaded{
                        [&](const SimpleLinearSchedule&) { return -1.0 / gamma_one_minus; },
                        [&](const CosineSchedule& s) {
                          const auto w = cosine_window(s, t);
                          const double total = cos_power_difference(w.start, w.end, w.span, s.tau);
                          // d/du cos(u pi/2)^(2 tau) = -tau pi cos(u pi/2)^(2 tau - 1) sin(u pi/2);
                          // du/dt = span.
                          const double dv = -s.tau * kPi *
                                            std::pow(cos_half_pi(w.now), 2.0 * s.tau - 1.0) *
                                            std::sin(w.now.u * kPi / 2);
                          return dv * w.span / total / gamma_one_minus;
                        },
                        [&](const SigmoidSchedule& s) {
                          const double a = s.start / s.tau, b = s.end / s.tau, c = window(a, b, t);
                          const double total = std::exp(log_sigmoid_difference(b, a, b - a));
                          // d/dc sigmoid(c) = sigmoid(c) sigmoid(-c); gamma falls as c rises.
                          return -sigmoid(c) * sigmoid(-c) * (b - a) / total / gamma_one_minus;
                        },
                        [&](const ShiftedCosineSchedule& s) {
                          const auto w = shifted_cosine_window(s);
                          const double u = window(w.u_min, w.u_max, t);
                          return -4.0 * (w.u_max - w.u_min) / std::sin(2.0 * u);
                        },
                        [&](const DdpmLinearSchedule&) {
                          const auto& table = *log_alpha_bar_;
                          const std::size_t n = table.size() - 1;
                          const std::size_t k =
                              std::min(static_cast<std::size_t>(t * static_cast<double>(n)), n - 1);
                          // logSNR = l - ln(1 - e^l) with l = ln(alpha_bar): dlogSNR/dl = 1 / (1 -
                          // gamma).
                          return static_cast<double>(n) * (table[k + 1] - table[k]) / v.one_minus;
                        },
                        [&](const KarrasSchedule& s) {
                          const auto r = karras_roots(s);
                          return -2.0 * s.rho * (r.hi - r.lo) / window(r.lo, r.hi, t);
                        },
                    },
                    params_);
}

double Schedule::logsnr_density(double logsnr) const {
  if (std::isnan(logsnr)) throw Error("schedule " + to_string() + ": logSNR is NaN");
  if (!(logsnr > logsnr_at_1_ && logsnr < logsnr_at_0_)) return 0.0;
  const double t = std::clamp(unclipped_t_from_logsnr(logsnr), 0.0, 1.0);
  return 1.0 / std::fabs(dlogsnr_dt(t, unclipped(t)));
}

}  // namespace noisesched
