#pragma once
// In-memory image-classification datasets. No Qt.
#include <string>
#include <vector>

#include <torch/torch.h>

namespace vhmn::data {

/// One split held in memory as 8-bit pixels.
struct Split {
    torch::Tensor images;  // [N, C, H, W] uint8
    torch::Tensor labels;  // [N] int64 in [0, classes)
    int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

struct Dataset {
    std::string name;    ///< e.g. "cifar10", "builtin-shapes"
    std::string format;  ///< reader that produced it: "cifar10-bin", "idx", "image-folder", …
    std::string path;    ///< where it was read from ("" for the built-in set)
    std::vector<std::string> class_names;
    Split train, test;

    int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
    int64_t channels() const { return train.images.size(1); }
    int64_t image_size() const { return train.images.size(2); }
};

/// Options of the built-in procedural dataset (shapes and textures drawn in memory).
struct ProceduralOptions {
    int64_t train_per_class = 500;
    int64_t test_per_class = 100;
    int64_t image_size = 32;
    int64_t channels = 3;
    uint64_t seed = 0;
};

/// Ten classes of procedurally drawn patterns with random colour, position, scale and noise, so a
/// first run works with no data on disk. Deterministic for a given seed.
Dataset make_procedural(const ProceduralOptions& opt = {});

}  // namespace vhmn::data
