#pragma once
// Memory probes on a trained model (paper Fig. 2, 3, 5, 6 and Table 9; DESIGN.md §4). Each probe
// streams the test images in batches through forward_trace (eval mode, no gradients, no bank
// writes; the banks' normalised slots are cached), returns plain results, and converts them to a
// ProbeResult: a table (→ CSV and run.h5 /probes/<name>/table) plus arrays (→ run.h5).
//
// "The retrieval weights" of a branch are α at the last refinement step used (for T = 0, the
// weights the query itself would get). A local branch has one query per token: its statistics are
// over all images × tokens.
#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/data.h"
#include "core/models/vhmn.h"
#include "core/io/probe_result.h"
#include "core/io/table.h"

namespace vhmn {

/// Raised when a ProbeControl asks to cancel.
class ProbeCancelled : public std::runtime_error {
public:
    ProbeCancelled() : std::runtime_error("probe cancelled") {}
};

/// Progress and cancellation for long probes (the GUI runs them on a worker thread).
struct ProbeControl {
    std::function<void(double fraction, const std::string& what)> progress;
    const std::atomic<bool>* cancel = nullptr;
};

/// The model and the images a probe reads.
struct ProbeInput {
    Model model{nullptr};  ///< any architecture; the memory probes need a V-HMN (memory_of)
    data::Split test;                 ///< images to probe (uint8), labels
    std::vector<double> mean, std;    ///< the run's normalisation
    torch::Device device = torch::kCPU;
    int64_t batch = 250;
};

std::string branch_name(Branch b);
/// The training image with dataset index `source` (uint8 [C, H, W], a copy), undefined when `train`
/// does not hold it.
torch::Tensor source_image(const data::Split& train, int64_t source);
Branch parse_branch(const std::string& name);  ///< "local" | "global" (ConfigError otherwise)

}  // namespace vhmn
