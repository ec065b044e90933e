// The drill's random numbers: std::mt19937_64 (its output sequence is fixed by the C++ standard)
// with our own transforms to uniform and normal variates, because the std:: distributions are
// not specified bit for bit and differ between library versions. Uniform draws are exact on
// every platform; normal draws also go through libm's log, sin and cos, which glibc computes the
// same everywhere (another libm could differ in the last bit). So the same scenario and seed give
// the same scorecard, byte for byte.
// Thread-safety: an Rng is a value; use one per thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>

namespace tocsin::drill {

// SplitMix64: turns one seed and a name into independent stream seeds.
inline uint64_t mix_seed(uint64_t seed, std::string_view name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a of the name
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  uint64_t z = seed ^ h;
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // In [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal by Box–Muller (both values used, in turn).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    spare_ = r * std::sin(kTwoPi * u2);
    has_spare_ = true;
    return r * std::cos(kTwoPi * u2);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace tocsin::drill
