#pragma once
// Every hyper-parameter of a model in one struct, with named presets. `arch` picks the family:
// V-HMN (the paper's model) or one of the baselines it is compared with (ViT, MLP-Mixer,
// PoolFormer). Fields of one family only are refused for the others (JSON and validate()).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vhmn {

/// Architecture names, in display order: "vhmn", "vit", "mixer", "poolformer".
const std::vector<std::string>& arch_names();
/// "V-HMN", "ViT", "MLP-Mixer", "PoolFormer" (the name itself for an unknown one).
std::string arch_display_name(const std::string& arch);

struct ModelConfig {
    std::string arch = "vhmn";  ///< model family (arch_names())
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
    // Baselines only.
    int64_t heads = 4;         ///< ViT: attention heads (D divisible by heads)
    int64_t token_hidden = 32; ///< MLP-Mixer: hidden width of the token-mixing MLP
    int64_t pool_size = 3;     ///< PoolFormer: average-pooling window (odd)
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

    /// True for the paper's model (memory banks, refinement); false for the baselines.
    bool has_memory() const { return arch == "vhmn"; }

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
/// The preset's V-HMN, or with `arch` its baseline of about the same parameter count (paper-small:
/// the sizes of the paper's Table 4). Throws ConfigError listing the known names for an unknown one.
ModelConfig preset(const std::string& name, const std::string& arch = "vhmn");
/// Throws ConfigError listing the known names for an unknown architecture.
void validate_arch(const std::string& arch);
/// Model fields that only `arch` has (V-HMN: latent, window, slots, T, β, writes; ViT: heads …).
std::vector<std::string> arch_only_fields(const std::string& arch);
/// The family a model field belongs to when it is not shared ("" for a shared field).
std::string field_arch(const std::string& field);

void to_json(nlohmann::json& j, const ModelConfig& c);
/// Unknown keys and values of the wrong type are errors naming the key; missing keys keep defaults;
/// a missing "arch" is V-HMN (runs made before baselines existed). JSON holds the fields of the
/// config's own family only; another family's field is a ConfigError naming it.
void from_json(const nlohmann::json& j, ModelConfig& c);

}  // namespace vhmn
