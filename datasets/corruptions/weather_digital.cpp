// Weather, digital and the two colour/spatter extras of the CIFAR-10-C generator (ops.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "datasets/corruptions/ops.h"

namespace vhmn::data::corrupt_detail {

namespace {

cv::Mat clip01(const cv::Mat& x) {
    cv::Mat out;
    cv::min(cv::max(x, 0.0), 1.0, out);
    return out;
}

/// Luma as OpenCV's RGB2GRAY: .299 R + .587 G + .114 B.
cv::Mat gray_of(const cv::Mat& rgb) {
    cv::Mat g;
    cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
    return g;
}

/// skimage's rgb2hsv / hsv2rgb on one pixel (h in [0, 1)).
void rgb2hsv(const float* p, double& h, double& s, double& v) {
    const double r = p[0], g = p[1], b = p[2];
    v = std::max({r, g, b});
    const double delta = v - std::min({r, g, b});
    s = v > 0 ? delta / v : 0.0;
    if (delta <= 0) {
        h = 0;
        return;
    }
    if (v == r) h = (g - b) / delta;
    else if (v == g) h = 2.0 + (b - r) / delta;
    else h = 4.0 + (r - g) / delta;
    h = std::fmod(h / 6.0 + 1.0, 1.0);
}

void hsv2rgb(double h, double s, double v, float* p) {
    const double hi6 = std::floor(h * 6.0), f = h * 6.0 - hi6;
    const double pp = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
    double r = v, g = t, b = pp;
    switch (int(hi6) % 6) {
        case 0: r = v, g = t, b = pp; break;
        case 1: r = q, g = v, b = pp; break;
        case 2: r = pp, g = v, b = t; break;
        case 3: r = pp, g = q, b = v; break;
        case 4: r = t, g = pp, b = v; break;
        default: r = v, g = pp, b = q; break;
    }
    p[0] = float(r), p[1] = float(g), p[2] = float(b);
}

/// The diamond-square height map of the reference's fog (wrapping, side a power of two), in [0, 1].
cv::Mat plasma_fractal(int mapsize, double decay, Rng& rng) {
    std::vector<double> m(size_t(mapsize * mapsize), 0.0);
    auto at = [&](int r, int c) -> double& {
        r = ((r % mapsize) + mapsize) % mapsize, c = ((c % mapsize) + mapsize) % mapsize;
        return m[size_t(r * mapsize + c)];
    };
    double wibble = 100;
    for (int step = mapsize; step >= 2; step /= 2, wibble /= decay) {
        const int half = step / 2;
        auto wibbled = [&](double sum4) { return sum4 / 4.0 + wibble * rng.uniform(-wibble, wibble); };
        // Squares: each centre gets the mean of its four corners.
        for (int r = 0; r < mapsize; r += step)
            for (int c = 0; c < mapsize; c += step)
                at(r + half, c + half) = wibbled(at(r, c) + at(r + step, c) + at(r, c + step) + at(r + step, c + step));
        // Diamonds: each edge midpoint gets the mean of its two corners and two centres.
        for (int r = 0; r < mapsize; r += step)
            for (int c = 0; c < mapsize; c += step) {
                at(r, c + half) = wibbled(at(r + half, c + half) + at(r - half, c + half) + at(r, c) + at(r, c + step));
                at(r + half, c) = wibbled(at(r + half, c + half) + at(r + half, c - half) + at(r, c) + at(r + step, c));
            }
    }
    const auto [lo, hi] = std::minmax_element(m.begin(), m.end());
    const double min = *lo, range = *hi - *lo;
    cv::Mat out(mapsize, mapsize, CV_32F);
    for (int i = 0; i < mapsize * mapsize; ++i) out.ptr<float>()[i] = float(range > 0 ? (m[size_t(i)] - min) / range : 0.0);
    return out;
}

/// PIL's BOX resampling along one axis of a uint8 image: each output pixel averages the input
/// pixels whose centres fall in its box (for upscaling: the nearest one), rounded to uint8.
cv::Mat box_resample(const cv::Mat& u8, int out_size, bool horizontal) {
    const int in_size = horizontal ? u8.cols : u8.rows, chn = u8.channels();
    const double scale = double(in_size) / double(out_size), fs = std::max(scale, 1.0), support = 0.5 * fs;
    cv::Mat out = horizontal ? cv::Mat(u8.rows, out_size, u8.type()) : cv::Mat(out_size, u8.cols, u8.type());
    for (int o = 0; o < out_size; ++o) {
        const double centre = (o + 0.5) * scale;
        const int lo = std::max(int(centre - support + 0.5), 0), hi = std::min(int(centre + support + 0.5), in_size);
        std::vector<int> taken;
        for (int j = lo; j < hi; ++j) {
            const double t = (j - centre + 0.5) / fs;
            if (t > -0.5 && t <= 0.5) taken.push_back(j);
        }
        const int lines = horizontal ? u8.rows : u8.cols;
        for (int l = 0; l < lines; ++l)
            for (int d = 0; d < chn; ++d) {
                double sum = 0;
                for (int j : taken) sum += horizontal ? u8.ptr<uint8_t>(l)[j * chn + d] : u8.ptr<uint8_t>(j)[l * chn + d];
                const auto v = uint8_t(std::clamp(std::floor(sum / double(taken.size()) + 0.5), 0.0, 255.0));
                (horizontal ? out.ptr<uint8_t>(l)[o * chn + d] : out.ptr<uint8_t>(o)[l * chn + d]) = v;
            }
    }
    return out;
}

cv::Mat box_resize(const cv::Mat& u8, int w, int h) { return box_resample(box_resample(u8, w, true), h, false); }

}  // namespace

// ---- weather --------------------------------------------------------------------------------------
cv::Mat snow(const cv::Mat& x, int s, Rng& rng) {
    // (mean, sd, zoom, threshold, blur radius, blur sigma, image weight)
    static constexpr std::array<std::array<double, 7>, 5> c{{{.1, .2, 1, .6, 8, 3, .95},
                                                             {.1, .2, 1, .5, 10, 4, .9},
                                                             {.15, .3, 1.75, .55, 10, 4, .9},
                                                             {.25, .3, 2.25, .6, 12, 6, .85},
                                                             {.3, .3, 1.25, .65, 14, 12, .8}}};
    const auto& p = c[size_t(s - 1)];
    const int h = x.rows, w = x.cols;
    cv::Mat layer(h, w, CV_32F);
    for (int i = 0; i < h * w; ++i) layer.ptr<float>()[i] = float(p[0] + p[1] * rng.normal());
    layer = clipped_zoom(layer, p[2]);
    for (int i = 0; i < h * w; ++i) {
        float& v = layer.ptr<float>()[i];
        if (v < p[3]) v = 0;
    }
    // To 8 bits, motion-blurred at an angle in [−135°, −45°], back to [0, 1] (as the reference's
    // round trip through a PNG and ImageMagick).
    layer = to_float(to_u8(layer));
    cv::Mat blurred = motion_line_blur(layer, p[4], p[5], rng.uniform(-135, -45)), u8;
    blurred.convertTo(u8, CV_8U, 255.0);
    layer = to_float(u8);
    cv::Mat flipped;
    cv::flip(layer, flipped, -1);  // rot90 twice
    cv::Mat g = gray_of(x) * 1.5 + 0.5, lifted(x.size(), x.type());
    for (int r = 0; r < h; ++r)
        for (int col = 0; col < w; ++col) {
            const float* a = x.ptr<float>(r) + col * 3;
            float* o = lifted.ptr<float>(r) + col * 3;
            const float gv = g.at<float>(r, col), add = layer.at<float>(r, col) + flipped.at<float>(r, col);
            for (int d = 0; d < 3; ++d) o[d] = float(p[6] * a[d] + (1 - p[6]) * std::max(a[d], gv)) + add;
        }
    return lifted;
}

cv::Mat frost(const cv::Mat& x, int s, Rng& rng) {
    // (image weight, frost weight) as the reference. Its texture is a crop of one of six frost
    // photographs we cannot ship; ours is drawn: branching ice needles over a pale haze, on a 4×
    // canvas brought down by area averaging. Results with it are "ours", never CIFAR-10-C.
    static constexpr std::array<std::array<double, 2>, 5> c{{{1, .2}, {1, .3}, {.9, .4}, {.85, .4}, {.75, .45}}};
    const int h = x.rows, w = x.cols, up = 4, H = h * up, W = w * up;
    cv::Mat canvas(H, W, CV_32F, cv::Scalar(0));
    const int crystals = 5 + int(rng.integer(0, 4));
    for (int k = 0; k < crystals; ++k) {
        const cv::Point2d seed(rng.uniform(0, W), rng.uniform(0, H));
        const int arms = 4 + int(rng.integer(0, 3));
        for (int a = 0; a < arms; ++a) {
            double angle = rng.uniform(0, 2 * M_PI), len = rng.uniform(0.25, 0.6) * W;
            cv::Point2d p = seed;
            for (int seg = 0; seg < 6; ++seg) {
                angle += rng.uniform(-0.35, 0.35);
                const cv::Point2d q = p + cv::Point2d(std::cos(angle), std::sin(angle)) * (len / 6);
                const double bright = rng.uniform(0.55, 1.0);
                cv::line(canvas, p, q, cv::Scalar(bright), 1, cv::LINE_AA);
                if (rng.uniform() < 0.6) {  // a side needle at about ±60°
                    const double side = angle + (rng.uniform() < 0.5 ? 1 : -1) * rng.uniform(0.8, 1.3);
                    cv::line(canvas, q, q + cv::Point2d(std::cos(side), std::sin(side)) * rng.uniform(0.1, 0.3) * len,
                             cv::Scalar(0.8 * bright), 1, cv::LINE_AA);
                }
                p = q;
            }
        }
    }
    cv::Mat haze(std::max(2, h / 8), std::max(2, w / 8), CV_32F);
    for (int i = 0; i < haze.rows * haze.cols; ++i) haze.ptr<float>()[i] = float(rng.uniform(0.25, 0.55));
    cv::resize(haze, haze, cv::Size(W, H), 0, 0, cv::INTER_CUBIC);
    canvas = gaussian(canvas, 1.0, cv::BORDER_REFLECT) * 1.6 + haze;
    cv::Mat small, tex(h, w, CV_32FC3);
    cv::resize(canvas, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    for (int r = 0; r < h; ++r)
        for (int col = 0; col < w; ++col) {
            const float v = std::min(small.at<float>(r, col), 1.0f);
            tex.at<cv::Vec3f>(r, col) = cv::Vec3f(0.82f * v, 0.91f * v, 1.0f * v);  // icy blue-white (RGB)
        }
    return x * c[size_t(s - 1)][0] + tex * c[size_t(s - 1)][1];
}

cv::Mat fog(const cv::Mat& x, int s, Rng& rng) {
    static constexpr std::array<std::array<double, 2>, 5> c{{{.2, 3}, {.5, 3}, {.75, 2.5}, {1, 2}, {1.5, 1.75}}};
    const double strength = c[size_t(s - 1)][0];
    int mapsize = 1;
    while (mapsize < std::max(x.rows, x.cols)) mapsize *= 2;
    mapsize = std::max(mapsize, 32);  // the reference's map is 32 × 32
    const cv::Mat plasma = plasma_fractal(mapsize, c[size_t(s - 1)][1], rng)(cv::Rect(0, 0, x.cols, x.rows));
    double max_val = 0;
    cv::minMaxLoc(x.reshape(1), nullptr, &max_val);
    cv::Mat out(x.size(), x.type());
    for (int r = 0; r < x.rows; ++r)
        for (int col = 0; col < x.cols; ++col) {
            const float add = float(strength * plasma.at<float>(r, col));
            for (int d = 0; d < 3; ++d)
                out.at<cv::Vec3f>(r, col)[d] = float((x.at<cv::Vec3f>(r, col)[d] + add) * max_val / (max_val + strength));
        }
    return out;
}

cv::Mat brightness(const cv::Mat& x, int s, Rng&) {
    // V of HSV raised by c (clipped to 1), hue and saturation kept: every channel scales by V'/V.
    static constexpr std::array<double, 5> c{.05, .1, .15, .2, .3};
    cv::Mat out = x.clone();
    for (int i = 0; i < int(x.total()); ++i) {
        float* p = out.ptr<float>() + 3 * i;
        double h, sat, v;
        rgb2hsv(p, h, sat, v);
        hsv2rgb(h, sat, std::min(1.0, v + c[size_t(s - 1)]), p);
    }
    return out;
}

cv::Mat saturate(const cv::Mat& x, int s, Rng&) {
    static constexpr std::array<std::array<double, 2>, 5> c{{{.3, 0}, {.1, 0}, {1.5, 0}, {2, .1}, {2.5, .2}}};
    cv::Mat out = x.clone();
    for (int i = 0; i < int(x.total()); ++i) {
        float* p = out.ptr<float>() + 3 * i;
        double h, sat, v;
        rgb2hsv(p, h, sat, v);
        hsv2rgb(h, std::clamp(sat * c[size_t(s - 1)][0] + c[size_t(s - 1)][1], 0.0, 1.0), v, p);
    }
    return out;
}

// ---- digital --------------------------------------------------------------------------------------
cv::Mat contrast(const cv::Mat& x, int s, Rng&) {
    // Around each channel's mean over the image.
    static constexpr std::array<double, 5> c{.75, .5, .4, .3, .15};
    const cv::Scalar mean = cv::mean(x);
    cv::Mat out = x.clone();
    for (int i = 0; i < int(x.total()); ++i)
        for (int d = 0; d < 3; ++d) {
            float& v = out.ptr<float>()[3 * i + d];
            v = float((v - mean[d]) * c[size_t(s - 1)] + mean[d]);
        }
    return out;
}

cv::Mat elastic_transform(const cv::Mat& x, int s, Rng& rng) {
    // (α, σ, affine) as fractions of the image size: a random affine warp of three points, then
    // a smooth random displacement field α · G_σ * U(−1, 1).
    static constexpr std::array<std::array<double, 3>, 5> c{
        {{0, 0, .08}, {.05, .2, .07}, {.08, .06, .06}, {.1, .04, .05}, {.1, .03, .03}}};
    const int h = x.rows, w = x.cols;
    const double size = double(std::min(h, w));
    const double alpha = c[size_t(s - 1)][0] * size, sigma = c[size_t(s - 1)][1] * size, affine = c[size_t(s - 1)][2] * size;
    const float cx = float(w / 2), cy = float(h / 2), sq = float(std::min(h, w) / 3);
    const cv::Point2f from[3] = {{cx + sq, cy + sq}, {cx + sq, cy - sq}, {cx - sq, cy - sq}};
    cv::Point2f to[3];
    for (int i = 0; i < 3; ++i)
        to[i] = from[i] + cv::Point2f(float(rng.uniform(-affine, affine)), float(rng.uniform(-affine, affine)));
    cv::Mat warped;
    cv::warpAffine(x, warped, cv::getAffineTransform(from, to), x.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
    cv::Mat dx(h, w, CV_32F), dy(h, w, CV_32F);
    for (int i = 0; i < h * w; ++i) dx.ptr<float>()[i] = float(rng.uniform(-1, 1));
    for (int i = 0; i < h * w; ++i) dy.ptr<float>()[i] = float(rng.uniform(-1, 1));
    dx = gaussian(dx, sigma, cv::BORDER_REFLECT, 3.0) * alpha;
    dy = gaussian(dy, sigma, cv::BORDER_REFLECT, 3.0) * alpha;
    cv::Mat mx(h, w, CV_32F), my(h, w, CV_32F), out;
    for (int r = 0; r < h; ++r)
        for (int col = 0; col < w; ++col) mx.at<float>(r, col) = float(col) + dx.at<float>(r, col), my.at<float>(r, col) = float(r) + dy.at<float>(r, col);
    cv::remap(warped, out, mx, my, cv::INTER_LINEAR, cv::BORDER_REFLECT);
    return out;
}

cv::Mat pixelate(const cv::Mat& x, int s, Rng&) {
    // PIL: resize to int(size · c) with BOX, and back with BOX (the nearest pixel when enlarging).
    static constexpr std::array<double, 5> c{.95, .9, .85, .75, .65};
    const cv::Mat u8 = to_u8(x);
    const int w = int(double(x.cols) * c[size_t(s - 1)]), h = int(double(x.rows) * c[size_t(s - 1)]);
    return to_float(box_resize(box_resize(u8, w, h), x.cols, x.rows));
}

cv::Mat jpeg_compression(const cv::Mat& x, int s, Rng&) {
    static constexpr std::array<int, 5> quality{80, 65, 58, 50, 40};
    cv::Mat bgr;
    cv::cvtColor(to_u8(x), bgr, cv::COLOR_RGB2BGR);
    std::vector<uint8_t> bytes;
    cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, quality[size_t(s - 1)]});
    cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_COLOR), rgb;
    cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
    return to_float(rgb);
}

// ---- spatter (extra) ------------------------------------------------------------------------------
cv::Mat spatter(const cv::Mat& x, int s, Rng& rng) {
    // (mean, sd, blur σ, threshold, intensity or mud σ, mode: 0 water, 1 mud)
    static constexpr std::array<std::array<double, 6>, 5> c{{{.62, .1, .7, .7, .5, 0},
                                                             {.65, .1, .8, .7, .5, 0},
                                                             {.65, .3, 1, .69, .5, 0},
                                                             {.65, .1, .7, .69, .6, 1},
                                                             {.65, .1, .5, .68, .6, 1}}};
    const auto& p = c[size_t(s - 1)];
    const int h = x.rows, w = x.cols;
    cv::Mat liquid(h, w, CV_32F);
    for (int i = 0; i < h * w; ++i) liquid.ptr<float>()[i] = float(p[0] + p[1] * rng.normal());
    liquid = gaussian(liquid, p[2], cv::BORDER_REPLICATE);
    for (int i = 0; i < h * w; ++i) {
        float& v = liquid.ptr<float>()[i];
        if (v < p[3]) v = 0;
    }
    cv::Mat out = x.clone();
    if (p[5] == 0) {  // water: pale turquoise drops with lit edges
        cv::Mat l8, edges, dist, d8;
        liquid.convertTo(l8, CV_8U, 255.0);
        cv::Canny(l8, edges, 50, 150);
        cv::distanceTransform(255 - edges, dist, cv::DIST_L2, 5);
        cv::threshold(dist, dist, 20, 20, cv::THRESH_TRUNC);
        cv::blur(dist, dist, cv::Size(3, 3));
        dist.convertTo(d8, CV_8U);
        cv::equalizeHist(d8, d8);
        const cv::Mat ker = (cv::Mat_<float>(3, 3) << -2, -1, 0, -1, 1, 1, 0, 1, 2);
        cv::filter2D(d8, d8, CV_8U, ker);
        cv::blur(d8, d8, cv::Size(3, 3));
        d8.convertTo(dist, CV_32F);
        cv::Mat m = liquid.mul(dist);
        double max = 0;
        cv::minMaxLoc(m, nullptr, &max);
        if (max > 0) m *= p[4] / max;
        const float colour[3] = {175.f / 255, 238.f / 255, 238.f / 255};
        for (int i = 0; i < h * w; ++i)
            for (int d = 0; d < 3; ++d) out.ptr<float>()[3 * i + d] += m.ptr<float>()[i] * colour[d];
        return out;
    }
    // mud: brown blots where the smoothed mask is dense
    cv::Mat mask(h, w, CV_32F);
    for (int i = 0; i < h * w; ++i) mask.ptr<float>()[i] = liquid.ptr<float>()[i] > p[3] ? 1.f : 0.f;
    mask = gaussian(mask, p[4], cv::BORDER_REPLICATE);
    const float colour[3] = {63.f / 255, 42.f / 255, 20.f / 255};
    for (int i = 0; i < h * w; ++i) {
        float m = mask.ptr<float>()[i];
        if (m < 0.8f) m = 0;
        for (int d = 0; d < 3; ++d) {
            float& v = out.ptr<float>()[3 * i + d];
            v = v * (1 - m) + colour[d] * m;
        }
    }
    return out;
}

}  // namespace vhmn::data::corrupt_detail
