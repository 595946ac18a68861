#pragma once
// Stability (Fig. 6, A.13): a probe (core/probes/framework.h).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/probes/framework.h"
#include "core/probes/perturbations.h"

namespace vhmn {

struct StabilityRow {
    Corruption corruption;
    double top5_consistency = 0;  ///< % of queries whose corrupted top-1 slot is in the clean top-5
    double cosine = 0;            ///< mean cos(M_clean top-1, M_corrupted top-1)
    double top1_same = 0;         ///< % of queries with the same top-1 slot
    double accuracy = 0;          ///< top-1 accuracy on the corrupted images
    int64_t queries = 0;
};
std::vector<StabilityRow> probe_stability(ProbeInput& in, int64_t block, Branch branch,
                                          const std::vector<Corruption>& corruptions, uint64_t seed,
                                          const ProbeControl& control = {});
ProbeResult stability_result(const std::vector<StabilityRow>& rows, int64_t block, Branch branch, uint64_t seed);

}  // namespace vhmn
