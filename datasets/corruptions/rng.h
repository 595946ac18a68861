#pragma once
// The generator's randomness: one small, fast, portable PRNG (xoshiro256**, seeded through
// splitmix64) per image, keyed by (seed, corruption, dataset index). So an image's
// corrupted version does not depend on batching, threads or --limit, and the Inspector shows the
// very image the probe scored.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace vhmn::data::corrupt_detail {

inline uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

class Rng {
public:
    using result_type = uint64_t;
    explicit Rng(uint64_t seed) {
        for (auto& s : s_) s = splitmix64(seed);
    }
    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return std::numeric_limits<uint64_t>::max(); }
    result_type operator()() {
        const uint64_t out = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
        s_[2] ^= s_[0], s_[3] ^= s_[1], s_[1] ^= s_[2], s_[0] ^= s_[3], s_[2] ^= t, s_[3] = rotl(s_[3], 45);
        return out;
    }
    double uniform() { return double((*this)() >> 11) * 0x1.0p-53; }  ///< [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// An integer in [lo, hi) (as NumPy's randint).
    int64_t integer(int64_t lo, int64_t hi) { return lo + int64_t((*this)() % uint64_t(hi - lo)); }
    /// Standard normal (Box-Muller, both values used).
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u = 0;
        while (u <= 0) u = uniform();
        const double r = std::sqrt(-2.0 * std::log(u)), a = 2.0 * M_PI * uniform();
        spare_ = r * std::sin(a), has_spare_ = true;
        return r * std::cos(a);
    }
    int64_t poisson(double lambda) {
        if (lambda <= 0) return 0;
        std::poisson_distribution<int64_t> d(lambda);
        return d(*this);
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
    double spare_ = 0;
    bool has_spare_ = false;
};

/// The seed of one image's corruption. The severity is not part of it: an image draws the same
/// random numbers (noise field, blur angle, frost texture…) at every severity, so its five
/// versions differ by the severity parameters alone (the reference draws them independently;
/// each cell's distribution is the same either way).
inline uint64_t image_seed(uint64_t seed, int64_t corruption, int64_t index) {
    uint64_t x = seed;
    uint64_t h = splitmix64(x);
    x = h ^ (uint64_t(corruption) * 0x100000001B3ull);
    h = splitmix64(x);
    x = h ^ uint64_t(index);
    return splitmix64(x);
}

}  // namespace vhmn::data::corrupt_detail
