#pragma once
// The trainer's optimizers: libtorch's Adam and AdamW with the same arithmetic, applied to all
// parameters at once with multi-tensor (_foreach_) operators instead of ~8 operators per parameter.
// On a GPU that is a handful of kernel launches per step instead of ~700 for paper-small. They
// are torch::optim::Adam / AdamW (same state objects, same checkpoints), so everything that
// reads an Adam's state (core/io/optimizer_state.h) reads theirs.
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "core/train/train_config.h"

namespace vhmn {

/// Adam (L2 weight decay) or AdamW (decoupled) per `t.optimizer`, lr `t.lr`, weight decay
/// `t.weight_decay`, libtorch's default betas and eps. On the CPU the result of a step is
/// bit-identical to libtorch's own Adam/AdamW.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params, const TrainConfig& t);

/// Drop every gradient (set it to undefined): the next backward writes fresh ones, with no
/// operator per parameter (libtorch 1.13's zero_grad() zeroes each one: two operators a parameter).
void clear_grads(const std::vector<torch::Tensor>& params);

/// Scale gradients so their global L2 norm is at most `max_norm` (torch.nn.utils.clip_grad_norm_),
/// without reading the norm on the host (a synchronisation on a GPU).
void clip_grad_norm_on_device(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace vhmn
