#include "datasets/subsets.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"

namespace vhmn::data {
namespace {

/// Positions of the images of each class: result[c] = [n_c] int64, ascending.
std::vector<torch::Tensor> positions_by_class(const Split& s, int64_t classes) {
    const auto labels = s.labels.to(torch::kInt64);
    if (labels.numel() > 0) {
        const int64_t lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
        if (lo < 0 || hi >= classes)
            throw std::out_of_range("subset: labels span [" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "], outside [0, " +
                                    std::to_string(classes) + ")");
    }
    std::vector<torch::Tensor> out;
    for (int64_t c = 0; c < classes; ++c) out.push_back((labels == c).nonzero().view({-1}));
    return out;
}

/// Keep counts[c] images of class c drawn at random (seeded), in ascending original position.
Split take_per_class(const Split& s, const std::vector<torch::Tensor>& by_class,
                     const std::vector<int64_t>& counts, uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::vector<torch::Tensor> kept;
    for (size_t c = 0; c < by_class.size(); ++c) {
        const int64_t n = by_class[c].size(0), k = std::min(counts[c], n);
        if (k <= 0) continue;
        auto perm = torch::randperm(n, gen, torch::kInt64);  // [n]
        kept.push_back(by_class[c].index_select(0, perm.slice(0, 0, k)));
    }
    auto pick = kept.empty() ? torch::empty({0}, torch::kInt64)
                             : std::get<0>(torch::cat(kept).sort());  // [K]
    Split out;
    out.images = s.images.index_select(0, pick).contiguous();
    out.labels = s.labels.index_select(0, pick);
    out.index = s.index.defined() ? s.index.index_select(0, pick) : pick;  // original positions
    return out;
}

std::string number(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

}  // namespace

Split stratified_fraction(const Split& s, double fraction, uint64_t seed, int64_t classes) {
    if (!(fraction > 0.0 && fraction <= 1.0))
        throw ConfigError("--fraction must be in (0, 1], got " + number(fraction));
    const auto by_class = positions_by_class(s, classes);
    std::vector<int64_t> counts;
    for (const auto& p : by_class) {
        const int64_t n = p.size(0);
        counts.push_back(n == 0 ? 0 : std::max<int64_t>(1, std::llround(fraction * double(n))));
    }
    return take_per_class(s, by_class, counts, seed);
}

std::vector<int64_t> long_tail_counts(int64_t n_max, double ratio, int64_t classes) {
    if (!(ratio >= 1.0)) throw ConfigError("--imbalance must be >= 1, got " + number(ratio));
    std::vector<int64_t> counts;
    for (int64_t c = 0; c < classes; ++c) {
        const double e = classes > 1 ? double(c) / double(classes - 1) : 0.0;
        // The small epsilon keeps exact results such as 5000 / 100 = 50 from flooring to 49.
        const auto n = int64_t(std::floor(double(n_max) * std::pow(ratio, -e) + 1e-9));
        counts.push_back(n_max > 0 ? std::max<int64_t>(1, n) : 0);
    }
    return counts;
}

Split long_tailed(const Split& s, double ratio, uint64_t seed, int64_t classes) {
    if (!(ratio >= 1.0)) throw ConfigError("--imbalance must be >= 1, got " + number(ratio));
    const auto by_class = positions_by_class(s, classes);
    int64_t n_max = -1;
    for (int64_t c = 0; c < classes; ++c) {
        const int64_t n = by_class[size_t(c)].size(0);
        if (n == 0)
            throw ConfigError("--imbalance needs images of every class; class " +
                              std::to_string(c) + " has none");
        n_max = n_max < 0 ? n : std::min(n_max, n);
    }
    return take_per_class(s, by_class,
                          long_tail_counts(std::max<int64_t>(n_max, 0), ratio, classes), seed);
}

ChannelStats channel_stats(const Split& s) {
    if (!s.images.defined() || s.images.size(0) == 0)
        throw std::invalid_argument("channel_stats: empty split");
    const auto& images = s.images;  // [N, C, H, W] uint8
    const int64_t channels = images.size(1);
    constexpr int64_t kChunk = 1024;
    // Exact integer sums of v and v^2 per channel (v in 0..255); int64 cannot overflow here.
    auto sum = torch::zeros({channels}, torch::kInt64),
         sum_sq = torch::zeros({channels}, torch::kInt64);
    for (int64_t i = 0; i < images.size(0); i += kChunk) {
        auto x = images.slice(0, i, i + kChunk).to(torch::kInt64);  // [B, C, H, W]
        sum += x.sum({0, 2, 3});
        sum_sq += (x * x).sum({0, 2, 3});
    }
    const double count = double(images.numel() / channels);  // pixels per channel
    ChannelStats st;
    for (int64_t c = 0; c < channels; ++c) {
        const double m = double(sum[c].item<int64_t>()) / count / 255.0;
        const double m2 = double(sum_sq[c].item<int64_t>()) / count / (255.0 * 255.0);
        st.mean.push_back(m);
        st.std.push_back(std::sqrt(std::max(0.0, m2 - m * m)));
    }
    return st;
}

}  // namespace vhmn::data
