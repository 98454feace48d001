#pragma once
// Maximum-likelihood fits of inter-arrival gaps, as the reference's trace replay does them with
// scipy (../shared/reference/alpaserve.md section 3, step 7), plus the special functions they
// need. Each fit returns nullopt where scipy would give NaN or raise (no usable samples).

#include <optional>
#include <vector>

namespace alpaserve::planner {

// psi(x) = d/dx log Gamma(x) and its derivative, for x > 0 (NaN otherwise). Recurrence up to
// x >= 10, then the asymptotic series: error below 1e-13.
[[nodiscard]] double digamma(double x) noexcept;
[[nodiscard]] double trigamma(double x) noexcept;

// expon.fit(x, floc=0): the scale is the sample mean. nullopt for no samples or a
// non-positive / non-finite mean.
[[nodiscard]] std::optional<double> fit_exponential_scale(const std::vector<double>& x);

struct gamma_fit {
  double shape;  // k
  double scale;  // theta; shape * scale = sample mean
};

// gamma.fit(x, floc=0): solves log k - psi(k) = log(mean x) - mean(log x) by Newton's method
// in log k (started at Minka's closed-form approximation), theta = mean / k. nullopt for no
// samples, a sample <= 0 or non-finite, or all samples equal (the MLE shape is infinite).
[[nodiscard]] std::optional<gamma_fit> fit_gamma(const std::vector<double>& x);

// pareto.fit(x, floc=0, fscale=1): shape b = n / sum(log x). nullopt for no samples, a sample
// < 1 (outside the support) or sum(log x) == 0.
[[nodiscard]] std::optional<double> fit_pareto_shape(const std::vector<double>& x);

}  // namespace alpaserve::planner
