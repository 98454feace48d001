#pragma once
// Arrival processes: where the requests of one model come from in time (the reference's
// GammaProcess, PoissonProcess, DeterministicProcess, UniformMMPP and ParetoProcess;
// ../shared/reference/alpaserve.md section 2). Values come from planner/core/random.hpp, so the
// same (process, start, duration, seed) gives the same arrivals on every machine; they are NOT the
// numpy values of the reference (bit parity with MT19937 + numpy's samplers is not a goal).
//
// Processes are immutable values: generate_arrivals is const and may be called concurrently.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace alpaserve::planner {

class arrival_process {
 public:
  virtual ~arrival_process() = default;

  // Arrival times (seconds, non-decreasing) of one stream, from an engine seeded with `seed`.
  // Throws std::invalid_argument for a negative or non-finite duration or non-finite start.
  [[nodiscard]] virtual std::vector<double> generate_arrivals(double start, double duration,
                                                              uint64_t seed) const = 0;
  // Mean arrival rate (requests/s).
  [[nodiscard]] virtual double rate() const = 0;
  // Coefficient of variation of the gaps; nullopt where the process has none (MMPP, heavy tails).
  [[nodiscard]] virtual std::optional<double> cv() const = 0;
  // One line for logs and --help output, e.g. "gamma(rate=2, cv=4)".
  [[nodiscard]] virtual std::string describe() const = 0;
  [[nodiscard]] virtual std::unique_ptr<arrival_process> clone() const = 0;
};

using arrival_process_ptr = std::unique_ptr<arrival_process>;

// Renewal process with Gamma(shape 1/cv^2, scale cv^2/rate) gaps: mean gap 1/rate, CV cv.
// The first arrival is start + first gap; arrivals are strictly before start + duration. Gaps are
// drawn one after another from the seeded engine, so for a fixed (rate, cv, seed, start) a longer
// duration extends the same sequence (prefix consistency, as in the reference).
// rate 0 gives no arrivals; rate < 0, cv <= 0 or non-finite values throw std::invalid_argument.
class gamma_process : public arrival_process {
 public:
  gamma_process(double rate, double cv);

  [[nodiscard]] std::vector<double> generate_arrivals(double start, double duration,
                                                      uint64_t seed) const override;
  [[nodiscard]] double rate() const override { return rate_; }
  [[nodiscard]] std::optional<double> cv() const override { return cv_; }
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] std::unique_ptr<arrival_process> clone() const override;

 private:
  double rate_;
  double cv_;
};

// Gamma with CV 1 (exponential gaps); same stream as gamma_process(rate, 1) for the same seed.
class poisson_process final : public gamma_process {
 public:
  explicit poisson_process(double rate);
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] std::unique_ptr<arrival_process> clone() const override;
};

// n = int(duration * rate) ticks at start + i / rate (the first at start). The seed is unused.
class deterministic_process final : public arrival_process {
 public:
  explicit deterministic_process(double rate);

  [[nodiscard]] std::vector<double> generate_arrivals(double start, double duration,
                                                      uint64_t seed) const override;
  [[nodiscard]] double rate() const override { return rate_; }
  [[nodiscard]] std::optional<double> cv() const override { return 0.0; }
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] std::unique_ptr<arrival_process> clone() const override;

 private:
  double rate_;
};

// m-state Markov-modulated Poisson process with uniform transitions (the reference's
// UniformMMPP + MMPPSampler): starts in state 0 at time 0; each state s lasts Exp(mean
// state_durations[s]) and then jumps to one of the other m - 1 states with equal probability
// (m = 1 stays); within a state, Poisson arrivals at state_rates[s]. Exactly
// n = int(duration * mean_rate) arrivals are returned (start + their times), where
// mean_rate = sum(d_i * r_i) / sum(d_i); like the reference they may run past start + duration.
class uniform_mmpp final : public arrival_process {
 public:
  uniform_mmpp(std::vector<double> state_durations, std::vector<double> state_rates);

  [[nodiscard]] std::vector<double> generate_arrivals(double start, double duration,
                                                      uint64_t seed) const override;
  [[nodiscard]] double rate() const override { return mean_rate_; }
  [[nodiscard]] std::optional<double> cv() const override { return std::nullopt; }
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] std::unique_ptr<arrival_process> clone() const override;

  [[nodiscard]] const std::vector<double>& state_durations() const noexcept { return durations_; }
  [[nodiscard]] const std::vector<double>& state_rates() const noexcept { return rates_; }

 private:
  std::vector<double> durations_;
  std::vector<double> rates_;
  double mean_rate_;
};

// Gaps X - 1.0 with X ~ loc + scale * Pareto(shape) (scipy's pareto(b=shape, loc, scale), whose
// support starts at loc + scale): the reference's ParetoProcess, including its -1.0 shift. Like
// the reference it starts at `start`, adds a gap, emits, and stops after the first arrival at or
// past start + duration (so the last arrival may lie beyond the window).
// Requires shape > 0, scale > 0 and loc + scale >= 1 (else gaps could be negative and time would
// not advance). Unlike the reference (placeholders returning 1.0), rate() and cv() are the true
// values: rate 0 when shape <= 1 (infinite mean gap), cv nullopt when shape <= 2.
class pareto_process final : public arrival_process {
 public:
  pareto_process(double shape, double scale, double loc = 0.0);

  [[nodiscard]] std::vector<double> generate_arrivals(double start, double duration,
                                                      uint64_t seed) const override;
  [[nodiscard]] double rate() const override;
  [[nodiscard]] std::optional<double> cv() const override;
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] std::unique_ptr<arrival_process> clone() const override;

  [[nodiscard]] double shape() const noexcept { return shape_; }
  [[nodiscard]] double scale() const noexcept { return scale_; }
  [[nodiscard]] double loc() const noexcept { return loc_; }

 private:
  double shape_;
  double scale_;
  double loc_;
};

}  // namespace alpaserve::planner
