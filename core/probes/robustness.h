#pragma once
// Robustness (Fig. 2): a probe (core/probes/framework.h).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/probes/framework.h"
#include "core/probes/perturbations.h"

namespace vhmn {

struct RobustnessRow {
    Corruption corruption;
    int64_t iterations = 0;
    double top1 = 0;
    int64_t count = 0;
};
/// ConfigError unless `iterations` is a non-empty list of T in [0, 64].
void validate_iterations(const std::vector<int64_t>& iterations);
/// Top-1 accuracy under each corruption, each evaluated with inference-time T in `iterations` (a
/// model without memory is evaluated once, its rows carrying T = 0)
/// on the same corrupted images. Seeded: condition i draws from its own generator.
std::vector<RobustnessRow> probe_robustness(ProbeInput& in, const std::vector<Corruption>& corruptions,
                                            const std::vector<int64_t>& iterations, uint64_t seed,
                                            const ProbeControl& control = {});
/// Table rows per (corruption, T) plus the mean over corruptions per T (kind "mean").
ProbeResult robustness_result(const std::vector<RobustnessRow>& rows, uint64_t seed);

}  // namespace vhmn
