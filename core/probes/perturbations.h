#pragma once
// Input corruptions of the robustness experiments (paper Fig. 2 and Fig. 6 / A.13). They act on
// images in [0, 1] ([B, C, H, W] float, before normalisation), draw their randomness from a
// seeded CPU generator (reproducible on any device), and clamp the result to [0, 1].
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

namespace vhmn {

/// x + σ·N(0, 1) per pixel and channel.
torch::Tensor gaussian_noise(const torch::Tensor& x, double sigma, at::Generator& gen);

/// One black square of `side` px per image at a uniformly random position fully inside it.
torch::Tensor occlude_square(const torch::Tensor& x, int64_t side, at::Generator& gen);

/// One black square of `side` px with its top-left corner at (row, col) in every image, moved
/// inside the image when it would stick out (the GUI's occlusion slider).
torch::Tensor occlude_at(const torch::Tensor& x, int64_t row, int64_t col, int64_t side);

/// The side of a square covering `area` (fraction of the image): round(√(area·H·W)), ≥ 1.
int64_t occlusion_side(double area, int64_t height, int64_t width);

/// m + f·(x − m) with m the image's mean over all channels and pixels (so the mean is kept
/// wherever no pixel clips). f < 1 lowers the contrast, f > 1 raises it.
torch::Tensor scale_contrast(const torch::Tensor& x, double factor);

/// One corruption condition. kind: "clean", "noise" (severity = σ), "occlusion" (severity =
/// area fraction), "occlusion_px" (severity = side in pixels), "contrast" (severity = factor).
struct Corruption {
    std::string kind = "clean";
    double severity = 0.0;
    std::string label() const;  ///< e.g. "noise σ=0.1"
};

/// Apply a corruption (ConfigError for an unknown kind or a nonsense severity).
torch::Tensor corrupt(const torch::Tensor& x, const Corruption& c, at::Generator& gen);
void validate(const Corruption& c);

/// Fig. 2: clean; noise σ ∈ {.05, .1, .2, .3}; occlusion area ∈ {.05, .1, .2}; contrast
/// ∈ {.5, .75, 1.25, 1.5}.
std::vector<Corruption> robustness_corruptions();
/// Fig. 6: noise σ ∈ {.01, .02, .03, .05, .07, .1, .15, .2, .25, .3}; occlusion sides 4, 6, …, 20 px.
std::vector<Corruption> stability_corruptions();

}  // namespace vhmn
