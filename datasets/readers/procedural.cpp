#include "datasets/readers/procedural.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>

namespace vhmn::data {
namespace {

const std::vector<std::string> kClasses = {"h-stripes", "v-stripes", "diagonal", "checker", "disc",
                                           "square",    "cross",     "ring",     "dots",    "gradient"};

/// Draw one image of class c: [C, S, S] float in [0, 1].
torch::Tensor draw(int64_t c, int64_t S, int64_t C, torch::Generator& gen) {
    auto u = [&](double lo, double hi) {
        return lo + (hi - lo) * torch::rand({1}, gen).item<double>();
    };
    auto ys = torch::arange(S, torch::kFloat).view({S, 1}).expand({S, S}) / double(S);
    auto xs = torch::arange(S, torch::kFloat).view({1, S}).expand({S, S}) / double(S);
    const double cy = u(0.3, 0.7), cx = u(0.3, 0.7), scale = u(0.15, 0.3);
    const double freq = u(3.0, 6.0), phase = u(0.0, 6.283);
    auto dy = ys - cy, dx = xs - cx;
    auto r = torch::sqrt(dy * dy + dx * dx);
    torch::Tensor mask;
    switch (c) {
        case 0: mask = torch::sin(ys * freq * 6.283 + phase) > 0; break;
        case 1: mask = torch::sin(xs * freq * 6.283 + phase) > 0; break;
        case 2: mask = torch::sin((xs + ys) * freq * 4.443 + phase) > 0; break;
        case 3: mask = (torch::sin(xs * freq * 6.283 + phase) * torch::sin(ys * freq * 6.283)) > 0; break;
        case 4: mask = r < scale; break;
        case 5: mask = (dy.abs() < scale) & (dx.abs() < scale); break;
        case 6: mask = (dy.abs() < scale * 0.3) | (dx.abs() < scale * 0.3); break;
        case 7: mask = (r < scale * 1.2) & (r > scale * 0.7); break;
        case 8: mask = (torch::sin(xs * freq * 6.283 + phase) * torch::sin(ys * freq * 6.283 + phase)) > 0.6; break;
        default: mask = (xs * std::cos(phase) + ys * std::sin(phase)) > u(0.3, 0.9); break;
    }
    auto fg = torch::rand({C, 1, 1}, gen) * 0.6 + 0.4;
    auto bg = torch::rand({C, 1, 1}, gen) * 0.4;
    auto img = torch::where(mask.unsqueeze(0), fg, bg).to(torch::kFloat);
    img = img + torch::randn({C, S, S}, gen) * 0.08;
    return img.clamp(0.0, 1.0);
}

Split make_split(int64_t per_class, const ProceduralOptions& opt, torch::Generator& gen) {
    const int64_t n = per_class * int64_t(kClasses.size());
    auto images = torch::empty({n, opt.channels, opt.image_size, opt.image_size}, torch::kUInt8);
    auto labels = torch::empty({n}, torch::kInt64);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = i % int64_t(kClasses.size());  // interleaved classes
        images[i] = (draw(c, opt.image_size, opt.channels, gen) * 255.0).round().to(torch::kUInt8);
        labels[i] = c;
    }
    return {images, labels, torch::arange(n, torch::kInt64)};
}

}  // namespace

Dataset make_procedural(const ProceduralOptions& opt) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(opt.seed);
    Dataset ds;
    ds.name = "builtin-shapes";
    ds.format = "builtin";
    ds.class_names = kClasses;
    ds.train = make_split(opt.train_per_class, opt, gen);
    ds.test = make_split(opt.test_per_class, opt, gen);
    return ds;
}

}  // namespace vhmn::data
