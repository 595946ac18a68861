#pragma once
// Hits (Table 9): a probe (core/probes/framework.h).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/probes/framework.h"
#include "core/probes/inspect.h"

namespace vhmn {

struct HitRow {
    int64_t block = 0;
    Branch branch = Branch::Global;
    double top1 = 0, top5 = 0;  ///< percent of queries whose top-1 / any of top-5 slots has their class
    int64_t queries = 0;
};
std::vector<HitRow> probe_hits(ProbeInput& in, const ProbeControl& control = {});
ProbeResult hits_result(const std::vector<HitRow>& rows);

}  // namespace vhmn
