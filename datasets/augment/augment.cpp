// Augmentation config, MixUp / CutMix and the batch pipeline (see augment.h; the pixel and
// geometric ops and the policies are in augment/ops.cpp).
#include "datasets/augment/augment.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/runtime.h"

namespace vhmn::data {
namespace {

// One table per type drives JSON and comparison, so a new field is added in one place.
struct BoolField {
    const char* name;
    bool AugmentConfig::*member;
};
struct IntField {
    const char* name;
    int64_t AugmentConfig::*member;
};
struct RealField {
    const char* name;
    double AugmentConfig::*member;
};
const BoolField kBoolFields[] = {
    {"crop", &AugmentConfig::crop},
    {"flip", &AugmentConfig::flip},
    {"autoaugment", &AugmentConfig::autoaugment},
    {"randaugment", &AugmentConfig::randaugment},
};
const IntField kIntFields[] = {
    {"crop_padding", &AugmentConfig::crop_padding},
    {"randaugment_n", &AugmentConfig::randaugment_n},
    {"randaugment_m", &AugmentConfig::randaugment_m},
};
const RealField kRealFields[] = {
    {"mixup_alpha", &AugmentConfig::mixup_alpha},
    {"cutmix_alpha", &AugmentConfig::cutmix_alpha},
    {"mix_prob", &AugmentConfig::mix_prob},
    {"switch_prob", &AugmentConfig::switch_prob},
    {"erasing_prob", &AugmentConfig::erasing_prob},
    {"label_smoothing", &AugmentConfig::label_smoothing},
};

void require(bool ok, const std::string& field, const std::string& problem) {
    if (!ok) throw ConfigError("augment field '" + field + "': " + problem);
}

std::string num(double v) {
    nlohmann::json j = v;
    return j.dump();
}

double uniform01(at::Generator& gen) { return torch::rand({1}, gen, torch::kDouble).item<double>(); }
double normal01(at::Generator& gen) { return torch::randn({1}, gen, torch::kDouble).item<double>(); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// AugmentConfig
// ---------------------------------------------------------------------------------------------

const std::vector<std::string>& AugmentConfig::recipe_names() {
    static const std::vector<std::string> names = {"none", "basic", "paper", "imagenet"};
    return names;
}

AugmentConfig AugmentConfig::recipe(const std::string& name) {
    AugmentConfig c;  // the defaults are the paper's small-data recipe
    if (name == "paper") return c;
    if (name == "none" || name == "basic") {
        const bool basic = name == "basic";
        c.crop = basic, c.flip = basic;
        c.autoaugment = false, c.randaugment = false;
        c.mixup_alpha = 0.0, c.cutmix_alpha = 0.0;
        c.erasing_prob = 0.0, c.label_smoothing = 0.0;
        return c;
    }
    if (name == "imagenet") {
        c.crop = false, c.flip = true;
        c.autoaugment = false, c.randaugment = true, c.randaugment_n = 2, c.randaugment_m = 9;
        c.mixup_alpha = 0.8, c.cutmix_alpha = 1.0;
        c.erasing_prob = 0.25;
        return c;
    }
    std::string known;
    for (const auto& n : recipe_names()) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("unknown augmentation recipe '" + name + "' for --augment (known: " + known + ")");
}

void AugmentConfig::validate() const {
    require(crop_padding >= 0 && crop_padding <= 1024, "crop_padding",
            "must be between 0 and 1024 pixels, got " + std::to_string(crop_padding));
    require(randaugment_n >= 0 && randaugment_n <= 64, "randaugment_n",
            "must be between 0 and 64 ops per image, got " + std::to_string(randaugment_n));
    require(randaugment_m >= 0 && randaugment_m <= 30, "randaugment_m",
            "must be a magnitude bin between 0 and 30, got " + std::to_string(randaugment_m));
    require(std::isfinite(mixup_alpha) && mixup_alpha >= 0.0, "mixup_alpha",
            "must be >= 0 (0 disables MixUp), got " + num(mixup_alpha));
    require(std::isfinite(cutmix_alpha) && cutmix_alpha >= 0.0, "cutmix_alpha",
            "must be >= 0 (0 disables CutMix), got " + num(cutmix_alpha));
    using Prob = std::pair<const char*, double>;
    for (const auto& [field, v] : std::initializer_list<Prob>{
             {"mix_prob", mix_prob}, {"switch_prob", switch_prob}, {"erasing_prob", erasing_prob}})
        require(v >= 0.0 && v <= 1.0, field, "must be a probability in [0, 1], got " + num(v));
    require(label_smoothing >= 0.0 && label_smoothing < 1.0, "label_smoothing",
            "must be in [0, 1), got " + num(label_smoothing));
}

bool AugmentConfig::operator==(const AugmentConfig& o) const {
    for (const auto& f : kBoolFields)
        if (this->*f.member != o.*f.member) return false;
    for (const auto& f : kIntFields)
        if (this->*f.member != o.*f.member) return false;
    for (const auto& f : kRealFields)
        if (this->*f.member != o.*f.member) return false;
    return true;
}

void to_json(nlohmann::json& j, const AugmentConfig& c) {
    j = nlohmann::json::object();
    for (const auto& f : kBoolFields) j[f.name] = c.*f.member;
    for (const auto& f : kIntFields) j[f.name] = c.*f.member;
    for (const auto& f : kRealFields) j[f.name] = c.*f.member;
}

void from_json(const nlohmann::json& j, AugmentConfig& c) {
    if (!j.is_object()) throw ConfigError("augment config must be a JSON object, got " + j.dump());
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& key = it.key();
        const auto wrong = [&](const char* expected) {
            throw ConfigError("augment field '" + key + "': expected " + expected + ", got " + it->dump());
        };
        bool found = false;
        for (const auto& f : kBoolFields) {
            if (key != f.name) continue;
            found = true;
            if (!it->is_boolean()) wrong("true or false");
            c.*f.member = it->get<bool>();
        }
        for (const auto& f : kIntFields) {
            if (key != f.name) continue;
            found = true;
            if (!it->is_number_integer()) wrong("an integer");
            c.*f.member = it->get<int64_t>();
        }
        for (const auto& f : kRealFields) {
            if (key != f.name) continue;
            found = true;
            if (!it->is_number()) wrong("a number");
            c.*f.member = it->get<double>();
        }
        if (!found) throw ConfigError("unknown augment field '" + key + "'");
    }
}

// ---------------------------------------------------------------------------------------------
// MixUp / CutMix
// ---------------------------------------------------------------------------------------------

double sample_gamma(double shape, at::Generator& gen) {
    TORCH_CHECK(std::isfinite(shape) && shape > 0.0, "sample_gamma: shape must be > 0, got ", shape);
    if (shape < 1.0) {
        // Gamma(a) = Gamma(a + 1) · U^(1/a), U uniform on (0, 1].
        const double g = sample_gamma(shape + 1.0, gen);
        const double u = 1.0 - uniform01(gen);
        return g * std::pow(u, 1.0 / shape);
    }
    // Marsaglia & Tsang (2000).
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
        double z = 0.0, v = 0.0;
        do {
            z = normal01(gen);
            v = 1.0 + c * z;
        } while (v <= 0.0);
        v = v * v * v;
        const double u = 1.0 - uniform01(gen);  // (0, 1]
        if (u < 1.0 - 0.0331 * z * z * z * z) return d * v;
        if (std::log(u) < 0.5 * z * z + d * (1.0 - v + std::log(v))) return d * v;
    }
}

double sample_beta(double a, double b, at::Generator& gen) {
    const double ga = sample_gamma(a, gen), gb = sample_gamma(b, gen);
    const double s = ga + gb;
    if (!(s > 0.0) || !std::isfinite(s)) return uniform01(gen) < 0.5 ? 0.0 : 1.0;
    return ga / s;
}

CutBox cutmix_box(int64_t height, int64_t width, double lam, at::Generator& gen) {
    TORCH_CHECK(height > 0 && width > 0, "cutmix_box: empty image");
    const double ratio = std::sqrt(1.0 - std::clamp(lam, 0.0, 1.0));
    const auto cut_h = static_cast<int64_t>(double(height) * ratio);
    const auto cut_w = static_cast<int64_t>(double(width) * ratio);
    const int64_t cy = torch::randint(0, height, {1}, gen, torch::kLong).item<int64_t>();
    const int64_t cx = torch::randint(0, width, {1}, gen, torch::kLong).item<int64_t>();
    CutBox box;
    box.y0 = std::clamp<int64_t>(cy - cut_h / 2, 0, height);
    box.y1 = std::clamp<int64_t>(cy + cut_h / 2, 0, height);
    box.x0 = std::clamp<int64_t>(cx - cut_w / 2, 0, width);
    box.x1 = std::clamp<int64_t>(cx + cut_w / 2, 0, width);
    return box;
}

torch::Tensor mixup_images(const torch::Tensor& x, double lam) {
    return (x * lam + x.flip({0}) * (1.0 - lam)).clamp(0.0, 1.0);
}

torch::Tensor cutmix_images(const torch::Tensor& x, const CutBox& box) {
    TORCH_CHECK(x.dim() == 4, "cutmix_images: expected images [B, C, H, W]");
    auto out = x.clone();
    if (box.area() <= 0) return out;
    out.slice(2, box.y0, box.y1)
        .slice(3, box.x0, box.x1)
        .copy_(x.flip({0}).slice(2, box.y0, box.y1).slice(3, box.x0, box.x1));
    return out;
}

torch::Tensor mixed_targets(const torch::Tensor& labels, int64_t classes, double lam, double smoothing) {
    // A scatter, not one_hot: one_hot reads the labels' range back to the host (a GPU sync).
    auto lab = labels.to(torch::kLong);
    auto one = torch::zeros({lab.size(0), classes}, lab.options().dtype(torch::kFloat)).scatter_(1, lab.unsqueeze(1), 1.0);
    auto t = lam >= 1.0 ? one : one * lam + one.flip({0}) * (1.0 - lam);
    if (smoothing > 0.0) t = t * (1.0 - smoothing) + smoothing / double(classes);
    return t;
}

// ---------------------------------------------------------------------------------------------
// Augmenter
// ---------------------------------------------------------------------------------------------

Augmenter::Augmenter(AugmentConfig cfg, int64_t classes) : cfg_(std::move(cfg)), classes_(classes) {
    cfg_.validate();
    if (classes_ < 1) throw ConfigError("augmentation needs at least one class, got " + std::to_string(classes_));
}

AugmentedBatch Augmenter::operator()(const torch::Tensor& images01, const torch::Tensor& labels,
                                     const torch::Tensor& indices, at::Generator& gen) const {
    TORCH_CHECK(images01.defined() && images01.dim() == 4 && images01.is_floating_point(),
                "augment: expected float images [B, C, H, W]");
    const int64_t n = images01.size(0), h = images01.size(2), w = images01.size(3);
    TORCH_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == n, "augment: expected ", n,
                " labels [B]");
    TORCH_CHECK(indices.defined() && indices.dim() == 1 && indices.size(0) == n, "augment: expected ", n,
                " indices [B]");
    const auto device = images01.device();
    auto lab = to_device(labels, device).to(torch::kLong);
    auto idx = to_device(indices, device).to(torch::kLong);
    if (n > 0 && labels.is_cpu()) {  // on a GPU the trainer checked the labels once, when it started
        auto lc = labels.to(torch::kCPU, torch::kLong);
        const int64_t lo = lc.min().item<int64_t>(), hi = lc.max().item<int64_t>();
        TORCH_CHECK(lo >= 0 && hi < classes_, "augment: labels must be in [0, ", classes_, "), got [", lo,
                    ", ", hi, "]");
    }

    auto x = images01.to(torch::kFloat);
    if (cfg_.crop && cfg_.crop_padding > 0) x = random_crop(x, cfg_.crop_padding, gen);
    if (cfg_.flip) x = random_flip(x, gen);
    if (cfg_.autoaugment) x = auto_augment(x, gen);
    if (cfg_.randaugment && cfg_.randaugment_n > 0)
        x = rand_augment(x, cfg_.randaugment_n, cfg_.randaugment_m, gen);
    if (cfg_.erasing_prob > 0.0) x = random_erasing(x, cfg_.erasing_prob, gen);

    double lam = 1.0;
    const bool mixup_on = cfg_.mixup_alpha > 0.0, cutmix_on = cfg_.cutmix_alpha > 0.0;
    if ((mixup_on || cutmix_on) && n > 0 && uniform01(gen) < cfg_.mix_prob) {
        const bool use_cutmix = mixup_on && cutmix_on ? uniform01(gen) < cfg_.switch_prob : cutmix_on;
        const double alpha = use_cutmix ? cfg_.cutmix_alpha : cfg_.mixup_alpha;
        lam = sample_beta(alpha, alpha, gen);
        if (use_cutmix) {
            const CutBox box = cutmix_box(h, w, lam, gen);
            lam = 1.0 - double(box.area()) / double(h * w);  // λ of the box actually cut
            if (box.area() > 0) x = cutmix_images(x, box);
        } else if (lam < 1.0) {
            x = mixup_images(x, lam);
        }
    }

    AugmentedBatch out;
    out.images = x;
    out.targets = mixed_targets(lab, classes_, lam, cfg_.label_smoothing);
    const bool own = lam >= 0.5;
    out.write_labels = own ? lab : lab.flip({0});
    out.write_indices = own ? idx : idx.flip({0});
    out.accuracy_labels = out.write_labels;
    return out;
}

}  // namespace vhmn::data
