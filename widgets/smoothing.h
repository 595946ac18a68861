#pragma once
// Curve smoothing as TensorBoard does it: a debiased exponential moving average. Plain vectors.
#include <vector>

namespace vhmn::widgets {

/// s_t = w·s_{t−1} + (1 − w)·x_t with s_0 = 0, reported as s_t / (1 − w^t) (t counts the finite
/// values so far), so the first point equals the first value instead of being pulled towards 0.
/// Non-finite values are passed through unchanged and do not enter the average. w is clamped to
/// [0, 1); w = 0 returns the input.
std::vector<double> smooth_ema(const std::vector<double>& values, double weight);

}  // namespace vhmn::widgets
