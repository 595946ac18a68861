#include "core/stats.h"

namespace vhmn {

int64_t count_parameters(const ModelConfig& c) {
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
    const int64_t slots = (c.local_per_class() + c.global_per_class()) * c.classes * c.depth;
    return slots * (c.latent * 4 + 5 * 8 + 1);
}

}  // namespace vhmn
