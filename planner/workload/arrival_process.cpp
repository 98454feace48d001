#include "planner/workload/arrival_process.hpp"

#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "planner/core/random.hpp"

namespace alpaserve::planner {

namespace {

void check_window(const char* who, double start, double duration) {
  if (!std::isfinite(start)) {
    throw std::invalid_argument(fmt::format("{}: start must be finite, got {}", who, start));
  }
  if (!std::isfinite(duration) || duration < 0.0) {
    throw std::invalid_argument(
        fmt::format("{}: duration must be finite and >= 0, got {}", who, duration));
  }
}

void check_rate(const char* who, double rate) {
  if (!std::isfinite(rate) || rate < 0.0) {
    throw std::invalid_argument(fmt::format("{}: rate must be finite and >= 0, got {}", who, rate));
  }
}

// Room for the expected count plus slack, capped so a huge rate does not reserve wildly.
size_t expected_capacity(double rate, double duration) {
  const double n = rate * duration;
  return static_cast<size_t>(std::min(n + 4.0 * std::sqrt(n) + 16.0, 1e9));
}

}  // namespace

// ---- gamma / poisson ----------------------------------------------------------------------------

gamma_process::gamma_process(double rate, double cv) : rate_(rate), cv_(cv) {
  check_rate("gamma_process", rate);
  if (!std::isfinite(cv) || cv <= 0.0) {
    throw std::invalid_argument(
        fmt::format("gamma_process: cv must be finite and > 0, got {}", cv));
  }
}

std::vector<double> gamma_process::generate_arrivals(double start, double duration,
                                                     uint64_t seed) const {
  check_window("gamma_process", start, duration);
  std::vector<double> ticks;
  if (rate_ == 0.0 || duration == 0.0) return ticks;
  ticks.reserve(expected_capacity(rate_, duration));
  random_engine rng(seed);
  const gamma_sampler gap(1.0 / (cv_ * cv_), cv_ * cv_ / rate_);
  const double end = start + duration;
  for (double t = start + gap(rng); t < end; t += gap(rng)) ticks.push_back(t);
  return ticks;
}

std::string gamma_process::describe() const {
  return fmt::format("gamma(rate={:g}, cv={:g})", rate_, cv_);
}

std::unique_ptr<arrival_process> gamma_process::clone() const {
  return std::make_unique<gamma_process>(*this);
}

poisson_process::poisson_process(double rate) : gamma_process(rate, 1.0) {}

std::string poisson_process::describe() const {
  return fmt::format("poisson(rate={:g})", rate());
}

std::unique_ptr<arrival_process> poisson_process::clone() const {
  return std::make_unique<poisson_process>(*this);
}

// ---- deterministic ------------------------------------------------------------------------------

deterministic_process::deterministic_process(double rate) : rate_(rate) {
  check_rate("deterministic_process", rate);
}

std::vector<double> deterministic_process::generate_arrivals(double start, double duration,
                                                             uint64_t /*seed*/) const {
  check_window("deterministic_process", start, duration);
  std::vector<double> ticks;
  if (rate_ == 0.0) return ticks;
  const auto n = static_cast<size_t>(duration * rate_);
  const double interval = 1.0 / rate_;
  ticks.reserve(n);
  for (size_t i = 0; i < n; ++i) ticks.push_back(start + static_cast<double>(i) * interval);
  return ticks;
}

std::string deterministic_process::describe() const {
  return fmt::format("deterministic(rate={:g})", rate_);
}

std::unique_ptr<arrival_process> deterministic_process::clone() const {
  return std::make_unique<deterministic_process>(*this);
}

// ---- uniform MMPP -------------------------------------------------------------------------------

uniform_mmpp::uniform_mmpp(std::vector<double> state_durations, std::vector<double> state_rates)
    : durations_(std::move(state_durations)), rates_(std::move(state_rates)) {
  if (durations_.empty()) throw std::invalid_argument("uniform_mmpp: needs at least one state");
  if (durations_.size() != rates_.size()) {
    throw std::invalid_argument(fmt::format("uniform_mmpp: {} state durations but {} state rates",
                                            durations_.size(), rates_.size()));
  }
  for (size_t i = 0; i < durations_.size(); ++i) {
    if (!std::isfinite(durations_[i]) || durations_[i] <= 0.0) {
      throw std::invalid_argument(fmt::format(
          "uniform_mmpp: state {} duration must be finite and > 0, got {}", i, durations_[i]));
    }
    if (!std::isfinite(rates_[i]) || rates_[i] < 0.0) {
      throw std::invalid_argument(
          fmt::format("uniform_mmpp: state {} rate must be finite and >= 0, got {}", i, rates_[i]));
    }
  }
  double weighted = 0.0;
  for (size_t i = 0; i < durations_.size(); ++i) weighted += durations_[i] * rates_[i];
  mean_rate_ = weighted / std::accumulate(durations_.begin(), durations_.end(), 0.0);
}

std::vector<double> uniform_mmpp::generate_arrivals(double start, double duration,
                                                    uint64_t seed) const {
  check_window("uniform_mmpp", start, duration);
  const auto n = static_cast<size_t>(duration * mean_rate_);
  std::vector<double> ticks;
  if (n == 0) return ticks;  // (the reference would loop forever here)
  ticks.reserve(n);
  random_engine rng(seed);
  const size_t m = durations_.size();
  size_t state = 0;
  double state_start = 0.0;
  for (;;) {
    // Embedded jump chain: leave to any other state with probability 1/(m-1).
    size_t next = state;
    if (m > 1) {
      next = rng.uniform_index(m - 1);
      if (next >= state) ++next;
    }
    const double state_end = state_start + rng.exponential(durations_[state]);
    if (rates_[state] > 0.0) {
      const double mean_gap = 1.0 / rates_[state];
      // The draw that overshoots the state's end is discarded (memoryless, as the reference).
      for (double t = state_start + rng.exponential(mean_gap); t <= state_end;
           t += rng.exponential(mean_gap)) {
        ticks.push_back(start + t);
        if (ticks.size() == n) return ticks;
      }
    }
    state_start = state_end;
    state = next;
  }
}

std::string uniform_mmpp::describe() const {
  return fmt::format("uniform_mmpp(durations=[{}], rates=[{}], mean_rate={:g})",
                     fmt::join(durations_, ", "), fmt::join(rates_, ", "), mean_rate_);
}

std::unique_ptr<arrival_process> uniform_mmpp::clone() const {
  return std::make_unique<uniform_mmpp>(*this);
}

// ---- pareto -------------------------------------------------------------------------------------

pareto_process::pareto_process(double shape, double scale, double loc)
    : shape_(shape), scale_(scale), loc_(loc) {
  if (!std::isfinite(shape) || shape <= 0.0) {
    throw std::invalid_argument(
        fmt::format("pareto_process: shape must be finite and > 0, got {}", shape));
  }
  if (!std::isfinite(scale) || scale <= 0.0) {
    throw std::invalid_argument(
        fmt::format("pareto_process: scale must be finite and > 0, got {}", scale));
  }
  if (!std::isfinite(loc) || loc + scale < 1.0) {
    throw std::invalid_argument(fmt::format(
        "pareto_process: loc + scale must be >= 1 (gaps are X - 1 with X >= loc + scale), got "
        "loc={} scale={}",
        loc, scale));
  }
}

std::vector<double> pareto_process::generate_arrivals(double start, double duration,
                                                      uint64_t seed) const {
  check_window("pareto_process", start, duration);
  std::vector<double> ticks;
  random_engine rng(seed);
  const double inv_shape = 1.0 / shape_;
  const double end = start + duration;
  for (double t = start; t < end;) {
    // Standard Pareto(b) = exp(E / b) with E ~ Exp(1).
    t += loc_ + scale_ * std::exp(rng.standard_exponential() * inv_shape) - 1.0;
    ticks.push_back(t);
  }
  return ticks;
}

double pareto_process::rate() const {
  if (shape_ <= 1.0) return 0.0;
  const double mean_gap = loc_ + scale_ * shape_ / (shape_ - 1.0) - 1.0;
  return 1.0 / mean_gap;
}

std::optional<double> pareto_process::cv() const {
  if (shape_ <= 2.0) return std::nullopt;
  const double mean_gap = loc_ + scale_ * shape_ / (shape_ - 1.0) - 1.0;
  const double sd = scale_ / (shape_ - 1.0) * std::sqrt(shape_ / (shape_ - 2.0));
  return sd / mean_gap;
}

std::string pareto_process::describe() const {
  return fmt::format("pareto(shape={:g}, scale={:g}, loc={:g})", shape_, scale_, loc_);
}

std::unique_ptr<arrival_process> pareto_process::clone() const {
  return std::make_unique<pareto_process>(*this);
}

}  // namespace alpaserve::planner
