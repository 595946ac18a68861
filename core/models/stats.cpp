#include "core/models/stats.h"

namespace vhmn {

namespace {

/// Shared by every family: patch embedding (+ positions for V-HMN and ViT) and the head
/// (LayerNorm, attention-pooling score without bias, linear classifier).
int64_t stem_and_head_parameters(const ModelConfig& c) {
    const int64_t D = c.dim;
    const bool positions = c.arch == "vhmn" || c.arch == "vit";
    return c.channels * c.patch * c.patch * D + D + (positions ? c.tokens() * D : 0) + 2 * D + D +
           D * c.classes + c.classes;
}

int64_t mlp_parameters(int64_t in, int64_t hidden) { return in * hidden + hidden + hidden * in + in; }

/// Parameters of one block of a baseline.
int64_t baseline_block_parameters(const ModelConfig& c) {
    const int64_t D = c.dim, norms = 2 * 2 * D, mlp = mlp_parameters(D, c.mlp_ratio * D);
    if (c.arch == "vit") return norms + (D * 3 * D + 3 * D) + (D * D + D) + mlp;
    if (c.arch == "mixer") return norms + mlp_parameters(c.tokens(), c.token_hidden) + mlp;
    return norms + mlp;  // poolformer: pooling has no parameters
}

/// Multiply-adds of one image through one baseline block (matrix products only).
int64_t baseline_block_macs(const ModelConfig& c) {
    const int64_t D = c.dim, N = c.tokens(), mlp = N * 2 * D * c.mlp_ratio * D;
    if (c.arch == "vit") return N * 3 * D * D + 2 * N * N * D /*QKᵀ and AV*/ + N * D * D + mlp;
    if (c.arch == "mixer") return D * 2 * N * c.token_hidden + mlp;
    return N * D * c.pool_size * c.pool_size + mlp;  // pooling sums counted as multiply-adds
}

}  // namespace

int64_t count_parameters(const ModelConfig& c) {
    if (!c.has_memory()) return stem_and_head_parameters(c) + c.depth * baseline_block_parameters(c);
    const int64_t D = c.dim, L = c.latent, k = c.window, N = c.tokens(), r = c.mlp_ratio;
    const int64_t layer_norm = 2 * D;
    const int64_t linear_2l_d = 2 * L * D + D;
    const int64_t local = D * L * k * k + L + linear_2l_d + 1;  // query conv, out, β
    const int64_t global = D * L + L + linear_2l_d + 1;         // query linear, out, β
    const int64_t mlp = (D * r * D + r * D) + (r * D * D + D);
    const int64_t block = 2 * layer_norm + local + global + mlp;
    const int64_t embed = c.channels * c.patch * c.patch * D + D + N * D;
    const int64_t head = layer_norm + D /*attention score, no bias*/ + D * c.classes + c.classes;
    return embed + c.depth * block + head;
}

int64_t forward_flops(const ModelConfig& c) {
    if (!c.has_memory()) {
        const int64_t stem = c.tokens() * (c.channels * c.patch * c.patch) * c.dim;
        const int64_t head = c.tokens() * c.dim + c.dim * c.classes;
        return 2 * (stem + c.depth * baseline_block_macs(c) + head);
    }
    const int64_t D = c.dim, L = c.latent, k = c.window, N = c.tokens(), r = c.mlp_ratio;
    const int64_t T = c.iterations;
    const int64_t mac_embed = N * (c.channels * c.patch * c.patch) * D;
    // Retrieval of one query against K slots: similarities (L·K) and weighted sum (K·L).
    const int64_t mac_local =
        N * D * k * k * L + T * N * 2 * L * c.local_slots + N * 2 * L * D;
    const int64_t mac_global = D * L + T * 2 * L * c.global_slots + 2 * L * D;
    const int64_t mac_mlp = N * 2 * D * r * D;
    const int64_t mac_head = N * D + D * c.classes;
    return 2 * (mac_embed + c.depth * (mac_local + mac_global + mac_mlp) + mac_head);
}

int64_t bank_bytes(const ModelConfig& c) {
    if (!c.has_memory()) return 0;
    const int64_t slots = (c.local_per_class() + c.global_per_class()) * c.classes * c.depth;
    return slots * (c.latent * 4 + 5 * 8 + 1);
}

}  // namespace vhmn
