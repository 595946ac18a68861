#pragma once
// The corruptions of the CIFAR-10-C generator, one function each (internal to datasets/corruptions).
// Every op takes an RGB float image in [0, 1] (cv::Mat CV_32FC3, H × W) and a severity 1..5,
// draws its randomness from `rng` and returns an image of the same size; values may leave [0, 1]
// (the caller clips, then truncates to uint8 as the reference's np.uint8 does).
//
// Parameters: hendrycks/robustness, ImageNet-C/create_c/make_cifar_c.py (facts in
// ../shared/reference/cifar10c-parameters.md). Where the reference is tied to 32 × 32 (glass blur's
// pixel loops, fog's plasma map, elastic's sizes) the image size takes the place of 32.
#include <opencv2/core.hpp>

#include "datasets/corruptions/rng.h"

namespace vhmn::data::corrupt_detail {

using Op = cv::Mat (*)(const cv::Mat& x, int severity, Rng& rng);

// noise_blur.cpp
cv::Mat gaussian_noise(const cv::Mat& x, int severity, Rng& rng);
cv::Mat shot_noise(const cv::Mat& x, int severity, Rng& rng);
cv::Mat impulse_noise(const cv::Mat& x, int severity, Rng& rng);
cv::Mat speckle_noise(const cv::Mat& x, int severity, Rng& rng);
cv::Mat defocus_blur(const cv::Mat& x, int severity, Rng& rng);
cv::Mat glass_blur(const cv::Mat& x, int severity, Rng& rng);
cv::Mat motion_blur(const cv::Mat& x, int severity, Rng& rng);
cv::Mat zoom_blur(const cv::Mat& x, int severity, Rng& rng);
cv::Mat gaussian_blur(const cv::Mat& x, int severity, Rng& rng);

// weather_digital.cpp
cv::Mat snow(const cv::Mat& x, int severity, Rng& rng);
cv::Mat frost(const cv::Mat& x, int severity, Rng& rng);  ///< procedural texture: ours
cv::Mat fog(const cv::Mat& x, int severity, Rng& rng);
cv::Mat brightness(const cv::Mat& x, int severity, Rng& rng);
cv::Mat contrast(const cv::Mat& x, int severity, Rng& rng);
cv::Mat elastic_transform(const cv::Mat& x, int severity, Rng& rng);
cv::Mat pixelate(const cv::Mat& x, int severity, Rng& rng);
cv::Mat jpeg_compression(const cv::Mat& x, int severity, Rng& rng);
cv::Mat spatter(const cv::Mat& x, int severity, Rng& rng);
cv::Mat saturate(const cv::Mat& x, int severity, Rng& rng);

// Shared helpers (noise_blur.cpp).
/// skimage.filters.gaussian / scipy.ndimage.gaussian_filter: radius int(truncate·σ + .5); σ <= 0
/// returns a copy. `border`: cv::BORDER_REPLICATE for scipy's 'nearest', cv::BORDER_REFLECT for 'reflect'.
cv::Mat gaussian(const cv::Mat& x, double sigma, int border, double truncate = 4.0);
/// The centre crop of size ⌈H/z⌉ zoomed by z with linear interpolation (scipy.ndimage.zoom,
/// order 1), centre-trimmed back to H × W.
cv::Mat clipped_zoom(const cv::Mat& x, double z);
/// A motion blur as ImageMagick's -motion-blur draws it: a one-sided Gaussian line kernel of
/// 2⌈radius⌉ + 1 taps at `angle_deg` (edge pixels repeat).
cv::Mat motion_line_blur(const cv::Mat& x, double radius, double sigma, double angle_deg);
/// Float image in [0, 1] → uint8 with np.uint8's truncation (clipped first), and back.
cv::Mat to_u8(const cv::Mat& x);
cv::Mat to_float(const cv::Mat& u8);

}  // namespace vhmn::data::corrupt_detail
