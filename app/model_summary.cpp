#include "app/model_summary.h"

#include <cstdio>

#include "core/stats.h"

namespace vhmn::app {

std::string human_count(double v) {
    const char* units[] = {"", " k", " M", " G", " T"};
    int u = 0;
    while (v >= 1000.0 && u < 4) v /= 1000.0, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.2f%s" : "%.0f%s", v, units[u]);
    return buf;
}

ModelSummary summarize(const std::string& preset_name, const ModelConfig& cfg) {
    cfg.validate();
    return {preset_name, cfg, count_parameters(cfg), forward_flops(cfg), bank_bytes(cfg)};
}

std::vector<std::pair<std::string, std::string>> ModelSummary::rows() const {
    const auto& c = config;
    auto s = [](int64_t v) { return std::to_string(v); };
    return {
        {"Preset", preset},
        {"Parameters", human_count(double(parameters)) + " (" + s(parameters) + ")"},
        {"Forward FLOPs / image", human_count(double(flops_per_image)) + " (T = " + s(c.iterations) + ")"},
        {"Input", s(c.image_size) + "×" + s(c.image_size) + "×" + s(c.channels) + ", " + s(c.classes) + " classes"},
        {"Patch / tokens", s(c.patch) + " / " + s(c.tokens()) + " (" + s(c.grid()) + "×" + s(c.grid()) + ")"},
        {"Embedding D / latent L", s(c.dim) + " / " + s(c.latent)},
        {"Depth", s(c.depth)},
        {"Local window k", s(c.window) + "×" + s(c.window)},
        {"MLP ratio", s(c.mlp_ratio)},
        {"Local bank / block", s(c.local_per_class() * c.classes) + " slots (" + s(c.local_per_class()) + " per class)"},
        {"Global bank / block", s(c.global_per_class() * c.classes) + " slots (" + s(c.global_per_class()) + " per class)"},
        {"Banks (all blocks)", human_count(double(bank_bytes)) + "B"},
        {"Refinement T / β init", s(c.iterations) + " / " + std::to_string(c.beta_init).substr(0, 4)},
        {"Local writes / image", s(c.tokens_per_image)},
    };
}

nlohmann::json ModelSummary::to_json() const {
    return {
        {"preset", preset},
        {"parameters", parameters},
        {"forward_flops_per_image", flops_per_image},
        {"bank_bytes", bank_bytes},
        {"local_slots_per_block", config.local_per_class() * config.classes},
        {"global_slots_per_block", config.global_per_class() * config.classes},
        {"tokens", config.tokens()},
        {"config", config},
    };
}

}  // namespace vhmn::app
