#pragma once
// The model's input: images in [0, 1] normalised per channel with the dataset's mean and std. The
// trainer, the evaluation and every probe normalise through this one place.
#include <vector>

#include <torch/torch.h>

namespace vhmn {

/// (x − mean) / std per channel for float images in [0, 1], [B, C, H, W]. The constants are made
/// once, on `device` (a loop normalising every batch holds one of these).
class ImageNormalizer {
public:
    ImageNormalizer(const std::vector<double>& mean, const std::vector<double>& std, const torch::Device& device);
    torch::Tensor operator()(const torch::Tensor& images01) const;

private:
    torch::Tensor mean_, std_;  // [1, C, 1, 1] float
};

/// ImageNormalizer made for one call.
torch::Tensor normalize_images(const torch::Tensor& images01, const std::vector<double>& mean,
                               const std::vector<double>& std);

}  // namespace vhmn
