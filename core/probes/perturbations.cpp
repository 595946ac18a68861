#include "core/probes/perturbations.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace vhmn {

torch::Tensor gaussian_noise(const torch::Tensor& x, double sigma, at::Generator& gen) {
    auto noise = at::normal(0.0, 1.0, x.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat));
    return (x + noise.to(x.device(), x.scalar_type()) * sigma).clamp_(0.0, 1.0);
}

int64_t occlusion_side(double area, int64_t height, int64_t width) {
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(area * double(height * width))));
    return std::clamp<int64_t>(side, 1, std::min(height, width));
}

torch::Tensor occlude_square(const torch::Tensor& x, int64_t side, at::Generator& gen) {
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    side = std::clamp<int64_t>(side, 0, std::min(h, w));
    auto out = x.clone();
    if (side == 0 || b == 0) return out;
    auto ys = at::randint(h - side + 1, {b}, gen, torch::TensorOptions().dtype(torch::kLong));
    auto xs = at::randint(w - side + 1, {b}, gen, torch::TensorOptions().dtype(torch::kLong));
    // A mask built from coordinate comparisons: one kernel for the whole batch.
    auto opts = torch::TensorOptions().dtype(torch::kLong);
    auto rows = torch::arange(h, opts).view({1, h, 1}), cols = torch::arange(w, opts).view({1, 1, w});
    auto y0 = ys.view({b, 1, 1}), x0 = xs.view({b, 1, 1});
    auto inside = (rows >= y0) & (rows < y0 + side) & (cols >= x0) & (cols < x0 + side);  // [B, H, W]
    return out.masked_fill_(inside.unsqueeze(1).to(x.device()), 0.0);
}

torch::Tensor occlude_at(const torch::Tensor& x, int64_t row, int64_t col, int64_t side) {
    const int64_t h = x.size(2), w = x.size(3);
    side = std::clamp<int64_t>(side, 0, std::min(h, w));
    auto out = x.clone();
    if (side == 0) return out;
    row = std::clamp<int64_t>(row, 0, h - side);
    col = std::clamp<int64_t>(col, 0, w - side);
    using torch::indexing::Slice;
    out.index_put_({Slice(), Slice(), Slice(row, row + side), Slice(col, col + side)}, 0.0);
    return out;
}

torch::Tensor scale_contrast(const torch::Tensor& x, double factor) {
    auto mean = x.mean({1, 2, 3}, /*keepdim=*/true);
    return (mean + (x - mean) * factor).clamp_(0.0, 1.0);
}

std::string Corruption::label() const {
    char buf[96];
    if (kind == "clean") return "clean";
    if (kind == "noise") std::snprintf(buf, sizeof buf, "noise \xCF\x83=%g", severity);
    else if (kind == "occlusion") std::snprintf(buf, sizeof buf, "occlusion area %g", severity);
    else if (kind == "occlusion_px") std::snprintf(buf, sizeof buf, "occlusion %gx%g px", severity, severity);
    else if (kind == "contrast") std::snprintf(buf, sizeof buf, "contrast x%g", severity);
    else std::snprintf(buf, sizeof buf, "%s %g", kind.c_str(), severity);
    return buf;
}

void validate(const Corruption& c) {
    auto bad = [&](const std::string& why) {
        throw ConfigError("corruption " + c.kind + " " + std::to_string(c.severity) + ": " + why);
    };
    if (!std::isfinite(c.severity)) bad("severity is not a number");
    if (c.kind == "clean") return;
    if (c.kind == "noise") {
        if (c.severity < 0 || c.severity > 10) bad("noise sigma must be in [0, 10]");
    } else if (c.kind == "occlusion") {
        if (c.severity < 0 || c.severity > 1) bad("occluded area must be a fraction in [0, 1]");
    } else if (c.kind == "occlusion_px") {
        if (c.severity < 0 || c.severity != std::floor(c.severity)) bad("occlusion side must be a whole number of pixels");
    } else if (c.kind == "contrast") {
        if (c.severity < 0 || c.severity > 100) bad("contrast factor must be in [0, 100]");
    } else {
        throw ConfigError("unknown corruption '" + c.kind + "' (known: clean, noise, occlusion, occlusion_px, contrast)");
    }
}

torch::Tensor corrupt(const torch::Tensor& x, const Corruption& c, at::Generator& gen) {
    validate(c);
    if (c.kind == "noise") return gaussian_noise(x, c.severity, gen);
    if (c.kind == "occlusion") return occlude_square(x, occlusion_side(c.severity, x.size(2), x.size(3)), gen);
    if (c.kind == "occlusion_px") return occlude_square(x, int64_t(c.severity), gen);
    if (c.kind == "contrast") return scale_contrast(x, c.severity);
    return x;
}

std::vector<Corruption> robustness_corruptions() {
    std::vector<Corruption> out{{"clean", 0.0}};
    for (double s : {0.05, 0.1, 0.2, 0.3}) out.push_back({"noise", s});
    for (double a : {0.05, 0.1, 0.2}) out.push_back({"occlusion", a});
    for (double f : {0.5, 0.75, 1.25, 1.5}) out.push_back({"contrast", f});
    return out;
}

std::vector<Corruption> stability_corruptions() {
    std::vector<Corruption> out;
    for (double s : {0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3}) out.push_back({"noise", s});
    for (int side = 4; side <= 20; side += 2) out.push_back({"occlusion_px", double(side)});
    return out;
}

}  // namespace vhmn
