#pragma once
// In-memory image-classification datasets. No Qt.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/data.h"

namespace vhmn::data {

/// Options of the built-in procedural dataset (shapes and textures drawn in memory).
struct ProceduralOptions {
    int64_t train_per_class = 500;
    int64_t test_per_class = 100;
    int64_t image_size = 32;
    int64_t channels = 3;
    uint64_t seed = 0;
};

/// Ten classes of procedurally drawn patterns with random colour, position, scale and noise, so a
/// first run works with no data on disk. Deterministic for a given seed.
Dataset make_procedural(const ProceduralOptions& opt = {});

}  // namespace vhmn::data
