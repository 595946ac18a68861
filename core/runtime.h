#pragma once
// Process-wide runtime settings: thread count and device choice.
#include <optional>
#include <string>

#include <torch/torch.h>

namespace vhmn {

/// Set libtorch's intra-op thread count: `requested` if given, else $VHMN_THREADS, else the
/// number of available cores. Returns the count in use. (Debian's libtorch defaults to 1.)
int configure_threads(std::optional<int> requested = std::nullopt);

/// "cpu", "cuda" or "cuda:N"; throws ConfigError for others or when CUDA is unavailable.
torch::Device parse_device(const std::string& name);
bool cuda_available();

/// A seed derived from (seed, a, stream) with good mixing: the trainer reseeds each epoch from
/// (seed, epoch, stream), so a resumed run replays exactly; probes seed each corruption condition.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t stream);

}  // namespace vhmn
