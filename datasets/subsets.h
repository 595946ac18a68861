#pragma once
// Subsets of a split (data-efficiency and long-tail experiments) and per-channel statistics.
// No Qt.
//
// Subsets keep the input split's `index` (the original position of every image on disk), so
// provenance keeps pointing at the right file image. The images of a subset are in ascending
// original position. The random choice is reproducible: it depends only on the split and `seed`.
#include <cstdint>
#include <vector>

#include "core/data.h"

namespace vhmn::data {

/// Keep round(fraction * n_c) images of every class c (at least 1 when n_c > 0), chosen at random
/// with a generator seeded by `seed`. fraction in (0, 1], else ConfigError naming --fraction.
/// Labels must lie in [0, classes) (std::out_of_range otherwise).
Split stratified_fraction(const Split& s, double fraction, uint64_t seed, int64_t classes);

/// Per-class counts of a long-tailed subset with imbalance ratio r >= 1 (paper A.10):
/// n_c = floor(n_max * r^(-c / (C - 1))), class 0 the most frequent (n_0 = n_max,
/// n_(C-1) = n_max / r), never below 1 when n_max > 0. r < 1 -> ConfigError naming --imbalance.
std::vector<int64_t> long_tail_counts(int64_t n_max, double ratio, int64_t classes);

/// A long-tailed subset of `s`: long_tail_counts(n_max, ratio, classes) images of each class,
/// chosen at random with `seed`, where n_max is the SMALLEST per-class count available in `s`
/// (so every class can supply its target; on a balanced split this is simply the per-class
/// count). ConfigError naming --imbalance when r < 1 or a class has no image.
Split long_tailed(const Split& s, double ratio, uint64_t seed, int64_t classes);

/// Per-channel mean and population standard deviation of the pixel values scaled to [0, 1],
/// over the whole split. Computed exactly from integer sums, in chunks of images (no float copy
/// of the split is made). std::invalid_argument for an empty split.
struct ChannelStats {
    std::vector<double> mean, std;
};
ChannelStats channel_stats(const Split& s);

}  // namespace vhmn::data
