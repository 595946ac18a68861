#include "core/data.h"

namespace vhmn {

torch::Tensor evenly_spaced_positions(int64_t total, int64_t n, torch::Device device) {
    // Integer arithmetic: floor(i · (total / n)) in doubles is one short for some (total, n),
    // e.g. 10,000 images and n = 76.
    return (torch::arange(n, torch::kLong) * total).div(n, "floor").to(device);
}

data::Split evenly_spaced(const data::Split& split, int64_t n) {
    const int64_t total = split.size();
    if (n <= 0 || n >= total) return split;
    // The index lives where the split does (the trainer keeps a GPU run's splits on the GPU).
    const auto pick = evenly_spaced_positions(total, n, split.images.device());
    data::Split out;
    out.images = split.images.index_select(0, pick);
    out.labels = split.labels.index_select(0, pick);
    out.index = split.index.index_select(0, pick);
    return out;
}

data::Split first_images(const data::Split& split, int64_t n) {
    if (n <= 0 || n >= split.size()) return split;
    return {split.images.slice(0, 0, n), split.labels.slice(0, 0, n),
            split.index.defined() ? split.index.slice(0, 0, n) : torch::Tensor()};
}

}  // namespace vhmn
