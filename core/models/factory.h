#pragma once
// Building a model from its config: the one place that knows every architecture.
#include "core/models/classifier.h"
#include "core/models/config.h"

namespace vhmn {

/// Build the model `cfg.arch` names (validated first).
Model make_model(const ModelConfig& cfg);

}  // namespace vhmn
