#pragma once
// Image (Fig. 3): a probe (core/probes/framework.h).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/probes/framework.h"
#include "core/probes/inspect.h"

namespace vhmn {

struct Box {
    int64_t x = 0, y = 0, w = 0, h = 0;  ///< pixels
};
struct Prototype {
    SlotHit hit;             ///< slot, class, source index, row/col, step, weight
    Box box;                 ///< local: the stored token's patch in its source image; global: whole image
    torch::Tensor source;    ///< uint8 [C, H, W] source training image (undefined if not available)
};
struct StepTrace {
    std::vector<double> distance;         ///< ‖z_t − q‖, t = 0..T
    std::vector<double> entropy;          ///< entropy of α_t (nats), per step
    std::vector<double> memory_distance;  ///< ‖z_t − m(z_t)‖, t = 0..T: how far z still is from
                                          ///< the prototype it retrieves (replayed from q and β)
};
struct BlockPrototypes {
    std::vector<Prototype> local, global;
    StepTrace local_steps, global_steps;
};
struct ImageProbe {
    int64_t label = -1, prediction = -1;
    std::vector<double> probabilities;  ///< softmax of the logits
    std::vector<double> pool_weights;   ///< [N] attention-pooling weights (Eq. 3)
    int64_t token = 0, token_row = 0, token_col = 0;  ///< queried token (most informative by default)
    Box token_box;                      ///< its patch in the input
    Box window_box;                     ///< the k×k token window its local query reads
    std::vector<BlockPrototypes> blocks;
};
/// Eq. 4 replayed for one query q [1, L] of a block's branch (the bank as it is, edits included):
/// z_t and the prototype m(z_t) it retrieves, for t = 0..steps−1.
struct Replay {
    std::vector<torch::Tensor> z, m;
};
Replay replay_refinement(VHMN& model, int64_t block, Branch branch, const torch::Tensor& q, int64_t steps);

/// One image (uint8 [C, H, W], e.g. corrupted by the GUI) through the model. `train` is the
/// training split the banks were written from (source pixels; may be empty). `token` −1 picks the
/// most informative token (largest pooling weight).
/// `keep_trace`: receives the forward trace (every block), for more answers from the same pass.
ImageProbe probe_image(Model model, const torch::Tensor& image, int64_t label, const std::vector<double>& mean,
                       const std::vector<double>& std, const data::Split& train, int64_t k = 5,
                       int64_t token = -1, const torch::Device& device = torch::kCPU, ForwardTrace* keep_trace = nullptr);
ProbeResult image_result(const ImageProbe& p, int64_t index, const torch::Tensor& image);
/// The token's pixel box for a model config, and the k×k window around it (clipped).
Box token_box(const ModelConfig& cfg, int64_t row, int64_t col);
Box window_box(const ModelConfig& cfg, int64_t row, int64_t col);

}  // namespace vhmn
