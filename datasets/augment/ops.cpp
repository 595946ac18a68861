// Batched pixel and geometric ops, AutoAugment and RandAugment (see augment.h).
#include "datasets/augment/augment.h"

#include <cmath>
#include <vector>

#include "core/runtime.h"

namespace vhmn::data {
namespace {

namespace F = torch::nn::functional;

void check_batch(const torch::Tensor& x, const char* what) {
    TORCH_CHECK(x.defined() && x.dim() == 4, what, ": expected images [B, C, H, W], got ",
                x.defined() ? x.sizes() : torch::IntArrayRef{});
    TORCH_CHECK(x.is_floating_point(), what, ": expected floating-point images, got ", x.scalar_type());
}

/// A magnitude tensor ([B] or one value) as [B, 1, 1, 1] in x's dtype on x's device.
torch::Tensor per_sample(const torch::Tensor& m, const torch::Tensor& x, const char* what) {
    TORCH_CHECK(m.defined(), what, ": magnitude tensor is undefined");
    const int64_t batch = x.size(0);
    auto v = to_device(m.reshape({-1}), x.device()).to(x.scalar_type());
    TORCH_CHECK(v.numel() == batch || v.numel() == 1, what, ": expected ", batch,
                " per-sample values (or one), got ", v.numel());
    if (v.numel() != batch) v = v.expand({batch});
    return v.reshape({batch, 1, 1, 1});
}

torch::Tensor blend(const torch::Tensor& img1, const torch::Tensor& img2, const torch::Tensor& f) {
    return (f * img1 + (1.0 - f) * img2).clamp(0.0, 1.0);
}

torch::Tensor quantised(const torch::Tensor& x) { return (x * 255.0).round().clamp(0.0, 255.0); }

struct PolicyStep {
    AugOp op;
    double p;
    int64_t bin;  // −1: no magnitude (torchvision's None)
};

// torchvision AutoAugmentPolicy.CIFAR10 (Cubuk et al. 2019, appendix).
const PolicyStep kCifar10Policy[25][2] = {
    {{AugOp::Invert, 0.1, -1}, {AugOp::Contrast, 0.2, 6}},
    {{AugOp::Rotate, 0.7, 2}, {AugOp::TranslateX, 0.3, 9}},
    {{AugOp::Sharpness, 0.8, 1}, {AugOp::Sharpness, 0.9, 3}},
    {{AugOp::ShearY, 0.5, 8}, {AugOp::TranslateY, 0.7, 9}},
    {{AugOp::AutoContrast, 0.5, -1}, {AugOp::Equalize, 0.9, -1}},
    {{AugOp::ShearY, 0.2, 7}, {AugOp::Posterize, 0.3, 7}},
    {{AugOp::Color, 0.4, 3}, {AugOp::Brightness, 0.6, 7}},
    {{AugOp::Sharpness, 0.3, 9}, {AugOp::Brightness, 0.7, 9}},
    {{AugOp::Equalize, 0.6, -1}, {AugOp::Equalize, 0.5, -1}},
    {{AugOp::Contrast, 0.6, 7}, {AugOp::Sharpness, 0.6, 5}},
    {{AugOp::Color, 0.7, 7}, {AugOp::TranslateX, 0.5, 8}},
    {{AugOp::Equalize, 0.3, -1}, {AugOp::AutoContrast, 0.4, -1}},
    {{AugOp::TranslateY, 0.4, 3}, {AugOp::Sharpness, 0.2, 6}},
    {{AugOp::Brightness, 0.9, 6}, {AugOp::Color, 0.2, 8}},
    {{AugOp::Solarize, 0.5, 2}, {AugOp::Invert, 0.0, -1}},
    {{AugOp::Equalize, 0.2, -1}, {AugOp::AutoContrast, 0.6, -1}},
    {{AugOp::Equalize, 0.2, -1}, {AugOp::Equalize, 0.6, -1}},
    {{AugOp::Color, 0.9, 9}, {AugOp::Equalize, 0.6, -1}},
    {{AugOp::AutoContrast, 0.8, -1}, {AugOp::Solarize, 0.2, 8}},
    {{AugOp::Brightness, 0.1, 3}, {AugOp::Color, 0.7, 0}},
    {{AugOp::Solarize, 0.4, 5}, {AugOp::AutoContrast, 0.9, -1}},
    {{AugOp::TranslateY, 0.9, 9}, {AugOp::TranslateY, 0.7, 9}},
    {{AugOp::AutoContrast, 0.9, -1}, {AugOp::Solarize, 0.8, 3}},
    {{AugOp::Equalize, 0.8, -1}, {AugOp::Invert, 0.1, -1}},
    {{AugOp::TranslateY, 0.7, 9}, {AugOp::AutoContrast, 0.9, -1}},
};

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kRandAugmentOps = 14;  // Identity … Equalize (no Invert)
constexpr int64_t kRandAugmentBins = 31;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pixel ops
// ---------------------------------------------------------------------------------------------

torch::Tensor invert(const torch::Tensor& x) {
    check_batch(x, "invert");
    return 1.0 - x;
}

torch::Tensor grayscale(const torch::Tensor& x) {
    check_batch(x, "grayscale");
    const int64_t c = x.size(1);
    if (c == 1) return x;
    if (c != 3) return x.mean(1, true);
    return (0.299 * x.select(1, 0) + 0.587 * x.select(1, 1) + 0.114 * x.select(1, 2)).unsqueeze(1);
}

torch::Tensor contrast(const torch::Tensor& x, const torch::Tensor& factor) {
    check_batch(x, "contrast");
    auto mean = grayscale(x).mean({1, 2, 3}, true);
    return blend(x, mean, per_sample(factor, x, "contrast"));
}

torch::Tensor brightness(const torch::Tensor& x, const torch::Tensor& factor) {
    check_batch(x, "brightness");
    return (per_sample(factor, x, "brightness") * x).clamp(0.0, 1.0);
}

torch::Tensor color(const torch::Tensor& x, const torch::Tensor& factor) {
    check_batch(x, "color");
    auto f = per_sample(factor, x, "color");
    if (x.size(1) != 3) return x;
    return blend(x, grayscale(x), f);
}

namespace {
/// Sharpness's degenerate image: the interior smoothed (PIL's SMOOTH kernel), the border as is.
torch::Tensor smoothed(const torch::Tensor& x) {
    const int64_t c = x.size(1), h = x.size(2), w = x.size(3);
    auto kernel = torch::ones({3, 3}, x.options());
    kernel[1][1] = 5.0;
    kernel = (kernel / 13.0).expand({c, 1, 3, 3}).contiguous();
    auto smooth = F::conv2d(x, kernel, F::Conv2dFuncOptions().groups(c));
    auto degenerate = x.clone();
    degenerate.slice(2, 1, h - 1).slice(3, 1, w - 1).copy_(smooth);
    return degenerate;
}
}  // namespace

torch::Tensor sharpness(const torch::Tensor& x, const torch::Tensor& factor) {
    check_batch(x, "sharpness");
    auto f = per_sample(factor, x, "sharpness");
    if (x.size(2) <= 2 || x.size(3) <= 2 || x.size(0) == 0) return x;
    return blend(x, smoothed(x), f);
}

torch::Tensor posterize(const torch::Tensor& x, const torch::Tensor& bits) {
    check_batch(x, "posterize");
    auto b = per_sample(bits, x, "posterize").trunc().clamp(0.0, 8.0);
    auto step = torch::pow(2.0, 8.0 - b);
    auto out = (quantised(x) / step).floor() * step / 255.0;
    return torch::where(b >= 8.0, x, out);
}

torch::Tensor solarize(const torch::Tensor& x, const torch::Tensor& threshold) {
    check_batch(x, "solarize");
    // Compare on the 0..255 scale; the small tolerance makes threshold k/255 include level k.
    auto t = per_sample(threshold, x, "solarize") * 255.0 - 1e-3;
    return torch::where(quantised(x) >= t, 1.0 - x, x);
}

torch::Tensor autocontrast(const torch::Tensor& x) {
    check_batch(x, "autocontrast");
    auto lo = x.amin({2, 3}, true), hi = x.amax({2, 3}, true);
    auto range = hi - lo;
    auto flat = range <= 0;
    auto scale = torch::where(flat, torch::ones_like(range), range.clamp_min(1e-12).reciprocal());
    lo = torch::where(flat, torch::zeros_like(lo), lo);
    return ((x - lo) * scale).clamp(0.0, 1.0);
}

torch::Tensor equalize(const torch::Tensor& x) {
    check_batch(x, "equalize");
    const int64_t b = x.size(0), c = x.size(1), n = x.size(2) * x.size(3);
    if (b == 0 || n == 0) return x;
    auto flat = x.reshape({b * c, n});
    auto q = quantised(flat).to(torch::kLong);
    auto hist = torch::zeros({b * c, 256}, q.options()).scatter_add_(1, q, torch::ones_like(q));
    // Count of the highest occupied level = the last non-zero histogram bin.
    auto last = hist.gather(1, std::get<0>(q.max(1, true)));
    auto step = torch::div(n - last, 255, "floor");  // [BC, 1]
    auto lut = torch::div(hist.cumsum(1) + torch::div(step, 2, "floor"), step.clamp_min(1), "floor");
    lut = torch::cat({torch::zeros({b * c, 1}, lut.options()), lut.slice(1, 0, 255)}, 1).clamp(0, 255);
    auto out = lut.gather(1, q).to(x.scalar_type()) / 255.0;
    return torch::where(step == 0, flat, out).reshape(x.sizes());
}

// ---------------------------------------------------------------------------------------------
// Affine ops
// ---------------------------------------------------------------------------------------------

namespace {

/// Resamples each image through its inverse affine map theta [n, 2, 3] in normalised coordinates
/// (nearest, zero padding, align_corners = false).
torch::Tensor resample(const torch::Tensor& x, const torch::Tensor& theta) {
    auto grid = F::affine_grid(theta, {x.size(0), x.size(1), x.size(2), x.size(3)}, false);
    return F::grid_sample(x, grid,
                          F::GridSampleFuncOptions().mode(torch::kNearest).padding_mode(torch::kZeros).align_corners(false));
}

}  // namespace

torch::Tensor affine_inverse(const torch::Tensor& x, const torch::Tensor& a, const torch::Tensor& b,
                             const torch::Tensor& tx, const torch::Tensor& c, const torch::Tensor& d,
                             const torch::Tensor& ty) {
    check_batch(x, "affine");
    const int64_t n = x.size(0);
    if (n == 0) return x;
    const double h = double(x.size(2)), w = double(x.size(3));
    auto v = [&](const torch::Tensor& t) { return per_sample(t, x, "affine").reshape({n}); };
    // Pixel coordinates about the centre → normalised coordinates (align_corners = false):
    // x_n = x_px · 2/W, y_n = y_px · 2/H.
    auto theta = torch::stack({v(a), v(b) * (h / w), v(tx) * (2.0 / w), v(c) * (w / h), v(d),
                               v(ty) * (2.0 / h)},
                              1)
                     .reshape({n, 2, 3});
    return resample(x, theta);
}

torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& degrees) {
    check_batch(x, "rotate");
    auto rad = per_sample(degrees, x, "rotate").reshape({-1}) * (kPi / 180.0);
    auto cs = rad.cos(), sn = rad.sin(), zero = torch::zeros_like(rad);
    // Inverse of a counter-clockwise (as displayed, y down) rotation.
    return affine_inverse(x, cs, -sn, zero, sn, cs, zero);
}

torch::Tensor shear_x(const torch::Tensor& x, const torch::Tensor& factor) {
    check_batch(x, "shear_x");
    auto f = per_sample(factor, x, "shear_x").reshape({-1});
    auto one = torch::ones_like(f), zero = torch::zeros_like(f);
    // Corner origin: u_in = u + f·v  ⇔  x_in = x + f·y + f·H/2 about the centre.
    return affine_inverse(x, one, f, f * (double(x.size(2)) / 2.0), zero, one, zero);
}

torch::Tensor shear_y(const torch::Tensor& x, const torch::Tensor& factor) {
    check_batch(x, "shear_y");
    auto f = per_sample(factor, x, "shear_y").reshape({-1});
    auto one = torch::ones_like(f), zero = torch::zeros_like(f);
    return affine_inverse(x, one, zero, zero, f, one, f * (double(x.size(3)) / 2.0));
}

torch::Tensor translate_x(const torch::Tensor& x, const torch::Tensor& pixels) {
    check_batch(x, "translate_x");
    auto t = per_sample(pixels, x, "translate_x").reshape({-1});
    auto one = torch::ones_like(t), zero = torch::zeros_like(t);
    return affine_inverse(x, one, zero, -t, zero, one, zero);
}

torch::Tensor translate_y(const torch::Tensor& x, const torch::Tensor& pixels) {
    check_batch(x, "translate_y");
    auto t = per_sample(pixels, x, "translate_y").reshape({-1});
    auto one = torch::ones_like(t), zero = torch::zeros_like(t);
    return affine_inverse(x, one, zero, zero, zero, one, -t);
}

// ---------------------------------------------------------------------------------------------
// Random geometric ops
// ---------------------------------------------------------------------------------------------

torch::Tensor random_crop(const torch::Tensor& x, int64_t pad, at::Generator& gen) {
    check_batch(x, "random_crop");
    TORCH_CHECK(pad >= 0, "random_crop: padding must be >= 0, got ", pad);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    if (pad == 0 || n == 0) return x;
    auto offsets = to_device(torch::randint(0, 2 * pad + 1, {n, 2}, gen, torch::kLong), x.device());
    auto padded = torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0.0);
    auto li = torch::TensorOptions().dtype(torch::kLong).device(x.device());
    auto rows = offsets.slice(1, 0, 1) + torch::arange(h, li).unsqueeze(0);  // [B, H]
    auto cols = offsets.slice(1, 1, 2) + torch::arange(w, li).unsqueeze(0);  // [B, W]
    auto out = padded.gather(2, rows.view({n, 1, h, 1}).expand({n, c, h, w + 2 * pad}));
    return out.gather(3, cols.view({n, 1, 1, w}).expand({n, c, h, w}));
}

torch::Tensor random_flip(const torch::Tensor& x, at::Generator& gen) {
    check_batch(x, "random_flip");
    const int64_t n = x.size(0);
    if (n == 0) return x;
    auto flip = to_device(torch::rand({n}, gen, torch::kDouble) < 0.5, x.device()).view({n, 1, 1, 1});
    return torch::where(flip, x.flip({3}), x);
}

torch::Tensor random_erasing(const torch::Tensor& x, double prob, at::Generator& gen) {
    check_batch(x, "random_erasing");
    TORCH_CHECK(prob >= 0.0 && prob <= 1.0, "random_erasing: probability must be in [0, 1], got ", prob);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    if (prob <= 0.0 || n == 0) return x;
    auto apply = torch::rand({n}, gen, torch::kDouble);
    auto tries = torch::rand({n, 10, 4}, gen, torch::kDouble).contiguous();
    auto ap = apply.accessor<double, 1>();
    auto tr = tries.accessor<double, 3>();
    const double area = double(h * w), lo_r = std::log(0.3), hi_r = std::log(3.3);
    std::vector<int64_t> which, top, left, eh, ew;
    for (int64_t s = 0; s < n; ++s) {
        if (!(ap[s] < prob)) continue;
        for (int64_t t = 0; t < 10; ++t) {
            const double erase_area = area * (0.02 + tr[s][t][0] * (1.0 / 3.0 - 0.02));
            const double aspect = std::exp(lo_r + tr[s][t][1] * (hi_r - lo_r));
            const auto rh = static_cast<int64_t>(std::nearbyint(std::sqrt(erase_area * aspect)));
            const auto rw = static_cast<int64_t>(std::nearbyint(std::sqrt(erase_area / aspect)));
            if (!(rh < h && rw < w)) continue;
            which.push_back(s);
            top.push_back(static_cast<int64_t>(std::floor(tr[s][t][2] * double(h - rh + 1))));
            left.push_back(static_cast<int64_t>(std::floor(tr[s][t][3] * double(w - rw + 1))));
            eh.push_back(rh);
            ew.push_back(rw);
            break;
        }
    }
    const auto k = static_cast<int64_t>(which.size());
    if (k == 0) return x;
    auto noise = to_device(torch::rand({k, c, h, w}, gen, torch::kFloat), x.device()).to(x.scalar_type());
    auto li = torch::TensorOptions().dtype(torch::kLong).device(x.device());
    auto vec = [&](const std::vector<int64_t>& v) { return to_device(torch::tensor(v, torch::kLong), x.device()); };
    auto y0 = vec(top).view({k, 1, 1, 1}), x0 = vec(left).view({k, 1, 1, 1});
    auto y1 = y0 + vec(eh).view({k, 1, 1, 1}), x1 = x0 + vec(ew).view({k, 1, 1, 1});
    auto rows = torch::arange(h, li).view({1, 1, h, 1}), cols = torch::arange(w, li).view({1, 1, 1, w});
    auto inside = (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1);  // [k, 1, H, W]
    auto idx = vec(which);
    auto erased = torch::where(inside, noise, x.index_select(0, idx));
    return x.index_copy(0, idx, erased);
}

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

const char* aug_op_name(AugOp op) {
    static const char* const names[kAugOpCount] = {
        "Identity", "ShearX",    "ShearY",    "TranslateX", "TranslateY",   "Rotate",   "Brightness", "Color",
        "Contrast", "Sharpness", "Posterize", "Solarize",   "AutoContrast", "Equalize", "Invert"};
    const auto i = static_cast<int64_t>(op);
    return i >= 0 && i < kAugOpCount ? names[i] : "?";
}

bool aug_op_signed(AugOp op) {
    switch (op) {
        case AugOp::ShearX:
        case AugOp::ShearY:
        case AugOp::TranslateX:
        case AugOp::TranslateY:
        case AugOp::Rotate:
        case AugOp::Brightness:
        case AugOp::Color:
        case AugOp::Contrast:
        case AugOp::Sharpness: return true;
        default: return false;
    }
}

double aug_op_magnitude(AugOp op, int64_t bin, int64_t num_bins, int64_t height, int64_t width) {
    TORCH_CHECK(num_bins >= 1 && bin >= 0 && bin < num_bins, "aug_op_magnitude: bin ", bin,
                " outside [0, ", num_bins, ")");
    const double t = num_bins > 1 ? double(bin) / double(num_bins - 1) : 0.0;
    switch (op) {
        case AugOp::ShearX:
        case AugOp::ShearY: return 0.3 * t;
        case AugOp::TranslateX: return 150.0 / 331.0 * double(width) * t;
        case AugOp::TranslateY: return 150.0 / 331.0 * double(height) * t;
        case AugOp::Rotate: return 30.0 * t;
        case AugOp::Brightness:
        case AugOp::Color:
        case AugOp::Contrast:
        case AugOp::Sharpness: return 0.9 * t;
        case AugOp::Posterize:
            return 8.0 - (num_bins > 1 ? std::nearbyint(double(bin) / (double(num_bins - 1) / 4.0)) : 0.0);
        case AugOp::Solarize: return 255.0 * (1.0 - t);
        default: return 0.0;
    }
}

torch::Tensor apply_aug_op(const torch::Tensor& x, AugOp op, const torch::Tensor& magnitude) {
    check_batch(x, "apply_aug_op");
    const auto& m = magnitude;
    switch (op) {
        case AugOp::Identity: return x;
        case AugOp::ShearX: return shear_x(x, m);
        case AugOp::ShearY: return shear_y(x, m);
        case AugOp::TranslateX: return translate_x(x, m.trunc());
        case AugOp::TranslateY: return translate_y(x, m.trunc());
        case AugOp::Rotate: return rotate(x, m);
        case AugOp::Brightness: return brightness(x, 1.0 + m);
        case AugOp::Color: return color(x, 1.0 + m);
        case AugOp::Contrast: return contrast(x, 1.0 + m);
        case AugOp::Sharpness: return sharpness(x, 1.0 + m);
        case AugOp::Posterize: return posterize(x, m.trunc());
        case AugOp::Solarize: return solarize(x, m / 255.0);
        case AugOp::AutoContrast: return autocontrast(x);
        case AugOp::Equalize: return equalize(x);
        case AugOp::Invert: return invert(x);
    }
    TORCH_CHECK(false, "apply_aug_op: unknown op ", static_cast<int64_t>(op));
    return x;
}

namespace {

/// Rows of RoundParams::flags beyond one per op: the images that take a family's result.
constexpr int64_t kAffineFamily = kAugOpCount, kBlendFamily = kAugOpCount + 1, kFlagRows = kAugOpCount + 2;

/// The per-sample parameters of one round, on x's device, in x's dtype, with the values the
/// single-op functions compute (made on the host with the same float arithmetic, then uploaded in
/// two copies: everything that needs no device math costs no kernel).
struct RoundParams {
    torch::Tensor m;      // [n] magnitude
    torch::Tensor m_one;  // [n] 1 + magnitude (blend factors)
    torch::Tensor m_int;  // [n] trunc(magnitude) (translations, posterize bits)
    torch::Tensor m_255;  // [n] magnitude / 255 (solarize threshold)
    // The affine entries of every image but the rotated ones (identity for non-affine ops), already
    // in affine_inverse's normalised coordinates: a, b·H/W, tx·2/W, c·W/H, ty·2/H.
    torch::Tensor a, b, tx, c, ty;
    torch::Tensor flags;  // [kFlagRows, n] bool: row o = images whose op is o; then the families
    torch::Tensor is(AugOp o) const { return flags[static_cast<int64_t>(o)]; }
};

/// Which op families' results each image takes, given the ops drawn and the ones that act at all.
torch::Tensor round_flags(const std::vector<int64_t>& ops, const bool present[kAugOpCount]) {
    const int64_t n = int64_t(ops.size());
    auto flags = torch::zeros({kFlagRows, n}, torch::kBool);
    auto f = flags.accessor<bool, 2>();
    for (int64_t s = 0; s < n; ++s) {
        const int64_t o = ops[size_t(s)];
        if (o < 0) continue;
        f[o][s] = true;
        if (!present[o]) continue;
        const auto op = static_cast<AugOp>(o);
        f[kAffineFamily][s] = op == AugOp::ShearX || op == AugOp::ShearY || op == AugOp::TranslateX ||
                              op == AugOp::TranslateY || op == AugOp::Rotate;
        f[kBlendFamily][s] = op == AugOp::Color || op == AugOp::Contrast || op == AugOp::Sharpness;
    }
    return flags;
}

RoundParams round_params(const std::vector<int64_t>& ops, const std::vector<double>& mags, const torch::Tensor& x,
                         const bool present[kAugOpCount]) {
    const int64_t n = int64_t(ops.size());
    auto host = torch::empty({4, n}, torch::kDouble);  // m, 1 + m, trunc(m), m / 255
    auto h = host.accessor<double, 2>();
    for (int64_t s = 0; s < n; ++s) {
        const double m = mags[size_t(s)];
        h[0][s] = m, h[1][s] = 1.0 + m, h[2][s] = std::trunc(m), h[3][s] = m / 255.0;
    }
    const auto flags = round_flags(ops, present);
    // The affine entries, on the host in x's dtype with the arithmetic shear_x … translate_y and
    // affine_inverse run (rotations are made on the device: they need its cos and sin).
    const auto v = host.to(x.scalar_type());
    const auto &m = v[0], &m_int = v[2];
    auto is = [&](AugOp o) { return flags[static_cast<int64_t>(o)]; };
    const double H = double(x.size(2)), W = double(x.size(3));
    auto zero = torch::zeros_like(m);
    auto b = torch::where(is(AugOp::ShearX), m, zero);
    auto tx = torch::where(is(AugOp::ShearX), m * (H / 2.0), torch::where(is(AugOp::TranslateX), -m_int, zero));
    auto c = torch::where(is(AugOp::ShearY), m, zero);
    auto ty = torch::where(is(AugOp::ShearY), m * (W / 2.0), torch::where(is(AugOp::TranslateY), -m_int, zero));
    auto rows = torch::cat({v, torch::ones_like(m).unsqueeze(0),
                            torch::stack({b * (H / W), tx * (2.0 / W), c * (W / H), ty * (2.0 / H)})});
    auto dev = to_device(rows, x.device());  // [9, n]
    RoundParams p{dev[0], dev[1], dev[2], dev[3], dev[4], dev[5], dev[6], dev[7], dev[8], to_device(flags, x.device())};
    return p;
}

/// One round's affine ops (shear, translate, rotate) for the whole batch in one resampling; each
/// image's matrix is the one its own op's function builds (identity for the others).
torch::Tensor affine_round(const torch::Tensor& x, const RoundParams& p, bool rotates) {
    const int64_t n = x.size(0);
    const double h = double(x.size(2)), w = double(x.size(3));
    auto a = p.a, b = p.b, c = p.c;
    if (rotates) {
        const auto rot = p.is(AugOp::Rotate);
        auto rad = p.m * (kPi / 180.0);
        auto cs = rad.cos(), sn = rad.sin();
        a = torch::where(rot, cs, a);
        b = torch::where(rot, -sn * (h / w), b);
        c = torch::where(rot, sn * (w / h), c);
    }
    return resample(x, torch::stack({a, b, p.tx, c, a, p.ty}, 1).reshape({n, 2, 3}));
}

}  // namespace

torch::Tensor apply_aug_ops(const torch::Tensor& x, const torch::Tensor& ops, const torch::Tensor& magnitudes) {
    check_batch(x, "apply_aug_ops");
    const int64_t n = x.size(0);
    auto op_cpu = ops.reshape({-1}).to(torch::kCPU, torch::kLong).contiguous();
    auto mag_cpu = magnitudes.reshape({-1}).to(torch::kCPU, torch::kDouble).contiguous();
    TORCH_CHECK(op_cpu.numel() == n && mag_cpu.numel() == n, "apply_aug_ops: expected ", n,
                " ops and magnitudes, got ", op_cpu.numel(), " and ", mag_cpu.numel());
    const std::vector<int64_t> o(op_cpu.data_ptr<int64_t>(), op_cpu.data_ptr<int64_t>() + n);
    const std::vector<double> m(mag_cpu.data_ptr<double>(), mag_cpu.data_ptr<double>() + n);
    return apply_aug_ops(x, o, m);
}

torch::Tensor apply_aug_ops(const torch::Tensor& x, const std::vector<int64_t>& ops, const std::vector<double>& mags) {
    check_batch(x, "apply_aug_ops");
    const int64_t n = x.size(0);
    TORCH_CHECK(int64_t(ops.size()) == n && int64_t(mags.size()) == n, "apply_aug_ops: expected ", n,
                " ops and magnitudes, got ", ops.size(), " and ", mags.size());
    // Each op family runs once on the whole batch (with every image's own parameters) and its
    // images take the result: a fixed number of operator calls per round, whatever the batch drew.
    bool present[kAugOpCount] = {};
    for (int64_t o : ops) {
        TORCH_CHECK(o < kAugOpCount, "apply_aug_ops: unknown op ", o);
        if (o > 0) present[o] = true;  // −1 (nothing) and Identity leave the image as it is
    }
    // Ops that are the identity on this image shape (as their functions make them).
    if (x.size(1) != 3) present[static_cast<int64_t>(AugOp::Color)] = false;
    if (x.size(2) <= 2 || x.size(3) <= 2) present[static_cast<int64_t>(AugOp::Sharpness)] = false;
    auto has = [&](std::initializer_list<AugOp> family) {
        for (AugOp o : family)
            if (present[static_cast<int64_t>(o)]) return true;
        return false;
    };
    if (!has({AugOp::ShearX, AugOp::ShearY, AugOp::TranslateX, AugOp::TranslateY, AugOp::Rotate, AugOp::Brightness,
              AugOp::Color, AugOp::Contrast, AugOp::Sharpness, AugOp::Posterize, AugOp::Solarize,
              AugOp::AutoContrast, AugOp::Equalize, AugOp::Invert}))
        return x;
    const auto p = round_params(ops, mags, x, present);
    auto out = x;
    auto take_rows = [&](const torch::Tensor& mask, const torch::Tensor& y) {
        out = torch::where(mask.view({-1, 1, 1, 1}), y.to(out.scalar_type()), out);
    };
    auto take = [&](AugOp o, const torch::Tensor& y) { take_rows(p.is(o), y); };
    if (has({AugOp::ShearX, AugOp::ShearY, AugOp::TranslateX, AugOp::TranslateY, AugOp::Rotate}))
        take_rows(p.flags[kAffineFamily], affine_round(x, p, has({AugOp::Rotate})));
    if (has({AugOp::Brightness})) take(AugOp::Brightness, brightness(x, p.m_one));
    if (has({AugOp::Color, AugOp::Contrast, AugOp::Sharpness})) {
        // One blend towards each image's own degenerate image: grey, mean grey or smoothed.
        auto f = p.m_one.view({-1, 1, 1, 1});
        auto is = [&](AugOp o) { return p.is(o).view({-1, 1, 1, 1}); };
        torch::Tensor degenerate = x;
        if (has({AugOp::Sharpness})) degenerate = smoothed(x);
        if (has({AugOp::Contrast}))
            degenerate = torch::where(is(AugOp::Contrast), grayscale(x).mean({1, 2, 3}, true), degenerate);
        if (has({AugOp::Color})) degenerate = torch::where(is(AugOp::Color), grayscale(x), degenerate);
        take_rows(p.flags[kBlendFamily], blend(x, degenerate, f));
    }
    if (has({AugOp::Posterize})) take(AugOp::Posterize, posterize(x, p.m_int));
    if (has({AugOp::Solarize})) take(AugOp::Solarize, solarize(x, p.m_255));
    if (has({AugOp::AutoContrast})) take(AugOp::AutoContrast, autocontrast(x));
    if (has({AugOp::Equalize})) take(AugOp::Equalize, equalize(x));
    if (has({AugOp::Invert})) take(AugOp::Invert, invert(x));
    return out;
}

torch::Tensor auto_augment(const torch::Tensor& x, at::Generator& gen) {
    check_batch(x, "auto_augment");
    const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
    if (n == 0) return x;
    auto policy = torch::randint(0, 25, {n}, gen, torch::kLong);
    auto probs = torch::rand({n, 2}, gen, torch::kDouble);
    auto signs = torch::randint(0, 2, {n, 2}, gen, torch::kLong);
    auto pa = policy.accessor<int64_t, 1>();
    auto pr = probs.accessor<double, 2>();
    auto sg = signs.accessor<int64_t, 2>();
    auto out = x;
    for (int64_t k = 0; k < 2; ++k) {
        auto ops = torch::full({n}, -1, torch::kLong);
        auto mags = torch::zeros({n}, torch::kDouble);
        auto oa = ops.accessor<int64_t, 1>();
        auto ma = mags.accessor<double, 1>();
        for (int64_t s = 0; s < n; ++s) {
            const PolicyStep& step = kCifar10Policy[pa[s]][k];
            if (!(pr[s][k] <= step.p)) continue;
            double m = step.bin >= 0 ? aug_op_magnitude(step.op, step.bin, 10, h, w) : 0.0;
            if (aug_op_signed(step.op) && sg[s][k] == 0) m = -m;
            oa[s] = static_cast<int64_t>(step.op);
            ma[s] = m;
        }
        out = apply_aug_ops(out, ops, mags);
    }
    return out;
}

torch::Tensor rand_augment(const torch::Tensor& x, int64_t num_ops, int64_t magnitude, at::Generator& gen) {
    check_batch(x, "rand_augment");
    TORCH_CHECK(num_ops >= 0, "rand_augment: N must be >= 0, got ", num_ops);
    TORCH_CHECK(magnitude >= 0 && magnitude < kRandAugmentBins, "rand_augment: M must be in [0, 30], got ",
                magnitude);
    const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
    if (n == 0) return x;
    auto out = x;
    for (int64_t round = 0; round < num_ops; ++round) {
        auto ops = torch::randint(0, kRandAugmentOps, {n}, gen, torch::kLong);
        auto signs = torch::randint(0, 2, {n}, gen, torch::kLong);
        auto mags = torch::zeros({n}, torch::kDouble);
        auto oa = ops.accessor<int64_t, 1>();
        auto sg = signs.accessor<int64_t, 1>();
        auto ma = mags.accessor<double, 1>();
        for (int64_t s = 0; s < n; ++s) {
            const auto op = static_cast<AugOp>(oa[s]);
            double m = aug_op_magnitude(op, magnitude, kRandAugmentBins, h, w);
            if (aug_op_signed(op) && sg[s] == 1) m = -m;
            ma[s] = m;
        }
        out = apply_aug_ops(out, ops, mags);
    }
    return out;
}

}  // namespace vhmn::data
