#pragma once
// Seeded random numbers whose values are fixed by this file alone. The std::*_distribution
// classes are implementation-defined (libstdc++ and libc++ give different normals for the same
// engine), so workloads generated from a seed would differ between machines; these do not.
//
// Engine: xoshiro256** (Blackman & Vigna), its 256-bit state filled from the 64-bit seed by
// splitmix64, so consecutive seeds (model i uses base_seed + i) give unrelated streams.
// Determinism: the integer stream is bit-exact everywhere; the doubles derived from it go
// through std::log / std::exp / std::sqrt, which are exact for sqrt and within 1 ulp for
// log/exp in glibc, so values are bit-identical for the same libm (x86-64 glibc here).
//
// Not thread-safe: one engine per thread (cheap to construct: 32 bytes of state).

#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace alpaserve::planner {

// One step of splitmix64: advances `state` and returns a well-mixed 64-bit value.
[[nodiscard]] inline uint64_t splitmix64(uint64_t& state) noexcept {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class random_engine {
 public:
  explicit random_engine(uint64_t seed) noexcept {
    uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  // Next 64 random bits (xoshiro256**).
  [[nodiscard]] uint64_t next_u64() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform on [0, 1), 53 random bits.
  [[nodiscard]] double uniform() noexcept {
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  }
  // Uniform on (0, 1): safe to take the log of.
  [[nodiscard]] double uniform_positive() noexcept {
    return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53;
  }
  [[nodiscard]] double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) by multiply-high (bias < n / 2^64, irrelevant here); n > 0.
  [[nodiscard]] uint64_t uniform_index(uint64_t n) noexcept {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
  }

  // Exp(1) and N(0, 1) by the ziggurat method (Marsaglia & Tsang 2000, with Doornik's
  // separate bits for layer and position): ~98% of draws cost one next_u64 and a compare, no
  // log/exp. The tables are built once from std::exp/std::log (see determinism note above).
  [[nodiscard]] double standard_exponential() noexcept;
  [[nodiscard]] double exponential(double mean) noexcept { return mean * standard_exponential(); }
  [[nodiscard]] double standard_normal() noexcept;
  [[nodiscard]] double normal(double mean, double stddev) noexcept {
    return mean + stddev * standard_normal();
  }

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
};

namespace detail {

// Ziggurat layers: x[0] is the base strip's pseudo-width (area v / f(r)), x[1] = r the tail
// start, x[layers] = 0; layer i covers [0, x[i]] between heights f(x[i]) and f(x[i+1]).
template <int Layers>
struct ziggurat_table {
  double x[Layers + 1];
  double f[Layers + 1];  // f(x[i])
};

inline const ziggurat_table<256>& exponential_table() {
  static const ziggurat_table<256> t = [] {
    ziggurat_table<256> z{};
    const double r = 7.69711747013104972, v = 3.949659822581572e-3;
    z.x[0] = v / std::exp(-r);
    z.x[1] = r;
    for (int i = 2; i < 256; ++i) z.x[i] = -std::log(v / z.x[i - 1] + std::exp(-z.x[i - 1]));
    z.x[256] = 0.0;
    for (int i = 0; i <= 256; ++i) z.f[i] = std::exp(-z.x[i]);
    return z;
  }();
  return t;
}

inline const ziggurat_table<128>& normal_table() {
  static const ziggurat_table<128> t = [] {
    ziggurat_table<128> z{};
    const double r = 3.442619855899, v = 9.91256303526217e-3;
    z.x[0] = v / std::exp(-0.5 * r * r);
    z.x[1] = r;
    for (int i = 2; i < 128; ++i) {
      z.x[i] =
          std::sqrt(-2.0 * std::log(v / z.x[i - 1] + std::exp(-0.5 * z.x[i - 1] * z.x[i - 1])));
    }
    z.x[128] = 0.0;
    for (int i = 0; i <= 128; ++i) z.f[i] = std::exp(-0.5 * z.x[i] * z.x[i]);
    return z;
  }();
  return t;
}

}  // namespace detail

inline double random_engine::standard_exponential() noexcept {
  const auto& z = detail::exponential_table();
  double tail = 0.0;  // the tail beyond r is r + Exp(1) (memoryless)
  for (;;) {
    const uint64_t bits = next_u64();
    const int i = static_cast<int>(bits & 0xff);
    const double u = static_cast<double>(bits >> 11) * 0x1.0p-53;
    const double x = u * z.x[i];
    if (x < z.x[i + 1]) return tail + x;
    if (i == 0) {
      tail += z.x[1];
      continue;
    }
    if (z.f[i] + uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-x)) return tail + x;
  }
}

inline double random_engine::standard_normal() noexcept {
  const auto& z = detail::normal_table();
  for (;;) {
    const uint64_t bits = next_u64();
    const int i = static_cast<int>(bits & 0x7f);
    const double u = 2.0 * (static_cast<double>(bits >> 11) * 0x1.0p-53) - 1.0;  // [-1, 1)
    const double x = u * z.x[i];
    if (std::abs(x) < z.x[i + 1]) return x;
    if (i == 0) {  // tail beyond r (Marsaglia 1964)
      double tx, ty;
      do {
        tx = std::log(uniform_positive()) / z.x[1];
        ty = std::log(uniform_positive());
      } while (-2.0 * ty < tx * tx);
      return u < 0.0 ? tx - z.x[1] : z.x[1] - tx;
    }
    if (z.f[i] + uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-0.5 * x * x)) return x;
  }
}

// Gamma(shape, scale) draws with the per-shape constants computed once (a workload draws
// millions of gaps with the same shape). Marsaglia & Tsang (2000) for shape >= 1; for shape < 1
// the "boost": Gamma(a) = Gamma(a + 1) * U^(1/a). Shape 1 is drawn as an exponential, so
// gamma(rate, cv = 1) and Poisson give the same stream for the same seed.
class gamma_sampler {
 public:
  gamma_sampler(double shape, double scale) : scale_(scale) {
    if (!(shape > 0.0) || !std::isfinite(shape)) {
      throw std::invalid_argument("gamma_sampler: shape must be finite and > 0");
    }
    if (!(scale > 0.0) || !std::isfinite(scale)) {
      throw std::invalid_argument("gamma_sampler: scale must be finite and > 0");
    }
    exponential_ = (shape == 1.0);
    boost_ = shape < 1.0;
    const double a = boost_ ? shape + 1.0 : shape;
    d_ = a - 1.0 / 3.0;
    c_ = 1.0 / std::sqrt(9.0 * d_);
    inv_shape_ = 1.0 / shape;
  }

  [[nodiscard]] double operator()(random_engine& rng) const noexcept {
    if (exponential_) return scale_ * rng.standard_exponential();
    double g = marsaglia_tsang(rng);
    if (boost_) g *= std::exp(-rng.standard_exponential() * inv_shape_);  // U^(1/a)
    return scale_ * g;
  }

  [[nodiscard]] double scale() const noexcept { return scale_; }

 private:
  // Standard Gamma(d + 1/3) for d + 1/3 >= 1.
  [[nodiscard]] double marsaglia_tsang(random_engine& rng) const noexcept {
    for (;;) {
      double x, v;
      do {
        x = rng.standard_normal();
        v = 1.0 + c_ * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = rng.uniform_positive();
      const double x2 = x * x;
      if (u < 1.0 - 0.0331 * x2 * x2) return d_ * v;  // cheap squeeze, accepts ~98%
      if (std::log(u) < 0.5 * x2 + d_ * (1.0 - v + std::log(v))) return d_ * v;
    }
  }

  double scale_;
  double d_ = 0.0;
  double c_ = 0.0;
  double inv_shape_ = 1.0;
  bool boost_ = false;
  bool exponential_ = false;
};

// One Gamma(shape, scale) draw; for many draws with one shape keep a gamma_sampler instead.
[[nodiscard]] inline double sample_gamma(random_engine& rng, double shape, double scale) {
  return gamma_sampler(shape, scale)(rng);
}

}  // namespace alpaserve::planner
