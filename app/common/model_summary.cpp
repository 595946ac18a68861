#include "app/common/model_summary.h"

#include <cstdio>

#include "core/models/stats.h"

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

std::string architecture_table(const std::vector<ModelSummary>& summaries) {
    std::string out;
    char line[200];
    std::snprintf(line, sizeof line, "%-12s %-15s %12s %10s %12s %6s %6s\n", "arch", "preset", "parameters", "",
                  "FLOPs/image", "D", "depth");
    out += line;
    for (const auto& s : summaries) {
        std::snprintf(line, sizeof line, "%-12s %-15s %12lld %10s %12s %6lld %6lld\n",
                      arch_display_name(s.config.arch).c_str(), s.preset.c_str(), (long long)s.parameters,
                      ("(" + human_count(double(s.parameters)) + ")").c_str(),
                      human_count(double(s.flops_per_image)).c_str(), (long long)s.config.dim,
                      (long long)s.config.depth);
        out += line;
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> ModelSummary::rows() const {
    const auto& c = config;
    auto s = [](int64_t v) { return std::to_string(v); };
    std::vector<std::pair<std::string, std::string>> rows = {
        {"Architecture", arch_display_name(c.arch)},
        {"Preset", preset},
        {"Parameters", human_count(double(parameters)) + " (" + s(parameters) + ")"},
        {"Forward FLOPs / image",
         human_count(double(flops_per_image)) + (c.has_memory() ? " (T = " + s(c.iterations) + ")" : "")},
        {"Input", s(c.image_size) + "×" + s(c.image_size) + "×" + s(c.channels) + ", " + s(c.classes) + " classes"},
        {"Patch / tokens", s(c.patch) + " / " + s(c.tokens()) + " (" + s(c.grid()) + "×" + s(c.grid()) + ")"},
    };
    if (!c.has_memory()) {
        rows.push_back({"Embedding D", s(c.dim)});
        rows.push_back({"Depth", s(c.depth)});
        rows.push_back({"MLP ratio", s(c.mlp_ratio)});
        if (c.arch == "vit") rows.push_back({"Attention heads", s(c.heads)});
        if (c.arch == "mixer") rows.push_back({"Token-mixing MLP width", s(c.token_hidden)});
        if (c.arch == "poolformer") rows.push_back({"Pooling window", s(c.pool_size) + "×" + s(c.pool_size)});
        rows.push_back({"Memory banks", "none (a baseline)"});
        return rows;
    }
    std::vector<std::pair<std::string, std::string>> memory = {
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
    rows.insert(rows.end(), memory.begin(), memory.end());
    return rows;
}

nlohmann::json ModelSummary::to_json() const {
    nlohmann::json j = {
        {"arch", config.arch},
        {"preset", preset},
        {"parameters", parameters},
        {"forward_flops_per_image", flops_per_image},
        {"bank_bytes", bank_bytes},
        {"tokens", config.tokens()},
        {"config", config},
    };
    if (config.has_memory()) {
        j["local_slots_per_block"] = config.local_per_class() * config.classes;
        j["global_slots_per_block"] = config.global_per_class() * config.classes;
    }
    return j;
}

}  // namespace vhmn::app
