#pragma once
// Model size and cost, computed from the config alone (tests check them against a built model).
#include <cstdint>

#include "core/models/config.h"

namespace vhmn {

/// Learnable parameters of any architecture (banks are buffers, not counted).
int64_t count_parameters(const ModelConfig& cfg);

/// Floating-point operations of one forward pass for one image, counting a multiply-add as 2,
/// with the config's T refinement steps. Matrix products only (norms, softmax, GELU are < 1 %).
int64_t forward_flops(const ModelConfig& cfg);

/// Bytes of all memory banks (float32 slots) and of their provenance (5 × int64 + 1 bool per slot);
/// 0 for an architecture without memory.
int64_t bank_bytes(const ModelConfig& cfg);

}  // namespace vhmn
