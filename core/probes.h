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

#include "core/corruptions.h"
#include "core/data.h"
#include "core/inspect.h"
#include "core/models/vhmn.h"
#include "core/table.h"

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

/// What a probe writes: parameters, a table and named arrays (keys may contain '/').
struct ProbeResult {
    std::string name;
    nlohmann::json params = nlohmann::json::object();
    Table table;
    std::vector<std::pair<std::string, torch::Tensor>> arrays;
};

/// `n` images evenly spaced over a split (all of it when n <= 0 or n >= its size): image-folder
/// splits are sorted by class, so the first n images would be a few classes.
data::Split evenly_spaced(const data::Split& split, int64_t n);
/// Their positions, exactly: i·total/n in integers for i < n (int64 [n] on `device`); every --limit
/// (probes, eval, export-c, a released folder's images) picks these.
torch::Tensor evenly_spaced_positions(int64_t total, int64_t n, torch::Device device = torch::kCPU);
/// The first n images of a split, in order (all of it when n <= 0 or n >= its size).
data::Split first_images(const data::Split& split, int64_t n);

std::string branch_name(Branch b);
/// The training image with dataset index `source` (uint8 [C, H, W], a copy), undefined when `train`
/// does not hold it.
torch::Tensor source_image(const data::Split& train, int64_t source);
Branch parse_branch(const std::string& name);  ///< "local" | "global" (ConfigError otherwise)

// ---- 1. weights (Fig. 5) ----------------------------------------------------------------------
struct SlotWeights {
    int64_t block = 0;
    Branch branch = Branch::Global;
    torch::Tensor mean_alpha;          ///< [classes, K] float: mean α over each class's inputs
    std::vector<int64_t> class_count;  ///< test images per class
    std::vector<int64_t> slot_class;   ///< [K] class of the stored vector (−1: empty slot)
    std::vector<int64_t> top1_count;   ///< [K] how often each slot was a query's top-1
    int64_t queries = 0;               ///< queries counted (images, × tokens for local)
    int64_t filled = 0;                ///< filled slots
    double unused_fraction = 0;        ///< filled slots never top-1, / filled
    double mean_entropy = 0;           ///< mean entropy of α over all queries (nats)
};
SlotWeights probe_weights(ProbeInput& in, int64_t block, Branch branch, const ProbeControl& control = {});
/// Table: slot, slot_class, mean_alpha (for `cls`), top1_count, plus per-class mass in params.
ProbeResult weights_result(const SlotWeights& w, int64_t cls);

// ---- 2. hits (Table 9) ------------------------------------------------------------------------
struct HitRow {
    int64_t block = 0;
    Branch branch = Branch::Global;
    double top1 = 0, top5 = 0;  ///< percent of queries whose top-1 / any of top-5 slots has their class
    int64_t queries = 0;
};
std::vector<HitRow> probe_hits(ProbeInput& in, const ProbeControl& control = {});
ProbeResult hits_result(const std::vector<HitRow>& rows);

// ---- 3. image (Fig. 3) ------------------------------------------------------------------------
struct Box {
    int64_t x = 0, y = 0, w = 0, h = 0;  ///< pixels
};
struct Prototype {
    SlotHit hit;             ///< slot, class, source index, row/col, step, weight
    Box box;                 ///< local: the stored token's patch in its source image; global: whole image
    torch::Tensor source;    ///< uint8 [C, H, W] source training image (undefined if not available)
};
struct StepTrace {
    std::vector<double> distance;         ///< ‖z_t − q‖, t = 0..T
    std::vector<double> entropy;          ///< entropy of α_t (nats), per step
    std::vector<double> memory_distance;  ///< ‖z_t − m(z_t)‖, t = 0..T: how far z still is from
                                          ///< the prototype it retrieves (replayed from q and β)
};
struct BlockPrototypes {
    std::vector<Prototype> local, global;
    StepTrace local_steps, global_steps;
};
struct ImageProbe {
    int64_t label = -1, prediction = -1;
    std::vector<double> probabilities;  ///< softmax of the logits
    std::vector<double> pool_weights;   ///< [N] attention-pooling weights (Eq. 3)
    int64_t token = 0, token_row = 0, token_col = 0;  ///< queried token (most informative by default)
    Box token_box;                      ///< its patch in the input
    Box window_box;                     ///< the k×k token window its local query reads
    std::vector<BlockPrototypes> blocks;
};
/// Eq. 4 replayed for one query q [1, L] of a block's branch (the bank as it is, edits included):
/// z_t and the prototype m(z_t) it retrieves, for t = 0..steps−1.
struct Replay {
    std::vector<torch::Tensor> z, m;
};
Replay replay_refinement(VHMN& model, int64_t block, Branch branch, const torch::Tensor& q, int64_t steps);

/// One image (uint8 [C, H, W], e.g. corrupted by the GUI) through the model. `train` is the
/// training split the banks were written from (source pixels; may be empty). `token` −1 picks the
/// most informative token (largest pooling weight).
/// `keep_trace`: receives the forward trace (every block), for more answers from the same pass.
ImageProbe probe_image(Model model, const torch::Tensor& image, int64_t label, const std::vector<double>& mean,
                       const std::vector<double>& std, const data::Split& train, int64_t k = 5,
                       int64_t token = -1, const torch::Device& device = torch::kCPU, ForwardTrace* keep_trace = nullptr);
ProbeResult image_result(const ImageProbe& p, int64_t index, const torch::Tensor& image);
/// The token's pixel box for a model config, and the k×k window around it (clipped).
Box token_box(const ModelConfig& cfg, int64_t row, int64_t col);
Box window_box(const ModelConfig& cfg, int64_t row, int64_t col);

// ---- 4. robustness (Fig. 2) -------------------------------------------------------------------
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

// ---- 5. stability (Fig. 6, A.13) --------------------------------------------------------------
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
