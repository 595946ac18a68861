#pragma once
// Every hyper-parameter of a V-HMN model in one struct, with named presets.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vhmn {

struct ModelConfig {
    // Input (normally taken from the dataset).
    int64_t image_size = 32;  ///< H = W
    int64_t channels = 3;
    int64_t classes = 10;
    // Backbone.
    int64_t patch = 4;      ///< p: non-overlapping p×p patches
    int64_t dim = 64;       ///< D: token embedding dimension
    int64_t latent = 64;    ///< L: Hopfield latent dimension
    int64_t depth = 4;      ///< number of HMN blocks
    int64_t window = 3;     ///< k: local neighbourhood k×k (odd)
    int64_t mlp_ratio = 2;  ///< r: MLP hidden = r·D
    // Memory.
    int64_t local_slots = 500;   ///< K_local per block (K/classes slots per class)
    int64_t global_slots = 200;  ///< K_global per block
    int64_t iterations = 1;      ///< T: refinement steps (0 disables retrieval)
    double beta_init = 0.2;      ///< initial β of every branch
    int64_t tokens_per_image = 2;  ///< local-bank writes per training image (random tokens)

    int64_t grid() const { return image_size / patch; }       ///< h = w
    int64_t tokens() const { return grid() * grid(); }        ///< N
    int64_t local_per_class() const { return local_slots / classes; }
    int64_t global_per_class() const { return global_slots / classes; }

    /// Throws ConfigError naming the first field with a nonsense value.
    void validate() const;

    /// Fields that fix tensor shapes; two configs whose shape fields agree can share weights.
    /// Returns "field: a vs b" for every difference (empty when compatible).
    std::vector<std::string> shape_differences(const ModelConfig& other) const;

    bool operator==(const ModelConfig& o) const;
    bool operator!=(const ModelConfig& o) const { return !(*this == o); }
};

/// Preset names, in display order.
const std::vector<std::string>& preset_names();
/// Throws ConfigError listing the known names for an unknown one.
ModelConfig preset(const std::string& name);

void to_json(nlohmann::json& j, const ModelConfig& c);
/// Unknown keys and values of the wrong type are errors naming the key; missing keys keep defaults.
void from_json(const nlohmann::json& j, ModelConfig& c);

}  // namespace vhmn
