// Noise and blur corruptions of the CIFAR-10-C generator (ops.h), plus the shared helpers.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "datasets/corruptions/ops.h"

namespace vhmn::data::corrupt_detail {

namespace {

template <typename Fn>
cv::Mat per_value(const cv::Mat& x, Fn&& fn) {
    cv::Mat out = x.clone();
    auto* p = out.ptr<float>();
    const size_t n = out.total() * size_t(out.channels());
    for (size_t i = 0; i < n; ++i) p[i] = fn(p[i]);
    return out;
}

}  // namespace

cv::Mat to_u8(const cv::Mat& x) {
    cv::Mat out(x.rows, x.cols, CV_MAKETYPE(CV_8U, x.channels()));
    const auto* p = x.ptr<float>();
    auto* q = out.ptr<uint8_t>();
    const size_t n = x.total() * size_t(x.channels());
    // + 1e-4: a value that is exactly k/255 in real arithmetic must not truncate to k − 1 in float.
    for (size_t i = 0; i < n; ++i) q[i] = uint8_t(std::floor(std::clamp(p[i], 0.0f, 1.0f) * 255.0f + 1e-4f));
    return out;
}

cv::Mat to_float(const cv::Mat& u8) {
    cv::Mat out;
    u8.convertTo(out, CV_32F, 1.0 / 255.0);
    return out;
}

cv::Mat gaussian(const cv::Mat& x, double sigma, int border, double truncate) {
    if (sigma <= 0) return x.clone();
    const int r = int(truncate * sigma + 0.5), k = 2 * r + 1;
    cv::Mat out;
    cv::GaussianBlur(x, out, cv::Size(k, k), sigma, sigma, border);
    return out;
}

// ---- noise ----------------------------------------------------------------------------------------
cv::Mat gaussian_noise(const cv::Mat& x, int s, Rng& rng) {
    static constexpr std::array<double, 5> c{.04, .06, .08, .09, .10};
    const double sigma = c[size_t(s - 1)];
    return per_value(x, [&](float v) { return float(v + sigma * rng.normal()); });
}

cv::Mat shot_noise(const cv::Mat& x, int s, Rng& rng) {
    static constexpr std::array<double, 5> c{500, 250, 100, 75, 50};
    const double photons = c[size_t(s - 1)];
    return per_value(x, [&](float v) { return float(double(rng.poisson(double(v) * photons)) / photons); });
}

cv::Mat impulse_noise(const cv::Mat& x, int s, Rng& rng) {
    // skimage's 's&p': each value is replaced with probability `amount`, by 1 or 0 with equal odds.
    static constexpr std::array<double, 5> c{.01, .02, .03, .05, .07};
    const double amount = c[size_t(s - 1)];
    return per_value(x, [&](float v) {
        if (rng.uniform() >= amount) return v;
        return rng.uniform() < 0.5 ? 1.0f : 0.0f;
    });
}

cv::Mat speckle_noise(const cv::Mat& x, int s, Rng& rng) {
    static constexpr std::array<double, 5> c{.06, .1, .12, .16, .2};
    const double sigma = c[size_t(s - 1)];
    return per_value(x, [&](float v) { return float(v + v * sigma * rng.normal()); });
}

// ---- blur -----------------------------------------------------------------------------------------
cv::Mat gaussian_blur(const cv::Mat& x, int s, Rng&) {
    static constexpr std::array<double, 5> c{.4, .6, .7, .8, 1};
    return gaussian(x, c[size_t(s - 1)], cv::BORDER_REPLICATE);
}

cv::Mat defocus_blur(const cv::Mat& x, int s, Rng&) {
    static constexpr std::array<std::array<double, 2>, 5> c{{{.3, .4}, {.4, .5}, {.5, .6}, {1, .2}, {1.5, .1}}};
    const double radius = c[size_t(s - 1)][0], alias = c[size_t(s - 1)][1];
    // An aliased disk on a 17 × 17 grid (radius <= 8), normalised, then anti-aliased by a 3 × 3 Gaussian.
    const int half = 8;
    cv::Mat disk(2 * half + 1, 2 * half + 1, CV_32F);
    for (int i = -half; i <= half; ++i)
        for (int j = -half; j <= half; ++j) disk.at<float>(i + half, j + half) = (i * i + j * j <= radius * radius) ? 1.f : 0.f;
    disk /= cv::sum(disk)[0];
    cv::Mat kernel, out;
    cv::GaussianBlur(disk, kernel, cv::Size(3, 3), alias);
    cv::filter2D(x, out, -1, kernel);
    return out;
}

cv::Mat glass_blur(const cv::Mat& x, int s, Rng& rng) {
    // (σ, max delta, iterations): blur, move pixels locally (up to δ), blur again.
    static constexpr std::array<std::array<double, 3>, 5> c{{{.05, 1, 1}, {.25, 1, 1}, {.4, 1, 1}, {.25, 1, 2}, {.4, 1, 2}}};
    const double sigma = c[size_t(s - 1)][0];
    const int delta = int(c[size_t(s - 1)][1]), iterations = int(c[size_t(s - 1)][2]);
    cv::Mat u8 = to_u8(gaussian(x, sigma, cv::BORDER_REPLICATE));
    const int h = u8.rows, w = u8.cols;
    for (int it = 0; it < iterations; ++it)
        for (int r = h - delta; r > delta; --r)
            for (int col = w - delta; col > delta; --col) {
                // NumPy's randint(−δ, δ) excludes δ: offsets in [−δ, δ).
                const int dx = int(rng.integer(-delta, delta)), dy = int(rng.integer(-delta, delta));
                const int r2 = std::clamp(r + dy, 0, h - 1), c2 = std::clamp(col + dx, 0, w - 1);
                // The reference "swaps" with `x[h, w], x[h', w'] = x[h', w'], x[h, w]` on NumPy row
                // views: the first assignment overwrites what the second reads, so the pixel is
                // copied, not swapped. We do what the released files were made with.
                u8.at<cv::Vec3b>(std::min(r, h - 1), std::min(col, w - 1)) = u8.at<cv::Vec3b>(r2, c2);
            }
    return gaussian(to_float(u8), sigma, cv::BORDER_REPLICATE);
}

cv::Mat motion_line_blur(const cv::Mat& x, double radius, double sigma, double angle_deg) {
    const int width = int(2.0 * std::ceil(radius) + 1.0);
    std::vector<double> k(static_cast<size_t>(width));
    double norm = 0;
    for (int i = 0; i < width; ++i) norm += k[size_t(i)] = std::exp(-double(i * i) / (2.0 * sigma * sigma));
    const double a = angle_deg * M_PI / 180.0;
    std::vector<int> ox(static_cast<size_t>(width)), oy(static_cast<size_t>(width));
    for (int i = 0; i < width; ++i) {
        ox[size_t(i)] = int(std::ceil(i * std::cos(a) - 0.5));
        oy[size_t(i)] = int(std::ceil(i * std::sin(a) - 0.5));
    }
    const int h = x.rows, w = x.cols, ch = x.channels();
    cv::Mat out(h, w, x.type());
    for (int r = 0; r < h; ++r)
        for (int c = 0; c < w; ++c) {
            float* o = out.ptr<float>(r) + c * ch;
            for (int d = 0; d < ch; ++d) o[d] = 0;
            for (int i = 0; i < width; ++i) {
                const int rr = std::clamp(r + oy[size_t(i)], 0, h - 1), cc = std::clamp(c + ox[size_t(i)], 0, w - 1);
                const float* p = x.ptr<float>(rr) + cc * ch;
                const float wgt = float(k[size_t(i)] / norm);
                for (int d = 0; d < ch; ++d) o[d] += wgt * p[d];
            }
        }
    return out;
}

cv::Mat motion_blur(const cv::Mat& x, int s, Rng& rng) {
    static constexpr std::array<std::array<double, 2>, 5> c{{{6, 1}, {6, 1.5}, {6, 2}, {8, 2}, {9, 2.5}}};
    const double angle = rng.uniform(-45, 45);
    // ImageMagick hands back 8-bit pixels: rounded, as the reference's PNG round trip does.
    cv::Mat blurred = motion_line_blur(x, c[size_t(s - 1)][0], c[size_t(s - 1)][1], angle), u8;
    blurred.convertTo(u8, CV_8U, 255.0);
    return to_float(u8);
}

cv::Mat clipped_zoom(const cv::Mat& x, double z) {
    const int h = x.rows, ch = int(std::ceil(double(h) / z)), top = (h - ch) / 2;
    const int m = int(std::nearbyint(double(ch) * z));  // scipy: round(size · zoom)
    const int trim = (m - h) / 2;
    // Linear interpolation on the crop, corner pixels aligned (scipy.ndimage.zoom, grid_mode False).
    std::vector<int> i0(static_cast<size_t>(h)), i1(static_cast<size_t>(h));
    std::vector<float> f(static_cast<size_t>(h));
    for (int o = 0; o < h; ++o) {
        const double src = m > 1 ? double(o + trim) * double(ch - 1) / double(m - 1) : 0.0;
        const int lo = std::min(int(std::floor(src)), ch - 1);
        i0[size_t(o)] = top + lo, i1[size_t(o)] = top + std::min(lo + 1, ch - 1), f[size_t(o)] = float(src - lo);
    }
    const int chn = x.channels();
    cv::Mat out(h, x.cols, x.type());
    for (int r = 0; r < h; ++r) {
        const float fr = f[size_t(r)];
        const float* a = x.ptr<float>(i0[size_t(r)]);
        const float* b = x.ptr<float>(i1[size_t(r)]);
        float* o = out.ptr<float>(r);
        for (int c = 0; c < x.cols && c < h; ++c) {
            const float fc = f[size_t(c)];
            const int c0 = i0[size_t(c)] * chn, c1 = i1[size_t(c)] * chn;
            for (int d = 0; d < chn; ++d) {
                const float top_v = a[c0 + d] * (1 - fc) + a[c1 + d] * fc, bot_v = b[c0 + d] * (1 - fc) + b[c1 + d] * fc;
                o[c * chn + d] = top_v * (1 - fr) + bot_v * fr;
            }
        }
    }
    return out;
}

cv::Mat zoom_blur(const cv::Mat& x, int s, Rng&) {
    // np.arange(1, stop, 0.01) with stop 1.06 / 1.11 / 1.16 / 1.21 / 1.26: NumPy counts
    // ⌈(stop − 1)/0.01⌉ in floating point, so the reference averages 7, 12, 16, 21 and 26 zooms
    // (1.00 … 1.06, 1.11, 1.15, 1.20, 1.25) with the image itself.
    static constexpr std::array<double, 5> stop{1.06, 1.11, 1.16, 1.21, 1.26};
    const int n = int(std::ceil((stop[size_t(s - 1)] - 1.0) / 0.01));
    cv::Mat sum = x.clone();
    for (int i = 0; i < n; ++i) sum += clipped_zoom(x, 1.0 + double(i) * 0.01);
    return sum / double(n + 1);
}

}  // namespace vhmn::data::corrupt_detail
