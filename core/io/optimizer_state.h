#pragma once
// Adam/AdamW state in checkpoints, in a layout of our own. libtorch's Optimizer::save keys the
// state by tensor addresses and its layout differs between 1.13 and 2.x: a checkpoint written by
// 1.13 put its Adam moments on the wrong parameters in 2.11 ("output with shape [64] doesn't match
// the broadcast shape [1, 16, 64]"). Here, per parameter in the model's order: step, exp_avg,
// exp_avg_sq (and max_exp_avg_sq with amsgrad), with names and shapes checked on reading.
#include <string>

#include <torch/torch.h>

namespace vhmn {

/// Write `opt`'s per-parameter state (an Adam or AdamW over `params`) into `archive`.
void write_adam_state(const torch::optim::Optimizer& opt, const torch::OrderedDict<std::string, torch::Tensor>& params,
                      torch::serialize::OutputArchive& archive);

/// Read it back onto `params` (moments moved to each parameter's device). Throws FileError naming
/// `path` when the state belongs to other parameters (names or shapes differ).
void read_adam_state(torch::optim::Optimizer& opt, const torch::OrderedDict<std::string, torch::Tensor>& params,
                     torch::serialize::InputArchive& archive, const std::string& path);

}  // namespace vhmn
