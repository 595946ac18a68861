#pragma once
// The figure pack's data and tables (paper Fig. 2, 5, 6 and Tables 3, 9 for one run), shared by
// `vhmn figure-pack` (tables only: the CLI builds without Qt) and the GUI (which adds the figures).
#include <string>
#include <vector>

#include "app/common/experiment.h"
#include "core/probes/framework.h"
#include "core/probes/weights.h"
#include "core/probes/hits.h"
#include "core/probes/robustness.h"
#include "core/probes/stability.h"
#include "core/io/table.h"

namespace vhmn::app {

struct FigureOptions {
    std::vector<int64_t> iterations{0, 1, 2, 3};  ///< inference-time T of Fig. 2 / Table 3
    int64_t limit = 1000;           ///< test images (evenly spaced; 0: all)
    int64_t batch = 250;
    uint64_t seed = 0;
    Branch weights_branch = Branch::Global;  ///< Fig. 5
    int64_t weights_class = 0;
    int64_t stability_block = -1;   ///< Fig. 6 (−1: last block)
    Branch stability_branch = Branch::Global;
};

/// What the figures are drawn from. Parts already filled (e.g. by the GUI's views) are kept.
struct FigureData {
    std::vector<RobustnessRow> robustness;
    uint64_t robustness_seed = 0;
    std::vector<StabilityRow> stability;
    int64_t stability_block = -1;
    Branch stability_branch = Branch::Global;
    std::vector<SlotWeights> weights;  ///< one per block, of FigureOptions::weights_branch
    int64_t weights_class = 0;
    std::vector<HitRow> hits;
};

/// Compute the missing parts of `data` on `run` (robustness, stability, weights of every block,
/// hits). Throws ProbeCancelled through `control`.
void compute_figure_data(OpenedRun& run, const FigureOptions& options, FigureData& data,
                         const ProbeControl& control = {});

/// Table 3 analogue: top-1 by inference-time T (clean images, and the mean over corruptions).
Table iterations_table(const std::vector<RobustnessRow>& rows);
/// Table 9 analogue: one row per block, top-1/top-5 hit rates of both branches.
Table hits_table(const std::vector<HitRow>& rows);
/// Fig. 5's data: block, slot, slot_class, mean_alpha (for the class), top1_count.
Table slot_weights_table(const std::vector<SlotWeights>& weights, int64_t cls);

/// Write the tables of the pack into `dir` (created): fig2_robustness.csv, fig5_slot_weights.csv,
/// fig6_stability.csv, table3_iterations.{md,tex}, table9_hits.{md,tex}. Returns the paths.
std::vector<std::string> write_figure_tables(const FigureData& data, const std::string& dir);

}  // namespace vhmn::app
