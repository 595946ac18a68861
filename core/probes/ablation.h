#pragma once
// Does retrieval matter? Masking memories at inference (core/probes/memory_edit.h) and measuring
// test accuracy, without retraining:
//   ablation         top-1 as 0…100 % of every block's filled slots are masked, in three orders
//                    (random, most used first, least used first; usage = how often a slot was a
//                    query's top-1 over the TRAINING split), per branch and for both together.
//                    At 100 % every retrieval returns z = q: the curve's end equals evaluating
//                    with T = 0 exactly.
//   leave-class-out  per-class test top-1 when one class's memories (every bank) are masked, as a
//                    class × class matrix (how much each class leans on its own memories).
// Both run on top of whatever edit is already applied to the model (its masked slots stay masked).
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/probes/framework.h"
#include "core/probes/slot_usage.h"

namespace vhmn {

enum class AblationOrder { Random, MostUsed, LeastUsed };
AblationOrder parse_ablation_order(const std::string& name);  ///< random | most_used | least_used
std::string ablation_order_name(AblationOrder order);

/// The slots an ablation masks in one bank: the first llround(fraction · filled) filled slots in
/// `order`. Ties in usage (and the random order) are broken by one random key per slot drawn from
/// (seed, bank), the same for every fraction, so a larger fraction masks a superset.
torch::Tensor ablation_mask(const torch::Tensor& valid, const torch::Tensor& usage, AblationOrder order,
                            double fraction, uint64_t seed, int64_t bank_index);

struct AblationOptions {
    std::vector<std::string> orders{"random", "most_used", "least_used"};
    std::vector<std::string> branches{"local", "global", "both"};
    std::vector<double> fractions{0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
    uint64_t seed = 0;
};
/// ConfigError for an unknown order or branch, a fraction outside [0, 1] or an empty list.
void validate_ablation(const AblationOptions& options);

struct AblationRow {
    std::string order, branch;  ///< branch: local | global | both
    double masked_fraction = 0;
    double top1 = 0;            ///< percent
    int64_t masked_slots = 0;   ///< over every block's banks of the branch
    int64_t count = 0;          ///< test images
};
std::vector<AblationRow> probe_ablation(ProbeInput& in, const SlotUsage& usage, const AblationOptions& options,
                                        const ProbeControl& control = {});
ProbeResult ablation_result(const std::vector<AblationRow>& rows, const AblationOptions& options,
                            int64_t usage_images);

struct LeaveClassOut {
    std::vector<int64_t> class_count;            ///< test images per class
    std::vector<double> baseline;                ///< per-class top-1 (%) with nothing masked
    double baseline_top1 = 0;
    std::vector<std::vector<double>> accuracy;   ///< [masked class][class] top-1 (%)
    std::vector<double> top1;                    ///< overall top-1 (%) per masked class
    std::vector<int64_t> masked_slots;           ///< per masked class, over every bank
};
LeaveClassOut probe_leave_class_out(ProbeInput& in, const ProbeControl& control = {});
/// Rows (masked_class, class, top1, count, change) with masked_class −1 for nothing masked;
/// arrays `accuracy` [classes, classes] and `baseline` [classes].
ProbeResult leave_class_out_result(const LeaveClassOut& r);

/// Predicted class of every image of `in.test` with the model as it is (edits applied): [n] int64.
torch::Tensor predict_all(ProbeInput& in, const ProbeControl& control, const std::string& what,
                          double progress_from = 0, double progress_to = 1);

}  // namespace vhmn
