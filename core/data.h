#pragma once
// Plain data types shared by core (trainer, probes) and datasets (readers, augmentation), and the
// subsets every --limit picks (core/data.cpp).
#include <string>
#include <vector>

#include <torch/torch.h>

namespace vhmn::data {

/// One split held in memory as 8-bit pixels.
struct Split {
    torch::Tensor images;  // [N, C, H, W] uint8
    torch::Tensor labels;  // [N] int64 in [0, classes)
    torch::Tensor index;   // [N] int64: index of each image in the full split as read from disk
                           //   (subsets keep it, so provenance always points at the file's image)
    int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

struct Dataset {
    std::string name;    ///< e.g. "cifar10", "fashion-mnist", "builtin-shapes"
    std::string format;  ///< reader that produced it: "cifar10-bin", "cifar100-bin", "idx",
                         ///< "svhn-mat", "image-folder", "builtin"
    std::string path;    ///< where it was read from ("builtin" for the built-in set)
    std::vector<std::string> class_names;
    Split train, test;

    int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
    int64_t channels() const { return train.images.size(1); }
    int64_t image_size() const { return train.images.size(2); }
};

/// A training batch after augmentation (see datasets/augment/augment.h).
struct AugmentedBatch {
    torch::Tensor images;         // [B, C, H, W] float in [0, 1], on the training device
    torch::Tensor targets;        // [B, classes] float soft targets (mixing, label smoothing)
    torch::Tensor write_labels;   // [B] int64: class written to the banks (dominant label)
    torch::Tensor write_indices;  // [B] int64: dataset index written as provenance (dominant image)
    torch::Tensor accuracy_labels;  // [B] int64: label used for training accuracy (dominant)
};

}  // namespace vhmn::data

namespace vhmn {

/// `n` images evenly spaced over a split (all of it when n <= 0 or n >= its size): image-folder
/// splits are sorted by class, so the first n images would be a few classes.
data::Split evenly_spaced(const data::Split& split, int64_t n);
/// Their positions, exactly: i·total/n in integers for i < n (int64 [n] on `device`); every --limit
/// (probes, eval, export-c, a released folder's images) picks these.
torch::Tensor evenly_spaced_positions(int64_t total, int64_t n, torch::Device device = torch::kCPU);
/// The first n images of a split, in order (all of it when n <= 0 or n >= its size).
data::Split first_images(const data::Split& split, int64_t n);

}  // namespace vhmn
