#pragma once
// A model's summary as plain rows: shared by `vhmn info` and the GUI.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/models/config.h"

namespace vhmn::app {

struct ModelSummary {
    std::string preset;
    ModelConfig config;
    int64_t parameters = 0;
    int64_t flops_per_image = 0;
    int64_t bank_bytes = 0;

    /// Human-readable (label, value) rows, in display order.
    std::vector<std::pair<std::string, std::string>> rows() const;
    nlohmann::json to_json() const;
};

ModelSummary summarize(const std::string& preset_name, const ModelConfig& cfg);

/// A plain-text table of several summaries: architecture, preset, parameters, FLOPs, D, depth.
std::string architecture_table(const std::vector<ModelSummary>& summaries);

/// "9.78 M", "1.23 G" …
std::string human_count(double value);

}  // namespace vhmn::app
