#include "core/models/normalize.h"

#include <string>

#include "core/error.h"
#include "core/runtime.h"

namespace vhmn {
namespace {

torch::Tensor per_channel(const std::vector<double>& v, const torch::Device& device) {
    std::vector<float> f(v.begin(), v.end());
    return to_device(torch::tensor(f).view({1, -1, 1, 1}), device);  // no sync on a GPU
}

}  // namespace

ImageNormalizer::ImageNormalizer(const std::vector<double>& mean, const std::vector<double>& std,
                                 const torch::Device& device)
    : mean_(per_channel(mean, device)), std_(per_channel(std, device)) {
    if (mean.size() != std.size())
        throw ConfigError("normalisation has " + std::to_string(mean.size()) + " means but " +
                          std::to_string(std.size()) + " standard deviations");
}

torch::Tensor ImageNormalizer::operator()(const torch::Tensor& images01) const {
    if (mean_.size(1) != images01.size(1))
        throw ConfigError("normalisation has " + std::to_string(mean_.size(1)) + " channels, images have " +
                          std::to_string(images01.size(1)));
    return (images01 - mean_.to(images01.scalar_type())) / std_.to(images01.scalar_type());
}

torch::Tensor normalize_images(const torch::Tensor& images01, const std::vector<double>& mean,
                               const std::vector<double>& std) {
    return ImageNormalizer(mean, std, images01.device())(images01);
}

}  // namespace vhmn
